//! The jobs of the tag and detail commands: `createTags`, `deleteTags`, `addResourceDetail`,
//! `removeResourceDetail`. Each is one step, one transaction. The step finds its resources
//! again (by uuid, locked on PostgreSQL so that a concurrent delete of the resource either
//! waits and takes the new rows with it or wins and the step finds nothing). Creating is
//! idempotent because every tag's uuid is fixed at submission; deleting converges.

use async_trait::async_trait;
use ferrostack_db::tag::{self as tag_db, Inserted, KeySelector, NewTag, ResourceType};
use ferrostack_db::{db_err, Conn};
use ferrostack_jobs::JobOutcome;
use ferrostack_types::cloudstack_enum;
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::saga::{SagaKind, TypedSaga};
use crate::tag::duplicate;
use crate::{saga_steps, App};

/// One tag of a `createTags` job: its uuid is chosen at submission.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TagEntry {
    pub uuid: String,
    pub resource_uuid: String,
    pub key: String,
    pub value: String,
}

/// `createTags`' job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TagsCreateParams {
    pub resource_type: ResourceType,
    pub customer: Option<String>,
    pub entries: Vec<TagEntry>,
}

/// `deleteTags`' job: the resources and the key (and value) selectors; none = every tag.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TagsDeleteParams {
    pub resource_type: ResourceType,
    pub resource_uuids: Vec<String>,
    pub tags: Vec<KeySelector>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DetailEntry {
    pub key: String,
    pub value: String,
}

/// `addResourceDetail`'s job.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DetailsAddParams {
    pub resource_type: ResourceType,
    pub resource_uuid: String,
    pub display: bool,
    pub details: Vec<DetailEntry>,
}

/// `removeResourceDetail`'s job: one key, or every detail without one.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DetailsRemoveParams {
    pub resource_type: ResourceType,
    pub resource_uuid: String,
    pub key: Option<String>,
}

cloudstack_enum! {
    /// `createTags`.
    pub enum TagsCreateStep {
        /// Every tag, in one transaction.
        CreateTags => "create_tags",
    }
}
saga_steps!(TagsCreateStep);

cloudstack_enum! {
    /// `deleteTags`.
    pub enum TagsDeleteStep {
        /// The matching tags, in one transaction.
        DeleteTags => "delete_tags",
    }
}
saga_steps!(TagsDeleteStep);

cloudstack_enum! {
    /// `addResourceDetail`.
    pub enum DetailsAddStep {
        /// Every detail, in one transaction (a key the resource has takes the new value).
        SetDetails => "set_details",
    }
}
saga_steps!(DetailsAddStep);

cloudstack_enum! {
    /// `removeResourceDetail`.
    pub enum DetailsRemoveStep {
        /// The detail (or all of them), in one transaction.
        RemoveDetails => "remove_details",
    }
}
saga_steps!(DetailsRemoveStep);

/// The live resource of a job by uuid (locked on PostgreSQL), or `None` when it is gone.
async fn target(
    app: &App,
    c: &mut Conn,
    t: ResourceType,
    uuid: &str,
) -> Result<Option<(tag_db::Target, (i64, i64))>, Error> {
    let Some(x) = tag_db::resolve(c, app.db.backend(), t, uuid, true).await? else {
        return Ok(None);
    };
    let owner = match (x.account_id, x.domain_id) {
        (Some(a), Some(d)) => (a, d),
        (Some(a), None) => {
            let d = ferrostack_db::account::get(&mut *c, ferrostack_types::ids::AccountId(a))
                .await?
                .map(|acc| acc.domain_id);
            match d {
                Some(d) => (a, d),
                None => tag_db::system_owner(c).await?,
            }
        }
        (None, _) => tag_db::system_owner(c).await?,
    };
    Ok(Some((x, owner)))
}

fn gone(t: ResourceType, uuid: &str) -> Error {
    Error::invalid(format!(
        "Unable to find resource by id {uuid} and type {t}: it was deleted before its tags could be written"
    ))
}

/// `createTags`: write every tag; a tag this job wrote already (a repeated step) stands.
pub struct TagsCreate;

#[async_trait]
impl TypedSaga for TagsCreate {
    type Params = TagsCreateParams;
    type Step = TagsCreateStep;
    const KIND: SagaKind = SagaKind::TagsCreate;

