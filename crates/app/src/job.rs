//! Submitting async commands as jobs, and reading them back (`queryAsyncJobResult`,
//! `listAsyncJobs`). Job params never carry secrets: they hold ids and flags only.

use ferrostack_db::job::{self as job_db, JobFilter, JobView, NewJob};
use ferrostack_db::Conn;
use ferrostack_jobs::Lifecycle;
use ferrostack_types::ids::{new_uuid, UserId};
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, EventType, RoleType};
use serde_json::Value;

use crate::access::{in_subtree, ListScope};
use crate::event::{Level, Resource, State};
use crate::{App, Caller};

pub struct JobRequest {
    /// The command's declaration (the registry's): saga kind, API name, Java class, event.
    pub meta: JobMeta,
    /// (`jobinstancetype`, entity uuid).
    pub instance: Option<(&'static str, String)>,
    /// Jobs with the same key run one at a time.
    pub sync_key: String,
    pub params: Value,
    pub description: String,
    pub resource: Option<Resource>,
}

/// What identifies an async command's job: saga kind, API name, CloudStack command class
/// and event type.
#[derive(Debug, Clone, Copy)]
pub struct JobMeta {
    pub kind: crate::saga::SagaKind,
    pub command: &'static str,
    pub cmd_class: &'static str,
    pub event_type: EventType,
}

/// The answer to an async submission: `jobid`, and `id` for async creates.
#[derive(Debug, Clone)]
pub struct Submitted {
    pub job_uuid: String,
    pub entity_uuid: Option<String>,
}

impl App {
    /// Persist a job and its `Scheduled` event in the caller's transaction.
    pub async fn job_submit(&self, c: &mut Conn, caller: &Caller, r: JobRequest) -> Result<Submitted, Error> {
        let uuid = new_uuid();
        let mut params = r.params;
        if let Value::Object(m) = &mut params {
            m.insert("event_type".into(), Value::String(r.meta.event_type.as_str().into()));
            m.insert("event_description".into(), Value::String(r.description.clone()));
            if let Some(res) = &r.resource {
                m.insert(
                    "event_resource".into(),
                    serde_json::json!({"kind": res.kind, "uuid": res.uuid, "name": res.name}),
                );
            }
        }
        let spec = NewJob {
            uuid: uuid.clone(),
            kind: r.meta.kind.as_str().to_string(),
            command: r.meta.command.to_string(),
            cmd_class: r.meta.cmd_class.to_string(),
            user_id: caller.user_id.0,
            account_id: caller.account_id.0,
            domain_id: caller.domain_id.0,
            instance_type: r.instance.as_ref().map(|i| i.0.to_string()),
            instance_uuid: r.instance.as_ref().map(|i| i.1.clone()),
            sync_key: r.sync_key,
            params: params.to_string(),
            created: now_ms(),
        };
        self.jobs.submit(c, &spec).await?;
        self.event_record(
            c,
            caller,
            r.meta.event_type,
            Level::Info,
            State::Scheduled,
            r.description,
            r.resource.as_ref(),
            Some(&uuid),
        )
        .await?;
        Ok(Submitted {
            job_uuid: uuid,
            entity_uuid: None,
        })
    }

    /// A job the caller may see, by uuid.
    pub async fn job_get(&self, caller: &Caller, uuid: &str) -> Result<JobView, Error> {
        let mut c = self.db.conn().await?;
        let j = job_db::view_by_uuid(&mut c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("jobid", uuid))?;
        if !self.can_see_job(caller, &j) {
            return Err(Error::unknown_entity("jobid", uuid));
        }
        Ok(j)
    }

    /// The latest job of an entity (`queryAsyncJobResult resourceid=`).
    pub async fn job_for_resource(&self, caller: &Caller, resource_uuid: &str) -> Result<JobView, Error> {
        let mut c = self.db.conn().await?;
        let j = job_db::latest_for_instance(&mut c, resource_uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("resourceid", resource_uuid))?;
        if !self.can_see_job(caller, &j) {
            return Err(Error::unknown_entity("resourceid", resource_uuid));
        }
        Ok(j)
    }

