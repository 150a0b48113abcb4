//! Volume snapshots and templates made from volumes: createSnapshot, listSnapshots,
//! deleteSnapshot, revertSnapshot (all async but the list, as in CloudStack) and createTemplate.

use ferrostack_app::model::SnapshotFilter;
use ferrostack_app::saga::SagaKind;
use ferrostack_app::snapshot::{SnapshotCreate, SnapshotLookup, TemplateCreate};
use ferrostack_app::tag::ResourceType;
use ferrostack_types::{Error, EventType};

use crate::args::Args;
use crate::registry::{list_params, scope_params, Access, Command, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::snapshot::{snapshot, SNAPSHOT_FIELDS};
use crate::views::tag::tags_of;
use crate::views::template::TEMPLATE_FIELDS;
use crate::Ctx;

const OWNER: &str = "a snapshot belongs to its volume's owner; leave account and domainid out";
const BARE_METAL: &str = "bare-metal templates are not supported";

/// No projects exist here: any project other than `-1` (all) is unknown.
fn refuse_project(a: &Args) -> Result<(), Error> {
    match a.str("projectid") {
        Some(p) if p != "-1" => Err(Error::unknown_entity("projectid", p)),
        Some(_) | None => Ok(()),
    }
}

fn snapshot_id() -> Param {
    Param::new("id", PType::Uuid, "The ID of the snapshot")
        .required()
        .related("listSnapshots")
}

fn job_reply(s: ferrostack_app::job::Submitted) -> Reply {
    Reply::Job {
        job_id: s.job_uuid,
        id: s.entity_uuid,
    }
}

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "createSnapshot",
            description: "Creates an instant snapshot of a volume.",
            is_async: true,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("volumeid", PType::Uuid, "The ID of the disk volume").required().related("listVolumes"),
                Param::new("name", PType::String, "the name of the snapshot"),
                Param::new("quiescevm", PType::Boolean, "quiesce vm if true"),
                Param::new("asyncbackup", PType::Boolean, "asynchronous backup if true"),
                Param::new("tags", PType::Map, "Map of tags (key/value pairs)"),
                Param::unsupported("policyid", PType::Uuid, "snapshot policies are not supported yet; take manual snapshots"),
                Param::unsupported("locationtype", PType::String, "a snapshot is kept where this server keeps it; leave locationtype out"),
                Param::unsupported("zoneids", PType::List, "copying snapshots to other zones is not supported yet"),
                Param::unsupported("account", PType::String, OWNER),
                Param::unsupported("domainid", PType::Uuid, OWNER),
            ],
            shape: Shape::Job(Some("snapshot")),
            response: SNAPSHOT_FIELDS,
            job: None,
            handler: |c, a| Box::pin(create(c, a)),
        }
        .job(SagaKind::SnapshotCreate, EventType::SnapshotCreate, "org.apache.cloudstack.api.command.user.snapshot.CreateSnapshotCmd"),
        Command {
            name: "listSnapshots",
            description: "Lists all available snapshots for the account.",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("id", PType::Uuid, "lists snapshot by snapshot ID").related("listSnapshots"),
                    Param::new("ids", PType::List, "the IDs of the snapshots, mutually exclusive with id").since("4.9").related("listSnapshots"),
                    Param::new("intervaltype", PType::String, "valid values are HOURLY, DAILY, WEEKLY, and MONTHLY."),
                    Param::new("name", PType::String, "lists snapshot by snapshot name"),
                    Param::new("snapshottype", PType::String, "valid values are MANUAL or RECURRING."),
                    Param::new("volumeid", PType::Uuid, "the ID of the disk volume").related("listVolumes"),
                    Param::new("zoneid", PType::Uuid, "list snapshots by zone id").related("listZones"),
                    Param::new("showunique", PType::Boolean, "If set to false, list templates across zones and their storages").since("4.19.0"),
                    Param::new("projectid", PType::Uuid, "list objects by project; if projectid=-1 lists All VMs").related("listProjects"),
                    crate::commands::tag::tags_param(),
                    Param::unsupported("locationtype", PType::String, "every snapshot has one copy here; leave locationtype out"),
                    Param::unsupported("imagestoreid", PType::Uuid, "snapshots are not listed per image store; leave imagestoreid out"),
                    Param::unsupported("storageid", PType::Uuid, "snapshots are not listed per storage pool; leave storageid out"),
                ],
            ]
            .concat(),
            shape: Shape::List("snapshot"),
            response: SNAPSHOT_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        Command {
            name: "deleteSnapshot",
            description: "Deletes a snapshot of a disk volume.",
            is_async: true,
            since: None,
            access: Access::All,
            params: vec![
                snapshot_id(),
                Param::new("zoneid", PType::Uuid, "ID of the zone for the snapshot (it must be the snapshot's zone)").since("4.19.0").related("listZones"),
            ],
            shape: Shape::Job(None),
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(delete(c, a)),
        }
        .job(SagaKind::SnapshotDelete, EventType::SnapshotDelete, "org.apache.cloudstack.api.command.user.snapshot.DeleteSnapshotCmd"),
        Command {
            name: "revertSnapshot",
            description: "This is supposed to revert a volume snapshot. This command is only supported with KVM so far",
            is_async: true,
            since: None,
            access: Access::All,
            params: vec![snapshot_id()],
            shape: Shape::Job(Some("snapshot")),
            response: SNAPSHOT_FIELDS,
            job: None,
            handler: |c, a| Box::pin(revert(c, a)),
        }
        .job(SagaKind::SnapshotRevert, EventType::SnapshotRevert, "org.apache.cloudstack.api.command.user.snapshot.RevertSnapshotCmd"),
        Command {
            name: "createTemplate",
            description: "Creates a template of a virtual machine. The virtual machine must be in a STOPPED state. A template created from this command is automatically designated as a private template visible to the account that created it.",
            is_async: true,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("name", PType::String, "the name of the template").required(),
                Param::new("displaytext", PType::String, "The display text of the template, defaults to the 'name'.").len(4096),
                Param::new("ostypeid", PType::Uuid, "the ID of the OS Type that best represents the OS of this template.").required().related("listOsTypes"),
                Param::new("snapshotid", PType::Uuid, "the ID of the snapshot the template is being created from. Either this parameter, or volumeId has to be passed in").related("listSnapshots"),
                Param::new("volumeid", PType::Uuid, "the ID of the disk volume the template is being created from. Either this parameter, or snapshotId has to be passed in").related("listVolumes"),
                Param::new("zoneid", PType::Uuid, "the zone for the template. Can be specified with snapshot only").since("4.19.0").related("listZones"),
                Param::new("bits", PType::Integer, "32 or 64 bit"),
                Param::new("ispublic", PType::Boolean, "true if this template is a public template, false otherwise"),
                Param::new("isfeatured", PType::Boolean, "true if this template is a featured template, false otherwise"),
                Param::new("passwordenabled", PType::Boolean, "true if the template supports the password reset feature; default is false"),
                Param::new("sshkeyenabled", PType::Boolean, "true if the template supports the sshkey upload feature; default is false"),
                Param::new("requireshvm", PType::Boolean, "true if the template requires HVM, false otherwise"),
                Param::new("isdynamicallyscalable", PType::Boolean, "true if template contains XS/VMWare tools inorder to support dynamic scaling of VM cpu/memory"),
                Param::new("templatetag", PType::String, "the tag for this template."),
                Param::unsupported("virtualmachineid", PType::Uuid, BARE_METAL),
                Param::unsupported("url", PType::String, BARE_METAL),
                Param::unsupported("details", PType::Map, "set template details afterwards with updateTemplate details[0].key=value"),
                Param::unsupported("projectid", PType::Uuid, "projects are not supported yet; the template belongs to your account"),
            ],
            shape: Shape::Job(Some("template")),
            response: TEMPLATE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(create_template(c, a)),
        }
        .job(SagaKind::TemplateCreate, EventType::TemplateCreate, "org.apache.cloudstack.api.command.user.template.CreateTemplateCmd"),
    ]
}