    async fn action(&self, app: &App, p: &TagsCreateParams, step: TagsCreateStep, _: &mut Value) -> Result<(), Error> {
        match step {
            TagsCreateStep::CreateTags => {
                let mut tx = app.db.begin().await?;
                let now = now_ms();
                let mut found: Vec<(String, tag_db::Target, (i64, i64))> = Vec::new();
                for e in &p.entries {
                    if !found.iter().any(|(u, _, _)| u == &e.resource_uuid) {
                        let (x, owner) = target(app, &mut tx, p.resource_type, &e.resource_uuid)
                            .await?
                            .ok_or_else(|| gone(p.resource_type, &e.resource_uuid))?;
                        found.push((e.resource_uuid.clone(), x, owner));
                    }
                    let Some((_, x, owner)) = found.iter().find(|(u, _, _)| u == &e.resource_uuid) else {
                        return Err(Error::internal("a resource found a moment ago is missing"));
                    };
                    let n = NewTag {
                        uuid: &e.uuid,
                        resource_type: p.resource_type,
                        target: x,
                        key: &e.key,
                        value: &e.value,
                        customer: p.customer.as_deref(),
                        account_id: owner.0,
                        domain_id: owner.1,
                        now,
                    };
                    match tag_db::insert(&mut tx, &n).await? {
                        Inserted::Created | Inserted::AlreadyThere => {}
                        Inserted::Duplicate(_) => return Err(duplicate(&e.key, p.resource_type, &e.resource_uuid)),
                    }
                }
                tx.commit().await.map_err(db_err)
            }
        }
    }

    async fn undo(&self, app: &App, p: &TagsCreateParams, step: TagsCreateStep, _: &Value) -> Result<(), Error> {
        match step {
            // The tags this job wrote, by their uuids (none other has them).
            TagsCreateStep::CreateTags => {
                let uuids: Vec<String> = p.entries.iter().map(|e| e.uuid.clone()).collect();
                let mut tx = app.db.begin().await?;
                tag_db::delete_by_uuids(&mut tx, &uuids).await?;
                tx.commit().await.map_err(db_err)
            }
        }
    }

    async fn finish(&self, _: &App, _: &TagsCreateParams, _: &Value) -> Result<JobOutcome, Error> {
        Ok(JobOutcome::Success)
    }
}

/// `deleteTags`: delete the matching tags of the resources that are still there.
pub struct TagsDelete;

#[async_trait]
impl TypedSaga for TagsDelete {
    type Params = TagsDeleteParams;
    type Step = TagsDeleteStep;
    const KIND: SagaKind = SagaKind::TagsDelete;

    async fn action(&self, app: &App, p: &TagsDeleteParams, step: TagsDeleteStep, _: &mut Value) -> Result<(), Error> {
        match step {
            TagsDeleteStep::DeleteTags => {
                let mut tx = app.db.begin().await?;
                let mut ids = Vec::new();
                for u in &p.resource_uuids {
                    // A resource deleted since submission took its tags with it.
                    if let Some((x, _)) = target(app, &mut tx, p.resource_type, u).await? {
                        ids.push(x.id);
                    }
                }
                if !ids.is_empty() {
                    tag_db::delete_matching(&mut tx, p.resource_type, &ids, &p.tags).await?;
                }
                tx.commit().await.map_err(db_err)
            }
        }
    }

    async fn undo(&self, _: &App, _: &TagsDeleteParams, step: TagsDeleteStep, _: &Value) -> Result<(), Error> {
        match step {
            // The only step, one transaction: if it committed, only the result remains, so
            // this undo runs only when a failure is injected after it (a test hook). The
            // deleted tags stay deleted: that is what was asked.
            TagsDeleteStep::DeleteTags => Ok(()),
        }
    }

    async fn finish(&self, _: &App, _: &TagsDeleteParams, _: &Value) -> Result<JobOutcome, Error> {
        Ok(JobOutcome::Success)
    }
}

/// What `addResourceDetail` replaced, for its undo (`{"previous": [{key, value, display}]}`;
/// `value: null` = the key was new).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Previous {
    previous: Vec<PreviousDetail>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct PreviousDetail {
    key: String,
    value: Option<String>,
    display: bool,
}

/// `addResourceDetail`: set every detail; its undo puts back what it replaced.
pub struct DetailsAdd;

#[async_trait]
impl TypedSaga for DetailsAdd {
    type Params = DetailsAddParams;
    type Step = DetailsAddStep;
    const KIND: SagaKind = SagaKind::DetailsAdd;