    fn can_see_job(&self, caller: &Caller, j: &JobView) -> bool {
        match caller.role {
            RoleType::Admin => true,
            RoleType::DomainAdmin | RoleType::ResourceAdmin => j
                .domain_path
                .as_deref()
                .is_some_and(|p| in_subtree(p, &caller.domain_path)),
            RoleType::User => j.job.account_id == caller.account_id.0,
        }
    }

    pub async fn job_list(
        &self,
        caller: &Caller,
        scope: &ListScope,
        f: &JobFilter,
        page: ferrostack_types::Page,
    ) -> Result<(i64, Vec<JobView>), Error> {
        let mut c = self.db.conn().await?;
        let owner = self.owner_scope(&mut c, caller, scope).await?;
        job_db::list(&mut c, &owner, f, page).await
    }
}

/// Records the `Started` and `Completed` events of every job.
pub struct JobEvents;

fn event_meta(job: &ferrostack_db::job::Job) -> Result<(EventType, String, Option<Resource>), Error> {
    let p: Value = serde_json::from_str(&job.params).unwrap_or(Value::Null);
    let s = |k: &str| p.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    let resource = p.get("event_resource").map(|r| Resource {
        kind: match r.get("kind").and_then(Value::as_str) {
            Some("Account") => "Account",
            Some("Domain") => "Domain",
            Some("User") => "User",
            Some(_) | None => "Resource",
        },
        uuid: r.get("uuid").and_then(Value::as_str).unwrap_or_default().to_string(),
        name: r.get("name").and_then(Value::as_str).unwrap_or_default().to_string(),
    });
    let stored = s("event_type");
    let event_type = EventType::parse(&stored)
        .ok_or_else(|| Error::internal(format!("job {} has an unknown event type {stored:?}", job.uuid)))?;
    Ok((event_type, s("event_description"), resource))
}

#[async_trait::async_trait]
impl Lifecycle<App> for JobEvents {
    async fn started(&self, app: &App, job: &ferrostack_db::job::Job) -> Result<(), Error> {
        let caller = Caller::load(&app.db, UserId(job.user_id)).await?;
        let (t, d, r) = event_meta(job)?;
        let mut tx = app.db.begin().await?;
        app.event_record(
            &mut tx,
            &caller,
            t,
            Level::Info,
            State::Started,
            d,
            r.as_ref(),
            Some(&job.uuid),
        )
        .await?;
        tx.commit().await.map_err(ferrostack_db::db_err)
    }

    async fn finished(&self, app: &App, job: &ferrostack_db::job::Job, error: Option<&Error>) -> Result<(), Error> {
        let caller = Caller::load(&app.db, UserId(job.user_id)).await?;
        let (t, d, r) = event_meta(job)?;
        let (level, text) = match error {
            None => (Level::Info, format!("Successfully completed: {d}")),
            Some(e) => (
                Level::Error,
                format!("Error while {}: {}", d.to_lowercase(), e.client_message(&job.command)),
            ),
        };
        let mut tx = app.db.begin().await?;
        app.event_record(
            &mut tx,
            &caller,
            t,
            level,
            State::Completed,
            text,
            r.as_ref(),
            Some(&job.uuid),
        )
        .await?;
        tx.commit().await.map_err(ferrostack_db::db_err)
    }
}

/// The kinds of every saga the engine is given (`sagas::all`), for declaration checks.
pub fn registered_kinds() -> Vec<&'static str> {
    crate::sagas::all().iter().map(|s| s.kind()).collect()
}

impl App {
    /// The password a finished job answers its VM's owner with: CloudStack returns it for a
    /// password-enabled deploy, a password reset and a restore. It is read from the VM row, never
    /// from the job row.
    pub async fn job_password(&self, caller: &Caller, j: &JobView) -> Result<Option<String>, Error> {
        let kind = crate::saga::SagaKind::parse(&j.job.kind)
            .ok_or_else(|| Error::internal(format!("job {} has an unknown kind {}", j.job.uuid, j.job.kind)))?;
        let answers_password = matches!(
            kind,
            crate::saga::SagaKind::VmDeploy | crate::saga::SagaKind::VmResetPassword | crate::saga::SagaKind::VmRestore
        );
        if !answers_password || j.job.status != 1 {
            return Ok(None);
        }
        match j.job.instance_uuid.as_deref() {
            Some(uuid) => self.vm_password_for(caller, uuid).await,
            None => Ok(None),
        }
    }
}
