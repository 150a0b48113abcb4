//! The user job: `disableUser`. One step sets the state and ends the user's sessions in one
//! transaction; its undo moves the user back to the state it had, through the machine.

use async_trait::async_trait;
use ferrostack_db::{db_err, session as session_db, user as user_db};
use ferrostack_jobs::JobOutcome;
use ferrostack_types::cloudstack_enum;
use ferrostack_types::ids::UserId;
use ferrostack_types::state::AccountEvent;
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{remember, remembered};
use crate::account::account_event_to;
use crate::saga::{SagaKind, TypedSaga};
use crate::user::user_move;
use crate::{saga_steps, App};

/// `disableUser`'s job (`{"user_id": …}`, as stored before).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct UserDisableParams {
    pub user_id: i64,
}

cloudstack_enum! {
    /// `disableUser`.
    pub enum UserDisableStep {
        /// Disabled, and the user's sessions ended, atomically.
        DisableUser => "disable_user",
    }
}
saga_steps!(UserDisableStep);

/// `disableUser`: set the state and end the user's sessions, atomically.
pub struct UserDisable;

#[async_trait]
impl TypedSaga for UserDisable {
    type Params = UserDisableParams;
    type Step = UserDisableStep;
    const KIND: SagaKind = SagaKind::UserDisable;

    async fn action(
        &self,
        app: &App,
        p: &UserDisableParams,
        step: UserDisableStep,
        data: &mut Value,
    ) -> Result<(), Error> {
        let id = UserId(p.user_id);
        match step {
            UserDisableStep::DisableUser => {
                let mut tx = app.db.begin().await?;
                let u = user_db::get(&mut *tx, id)
                    .await?
                    .ok_or_else(|| Error::invalid("The user was deleted before it could be disabled"))?;
                remember(data, u.state)?;
                user_move(&mut tx, id, u.state, AccountEvent::Disable).await?;
                session_db::delete_for_user(&mut *tx, id).await?;
                tx.commit().await.map_err(db_err)
            }
        }
    }

    async fn undo(&self, app: &App, p: &UserDisableParams, step: UserDisableStep, data: &Value) -> Result<(), Error> {
        match step {
            // The state goes back; the ended sessions stand (a session key cannot be revived:
            // the user logs in again, which the restored state allows).
            UserDisableStep::DisableUser => {
                let Some(prev) = remembered(data)? else {
                    return Ok(());
                };
                let id = UserId(p.user_id);
                let mut tx = app.db.begin().await?;
                if let Some(u) = user_db::get(&mut *tx, id).await? {
                    user_move(&mut tx, id, u.state, account_event_to(prev)).await?;
                }
                tx.commit().await.map_err(db_err)
            }
        }
    }

    async fn finish(&self, app: &App, p: &UserDisableParams, _: &Value) -> Result<JobOutcome, Error> {
        let u = user_db::get(app.db.read(), UserId(p.user_id))
            .await?
            .ok_or_else(|| Error::invalid("The user was deleted while being disabled"))?;
        Ok(JobOutcome::Entity {
            object: "user",
            uuid: u.uuid,
        })
    }
}