    async fn action(
        &self,
        app: &App,
        p: &DetailsAddParams,
        step: DetailsAddStep,
        data: &mut Value,
    ) -> Result<(), Error> {
        match step {
            DetailsAddStep::SetDetails => {
                let mut tx = app.db.begin().await?;
                let (x, owner) = target(app, &mut tx, p.resource_type, &p.resource_uuid)
                    .await?
                    .ok_or_else(|| gone(p.resource_type, &p.resource_uuid))?;
                let now = now_ms();
                let existing = tag_db::details_of(&mut tx, p.resource_type, &[x.id], false).await?;
                let mut prev = Previous::default();
                for d in &p.details {
                    let old = existing.iter().find(|e| e.key.eq_ignore_ascii_case(&d.key));
                    prev.previous.push(PreviousDetail {
                        key: d.key.clone(),
                        value: old.map(|o| o.value.clone()),
                        display: old.is_some_and(|o| o.display),
                    });
                    tag_db::detail_set(&mut tx, p.resource_type, &x, &d.key, &d.value, p.display, owner, now).await?;
                }
                tx.commit().await.map_err(db_err)?;
                // Kept once: a repeated step would remember the values it wrote itself.
                if data.get("previous").is_none() {
                    *data = crate::saga::to_params(&prev)?;
                }
                Ok(())
            }
        }
    }

    async fn undo(&self, app: &App, p: &DetailsAddParams, step: DetailsAddStep, data: &Value) -> Result<(), Error> {
        match step {
            DetailsAddStep::SetDetails => {
                if data.get("previous").is_none() {
                    return Ok(());
                }
                let prev: Previous = serde_json::from_value(data.clone())
                    .map_err(|e| Error::internal(format!("saga data of addResourceDetail: {e}")))?;
                let mut tx = app.db.begin().await?;
                if let Some((x, owner)) = target(app, &mut tx, p.resource_type, &p.resource_uuid).await? {
                    let now = now_ms();
                    for d in &prev.previous {
                        match &d.value {
                            Some(v) => {
                                tag_db::detail_set(&mut tx, p.resource_type, &x, &d.key, v, d.display, owner, now)
                                    .await?
                            }
                            None => {
                                tag_db::detail_remove(&mut tx, p.resource_type, x.id, Some(&d.key)).await?;
                            }
                        }
                    }
                }
                tx.commit().await.map_err(db_err)
            }
        }
    }

    async fn finish(&self, _: &App, _: &DetailsAddParams, _: &Value) -> Result<JobOutcome, Error> {
        Ok(JobOutcome::Success)
    }
}

/// `removeResourceDetail`: remove the detail (or all), converging when it is gone already.
pub struct DetailsRemove;

#[async_trait]
impl TypedSaga for DetailsRemove {
    type Params = DetailsRemoveParams;
    type Step = DetailsRemoveStep;
    const KIND: SagaKind = SagaKind::DetailsRemove;

    async fn action(
        &self,
        app: &App,
        p: &DetailsRemoveParams,
        step: DetailsRemoveStep,
        _: &mut Value,
    ) -> Result<(), Error> {
        match step {
            DetailsRemoveStep::RemoveDetails => {
                let mut tx = app.db.begin().await?;
                if let Some((x, _)) = target(app, &mut tx, p.resource_type, &p.resource_uuid).await? {
                    tag_db::detail_remove(&mut tx, p.resource_type, x.id, p.key.as_deref()).await?;
                }
                tx.commit().await.map_err(db_err)
            }
        }
    }

    async fn undo(&self, _: &App, _: &DetailsRemoveParams, step: DetailsRemoveStep, _: &Value) -> Result<(), Error> {
        match step {
            // The only step, one transaction: its undo runs only when a failure is injected
            // after it (a test hook). The removed details stay removed: that is what was asked.
            DetailsRemoveStep::RemoveDetails => Ok(()),
        }
    }

    async fn finish(&self, _: &App, _: &DetailsRemoveParams, _: &Value) -> Result<JobOutcome, Error> {
        Ok(JobOutcome::Success)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn job_params_round_trip() {
        let p: TagsCreateParams = serde_json::from_value(json!({
            "resource_type": "UserVm", "customer": null,
            "entries": [{"uuid": "u", "resource_uuid": "r", "key": "k", "value": "v"}],
            "event_type": "CREATE_TAGS"
        }))
        .unwrap();
        assert_eq!(p.resource_type, ResourceType::UserVm);
        assert_eq!(p.entries[0].key, "k");
        assert!(serde_json::from_value::<TagsCreateParams>(json!({"resource_type": "Nope", "entries": []})).is_err());
        let d: TagsDeleteParams = serde_json::from_value(json!({
            "resource_type": "Network", "resource_uuids": ["n"], "tags": [{"key": "a", "value": null}]
        }))
        .unwrap();
        assert_eq!(d.tags[0].value, None);
    }
}
