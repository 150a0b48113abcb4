//! Resource tags and resource details: createTags, deleteTags, listTags (since 4.0.0) and
//! addResourceDetail, removeResourceDetail, listResourceDetails. The writes are async, as in
//! CloudStack. [`tag_filters`] reads the `tags[N].key/value` filter every taggable list takes.

use ferrostack_app::model::{TagFilter, TagMatch};
use ferrostack_app::saga::SagaKind;
use ferrostack_app::tag::{DetailsAdd, KeySelector, TagsCreate};
use ferrostack_types::{Error, EventType};

use crate::args::Args;
use crate::commands::items;
use crate::registry::{list_params, scope_params, Access, Command, JobDecl, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::tag::{detail, tag, DETAIL_FIELDS, TAG_FIELDS};
use crate::Ctx;

/// The `tags` filter parameter of a list command (CloudStack's `BaseListTaggedResourcesCmd`).
pub fn tags_param() -> Param {
    Param::new("tags", PType::Map, "List resources by tags (key/value pairs)")
}

/// `tags[N].key=…&tags[N].value=…` of a list command: the resources having any one of
/// these tags. A filter needs both (CloudStack: "No value is passed in for key …").
pub fn tag_filters(a: &Args) -> Result<Vec<TagMatch>, Error> {
    let mut out = Vec::new();
    for (i, m) in a.map("tags")? {
        let key = m.get("key").filter(|k| !k.trim().is_empty()).ok_or_else(|| {
            Error::invalid(format!(
                "tags[{i}] has no key; filter with tags[{i}].key=<key>&tags[{i}].value=<value>"
            ))
        })?;
        let value = m
            .get("value")
            .ok_or_else(|| Error::invalid(format!("No value is passed in for key {key}")))?;
        out.push(TagMatch {
            key: key.clone(),
            value: value.clone(),
        });
    }
    Ok(out)
}

/// A comma-separated id list (`resourceids=a,b`).
fn id_list(a: &Args, name: &str) -> Vec<String> {
    a.str(name)
        .map(|s| {
            s.split(',')
                .map(str::trim)
                .filter(|x| !x.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// `name[N].key` / `name[N].value` pairs in index order (missing parts are empty: the app
/// layer says what is wrong with them).
fn pairs(a: &Args, name: &str) -> Result<Vec<(String, String)>, Error> {
    Ok(a.map(name)?
        .into_values()
        .map(|m| {
            (
                m.get("key").cloned().unwrap_or_default(),
                m.get("value").cloned().unwrap_or_default(),
            )
        })
        .collect())
}

fn resource_type_param(desc: &'static str) -> Param {
    Param::new("resourcetype", PType::String, desc).required()
}

fn project_param() -> Param {
    Param::new(
        "projectid",
        PType::Uuid,
        "list objects by project; if projectid=-1 lists All VMs",
    )
    .related("listProjects")
}

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "createTags",
            description: "Creates resource tag(s)",
            is_async: true,
            since: Some("4.0.0"),
            access: Access::All,
            params: vec![
                Param::new("tags", PType::Map, "Map of tags (key/value pairs)").required(),
                resource_type_param("Type of the resource"),
                Param::new("resourceids", PType::List, "List of resources to create the tags for").required(),
                Param::new("customer", PType::String, "identifies client specific tag. When the value is not null, the tag can't be used by cloudStack code internally"),
            ],
            shape: Shape::Job(None),
            response: SUCCESS_FIELDS,
            job: Some(JobDecl::new(SagaKind::TagsCreate, EventType::TagsCreate, "org.apache.cloudstack.api.command.user.tag.CreateTagsCmd")),
            handler: |c, a| Box::pin(create(c, a)),
        },
        Command {
            name: "deleteTags",
            description: "Deleting resource tag(s)",
            is_async: true,
            since: Some("4.0.0"),
            access: Access::All,
            params: vec![
                Param::new("tags", PType::Map, "Delete tags matching key/value pairs"),
                resource_type_param("Delete tag by resource type"),
                Param::new("resourceids", PType::List, "Delete tags for resource id(s)").required(),
            ],
            shape: Shape::Job(None),
            response: SUCCESS_FIELDS,
            job: Some(JobDecl::new(SagaKind::TagsDelete, EventType::TagsDelete, "org.apache.cloudstack.api.command.user.tag.DeleteTagsCmd")),
            handler: |c, a| Box::pin(delete(c, a)),
        },
        Command {
            name: "listTags",
            description: "List resource tag(s)",
            is_async: false,
            since: Some("4.0.0"),
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("resourcetype", PType::String, "list by resource type"),
                    Param::new("resourceid", PType::String, "list by resource id"),
                    Param::new("key", PType::String, "list by key"),
                    Param::new("value", PType::String, "list by value"),
                    Param::new("customer", PType::String, "list by customer name"),
                    project_param(),
                ],
            ]
            .concat(),
            shape: Shape::List("tag"),
            response: TAG_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        Command {
            name: "addResourceDetail",
            description: "Adds detail for the Resource.",
            is_async: true,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("details", PType::Map, "Map of (key/value pairs)").required(),
                resource_type_param("Type of the resource"),
                Param::new("resourceid", PType::String, "Resource ID to create the details for").required(),
                Param::new("fordisplay", PType::Boolean, "Pass false if you want this detail to be disabled for the regular User. True by default").since("4.4"),
            ],
            shape: Shape::Job(None),
            response: SUCCESS_FIELDS,
            job: Some(JobDecl::new(SagaKind::DetailsAdd, EventType::ResourceDetailsCreate, "org.apache.cloudstack.api.command.user.volume.AddResourceDetailCmd")),
            handler: |c, a| Box::pin(detail_add(c, a)),
        },
        Command {
            name: "removeResourceDetail",
            description: "Removes detail for the Resource.",
            is_async: true,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("key", PType::String, "Delete details matching key/value pairs"),
                resource_type_param("Delete detail by resource type"),
                Param::new("resourceid", PType::String, "Delete details for resource id").required(),
            ],
            shape: Shape::Job(None),
            response: SUCCESS_FIELDS,
            job: Some(JobDecl::new(SagaKind::DetailsRemove, EventType::ResourceDetailsDelete, "org.apache.cloudstack.api.command.user.volume.RemoveResourceDetailCmd")),
            handler: |c, a| Box::pin(detail_remove(c, a)),
        },
        Command {
            name: "listResourceDetails",
            description: "List resource detail(s)",
            is_async: false,
            since: Some("4.2"),
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    resource_type_param("list by resource type"),
                    Param::new("resourceid", PType::String, "list by resource id"),
                    Param::new("key", PType::String, "list by key"),
                    Param::new("value", PType::String, "list by key, value. Needs to be passed only along with key").since("4.4"),
                    Param::new("fordisplay", PType::Boolean, "if set to true, only details marked with display=true, are returned. False by default (root admins; regular users see only those)").since("4.3"),
                    project_param(),
                ],
            ]
            .concat(),
            shape: Shape::List("resourcedetail"),
            response: DETAIL_FIELDS,
            job: None,
            handler: |c, a| Box::pin(details_list(c, a)),
        },
    ]
}

