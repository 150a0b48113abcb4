//! Events: every state-changing command records what it did, who did it, to what. Sync
//! commands record one `Completed` event in the same transaction as the change; async
//! commands record `Scheduled` at submission, `Started` when the job starts, and `Completed`
//! (level ERROR on failure) when it ends.

use ferrostack_db::event::{self as event_db, Event, EventFilter, NewEvent};
use ferrostack_db::Conn;
use ferrostack_types::ids::new_uuid;
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, Page};

use crate::access::ListScope;
use crate::{App, Caller};

/// The event record's level and state live in `ferrostack_types::state` (the db rows use them).
pub use ferrostack_types::state::{EventLevel as Level, EventState as State};

/// What an event is about.
#[derive(Debug, Clone)]
pub struct Resource {
    pub kind: &'static str,
    pub uuid: String,
    pub name: String,
}

/// Identity event types (CloudStack's names).
pub const EVENT_TYPES: &[&str] = &[
    "USER.LOGIN",
    "USER.LOGOUT",
    "USER.CREATE",
    "USER.DELETE",
    "USER.DISABLE",
    "USER.ENABLE",
    "USER.LOCK",
    "USER.UPDATE",
    "REGISTER.USER.KEY",
    "ACCOUNT.CREATE",
    "ACCOUNT.DELETE",
    "ACCOUNT.DISABLE",
    "ACCOUNT.ENABLE",
    "ACCOUNT.LOCK",
    "ACCOUNT.UPDATE",
    "DOMAIN.CREATE",
    "DOMAIN.DELETE",
    "DOMAIN.UPDATE",
];

/// Every event type ferrostack records, for `listEventTypes`.
pub fn event_types() -> Vec<&'static str> {
    let mut v: Vec<&'static str> = Vec::new();
    for list in [
        EVENT_TYPES,
        crate::infra::EVENT_TYPES,
        crate::network::EVENT_TYPES,
        crate::vm::EVENT_TYPES,
        crate::physnet::EVENT_TYPES,
        crate::netoffering::EVENT_TYPES,
        crate::storage::EVENT_TYPES,
        crate::template::EVENT_TYPES,
        crate::offering::EVENT_TYPES,
        crate::sshkey::EVENT_TYPES,
        crate::userdata::EVENT_TYPES,
    ] {
        v.extend_from_slice(list);
    }
    v
}

impl App {
    /// Record an event in the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn event_record(
        &self,
        c: &mut Conn,
        caller: &Caller,
        event_type: &str,
        level: Level,
        state: State,
        description: impl Into<String>,
        resource: Option<&Resource>,
        job_uuid: Option<&str>,
    ) -> Result<(), Error> {
        let start_id = match (state, job_uuid) {
            (State::Started | State::Completed, Some(j)) => event_db::job_start_id(c, j).await?,
            (State::Created | State::Scheduled | State::Started | State::Completed, _) => None,
        };
        event_db::insert(
            c,
            &NewEvent {
                uuid: new_uuid(),
                event_type: event_type.to_string(),
                level,
                state,
                description: description.into(),
                user_id: caller.user_id.0,
                account_id: caller.account_id.0,
                domain_id: caller.domain_id.0,
                resource_type: resource.map(|r| r.kind.to_string()),
                resource_uuid: resource.map(|r| r.uuid.clone()),
                resource_name: resource.map(|r| r.name.clone()),
                start_id,
                job_uuid: job_uuid.map(str::to_string),
                created: now_ms(),
            },
        )
        .await?;
        Ok(())
    }

    /// A completed INFO event for a synchronous command.
    pub async fn event_done(
        &self,
        c: &mut Conn,
        caller: &Caller,
        event_type: &str,
        description: impl Into<String>,
        resource: Option<&Resource>,
    ) -> Result<(), Error> {
        self.event_record(
            c,
            caller,
            event_type,
            Level::Info,
            State::Completed,
            description,
            resource,
            None,
        )
        .await
    }

    pub async fn event_list(
        &self,
        caller: &Caller,
        scope: &ListScope,
        filter: &EventFilter,
        page: Page,
    ) -> Result<(i64, Vec<Event>), Error> {
        let mut c = self.db.conn().await?;
        let owner = self.owner_scope(&mut c, caller, scope).await?;
        event_db::list(&mut c, &owner, filter, page).await
    }
}
