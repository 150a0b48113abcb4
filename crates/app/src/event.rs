//! Events: every state-changing command records what it did, who did it, to what. Sync
//! commands record one `Completed` event in the same transaction as the change; async
//! commands record `Scheduled` at submission, `Started` when the job starts, and `Completed`
//! (level ERROR on failure) when it ends.

use ferrostack_db::event::{self as event_db, Event, EventFilter, NewEvent};
use ferrostack_db::Conn;
use ferrostack_types::ids::new_uuid;
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, EventType, Page};

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

/// Every event type ferrostack records, for `listEventTypes`.
pub fn event_types() -> &'static [&'static str] {
    EventType::NAMES
}

impl App {
    /// Record an event in the caller's transaction.
    #[allow(clippy::too_many_arguments)]
    pub async fn event_record(
        &self,
        c: &mut Conn,
        caller: &Caller,
        event_type: EventType,
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
                event_type: event_type.as_str().to_string(),
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
        event_type: EventType,
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