fn job_reply(s: ferrostack_app::job::Submitted) -> Reply {
    Reply::Job {
        job_id: s.job_uuid,
        id: None,
    }
}

/// No projects exist here: any project other than `-1` (all) is unknown.
fn refuse_project(a: &Args) -> Result<(), Error> {
    match a.str("projectid") {
        Some(p) if p != "-1" => Err(Error::unknown_entity("projectid", p)),
        Some(_) | None => Ok(()),
    }
}

async fn create(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let r = TagsCreate {
        resource_type: a.req("resourcetype")?,
        resource_ids: id_list(&a, "resourceids"),
        tags: pairs(&a, "tags")?,
        customer: a.str("customer"),
    };
    Ok(job_reply(c.app.tags_create(&c.caller, r, c.job_meta()?).await?))
}

async fn delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let selectors = a
        .map("tags")?
        .into_values()
        .map(|m| KeySelector {
            key: m.get("key").cloned().unwrap_or_default(),
            value: m.get("value").cloned(),
        })
        .collect();
    let s = c
        .app
        .tags_delete(
            &c.caller,
            &a.req("resourcetype")?,
            &id_list(&a, "resourceids"),
            selectors,
            c.job_meta()?,
        )
        .await?;
    Ok(job_reply(s))
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    refuse_project(&a)?;
    let f = TagFilter {
        resource_uuid: a.str("resourceid"),
        key: a.str("key"),
        value: a.str("value"),
        customer: a.str("customer"),
        keyword: a.str("keyword"),
        ..Default::default()
    };
    let rt = a.str("resourcetype");
    let (total, rows) = c
        .app
        .tags_list(&c.caller, &a.scope(), rt.as_deref(), f, a.page()?)
        .await?;
    Ok(Reply::list("tag", total, items(&rows, tag)))
}

async fn detail_add(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let r = DetailsAdd {
        resource_type: a.req("resourcetype")?,
        resource_id: a.req("resourceid")?,
        details: pairs(&a, "details")?,
        display: a.opt_bool("fordisplay").unwrap_or(true),
    };
    Ok(job_reply(c.app.details_add(&c.caller, r, c.job_meta()?).await?))
}

async fn detail_remove(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .details_remove(
            &c.caller,
            &a.req("resourcetype")?,
            &a.req("resourceid")?,
            a.str("key"),
            c.job_meta()?,
        )
        .await?;
    Ok(job_reply(s))
}

async fn details_list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    refuse_project(&a)?;
    let (total, rows) = c
        .app
        .details_list(
            &c.caller,
            &a.scope(),
            &a.req("resourcetype")?,
            a.str("resourceid").as_deref(),
            a.str("key"),
            a.str("value"),
            a.opt_bool("fordisplay"),
            a.page()?,
        )
        .await?;
    Ok(Reply::list("resourcedetail", total, items(&rows, detail)))
}