async fn create(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let tags = a
        .map("tags")?
        .into_values()
        .map(|m| {
            (
                m.get("key").cloned().unwrap_or_default(),
                m.get("value").cloned().unwrap_or_default(),
            )
        })
        .collect();
    let p = SnapshotCreate {
        volume_uuid: a.req_uuid("volumeid")?,
        name: a.given("name"),
        quiesce_vm: a.bool("quiescevm"),
        tags,
    };
    Ok(job_reply(c.app.snapshot_create(&c.caller, p, c.job_meta()?).await?))
}

/// `snapshottype` / `intervaltype` as the stored types they select (CloudStack: RECURRING is
/// any policy's interval).
fn snapshot_types(a: &Args) -> Result<Option<Vec<String>>, Error> {
    const INTERVALS: &[&str] = &["HOURLY", "DAILY", "WEEKLY", "MONTHLY"];
    let mut out: Option<Vec<String>> = None;
    if let Some(t) = a.str("snapshottype") {
        let types: Vec<String> = match t.trim().to_ascii_uppercase().as_str() {
            "MANUAL" => vec!["MANUAL".into()],
            "RECURRING" => INTERVALS.iter().map(|s| s.to_string()).collect(),
            _ => {
                return Err(Error::invalid(format!(
                    "Invalid snapshottype {t}; valid values are MANUAL or RECURRING"
                )))
            }
        };
        out = Some(types);
    }
    if let Some(i) = a.str("intervaltype") {
        let i = i.trim().to_ascii_uppercase();
        if !INTERVALS.contains(&i.as_str()) {
            return Err(Error::invalid(format!(
                "Invalid intervaltype {i}; valid values are HOURLY, DAILY, WEEKLY and MONTHLY"
            )));
        }
        out = Some(match out {
            Some(types) => types.into_iter().filter(|t| *t == i).collect(),
            None => vec![i],
        });
    }
    Ok(out)
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    refuse_project(&a)?;
    let f = SnapshotFilter {
        uuids: a.ids()?,
        name: a.str("name"),
        keyword: a.str("keyword"),
        snapshot_types: snapshot_types(&a)?,
        tags: crate::commands::tag::tag_filters(&a)?,
        ..Default::default()
    };
    let mut scope = a.scope();
    scope.list_all |= a.str("ids").is_some();
    let by = SnapshotLookup {
        id: a.uuid("id"),
        volume: a.uuid("volumeid"),
        zone: a.uuid("zoneid"),
    };
    let (total, rows) = c.app.snapshot_list(&c.caller, &scope, f, &by, a.page()?).await?;
    let ids: Vec<i64> = rows.iter().map(|s| s.id).collect();
    let tags = c.app.tags_page(ResourceType::Snapshot, &ids).await?;
    Ok(Reply::list(
        "snapshot",
        total,
        rows.iter().map(|s| snapshot(s, tags_of(&tags, s.id))).collect(),
    ))
}

async fn delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let zone = a.uuid("zoneid");
    let s = c
        .app
        .snapshot_delete(&c.caller, &a.req_uuid("id")?, zone.as_deref(), c.job_meta()?)
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}

async fn revert(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .snapshot_revert(&c.caller, &a.req_uuid("id")?, c.job_meta()?)
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}

async fn create_template(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let p = TemplateCreate {
        name: a.req("name")?,
        display_text: a.str("displaytext"),
        os_type_uuid: a.req_uuid("ostypeid")?,
        snapshot_uuid: a.uuid("snapshotid"),
        volume_uuid: a.uuid("volumeid"),
        zone_uuid: a.uuid("zoneid"),
        is_public: a.bool("ispublic"),
        is_featured: a.bool("isfeatured"),
        password_enabled: a.bool("passwordenabled"),
        sshkey_enabled: a.bool("sshkeyenabled"),
        requires_hvm: a.opt_bool("requireshvm"),
        dynamically_scalable: a.bool("isdynamicallyscalable"),
        bits: a.i64("bits"),
        template_tag: a.str("templatetag"),
    };
    Ok(job_reply(c.app.template_create(&c.caller, p, c.job_meta()?).await?))
}
