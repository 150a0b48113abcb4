//! The account jobs: `deleteAccount` and `disableAccount` (also `lockAccount`). Their first
//! step changes the account's state and remembers the old one; its undo moves the account
//! back through the machine.

use async_trait::async_trait;
use ferrostack_db::{account as account_db, db_err, session as session_db};
use ferrostack_jobs::JobOutcome;
use ferrostack_types::cloudstack_enum;
use ferrostack_types::ids::AccountId;
use ferrostack_types::state::AccountEvent;
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{remember, remembered, remove_account};
use crate::account::{account_event_to, account_move};
use crate::saga::{SagaKind, TypedSaga};
use crate::{saga_steps, App};

/// `deleteAccount`'s job (`{"account_id": …}`, as stored before).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct AccountDeleteParams {
    pub account_id: i64,
}

/// `disableAccount`'s job: `lock` asks for Locked instead of Disabled (absent in old rows:
/// a disable).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct AccountDisableParams {
    pub account_id: i64,
    #[serde(default)]
    pub lock: bool,
}

/// Undo of a state change: bring the account back to the state saved in the saga data, through
/// the machine (from whatever state it is in now). Nothing to do if the step never changed
/// anything or the account is gone.
async fn restore_account_state(app: &App, id: AccountId, data: &Value) -> Result<(), Error> {
    let Some(prev) = remembered(data)? else {
        return Ok(());
    };
    let mut tx = app.db.begin().await?;
    if let Some(a) = account_db::get(&mut *tx, id).await? {
        account_move(&mut tx, id, a.state, account_event_to(prev)).await?;
    }
    tx.commit().await.map_err(db_err)
}

cloudstack_enum! {
    /// `deleteAccount`.
    pub enum AccountDeleteStep {
        /// Disabled: no new logins or API calls.
        DisableAccount => "disable_account",
        /// End sessions; expunge the VMs, destroy the networks, delete the snapshots and the SSH
        /// key pairs.
        ReleaseResources => "release_resources",
        /// Remove the users and the account.
        RemoveAccount => "remove_account",
    }
}
saga_steps!(AccountDeleteStep);

/// `deleteAccount`: disable (stops new logins and API calls), release what the account owns,
/// then remove users and the account.
pub struct AccountDelete;

#[async_trait]
impl TypedSaga for AccountDelete {
    type Params = AccountDeleteParams;
    type Step = AccountDeleteStep;
    const KIND: SagaKind = SagaKind::AccountDelete;

    async fn action(
        &self,
        app: &App,
        p: &AccountDeleteParams,
        step: AccountDeleteStep,
        data: &mut Value,
    ) -> Result<(), Error> {
        let id = AccountId(p.account_id);
        match step {
            AccountDeleteStep::DisableAccount => {
                let mut tx = app.db.begin().await?;
                if let Some(a) = account_db::get(&mut *tx, id).await? {
                    // Remember the state to restore if a later step fails.
                    remember(data, a.state)?;
                    account_move(&mut tx, id, a.state, AccountEvent::Disable).await?;
                }
                tx.commit().await.map_err(db_err)
            }
            AccountDeleteStep::ReleaseResources => {
                let mut tx = app.db.begin().await?;
                session_db::delete_for_account(&mut tx, id.0).await?;
                tx.commit().await.map_err(db_err)?;
                // Everything the account owns goes with it: VMs are expunged, then its
                // networks destroyed. Each call converges and can be repeated.
                let mut c = app.db.conn().await?;
                let vms = ferrostack_db::vm::ids_of_account(&mut c, id.0).await?;
                let nets = ferrostack_db::network::ids_of_account(&mut c, id.0).await?;
                drop(c);
                for vm in vms {
                    app.vm_expunge_flow(vm).await?;
                }
                for n in nets {
                    app.network_destroy(n, true).await?;
                }
                // Its data disks outlive its VMs, not the account.
                app.volumes_expunge_of_account(id.0).await?;
                // Its snapshots outlive its volumes, not the account.
                let mut c = app.db.conn().await?;
                let snapshots = ferrostack_db::snapshot::ids_of_account(&mut c, id.0).await?;
                drop(c);
                for s in snapshots {
                    crate::snapshot::snapshot_destroy_for_cleanup(app, s).await?;
                }
                let mut tx = app.db.begin().await?;
                ferrostack_db::tag::forget_owned(&mut tx, ferrostack_db::tag::ResourceType::SshKeyPair, id.0).await?;
                ferrostack_db::sshkey::delete_for_account(&mut tx, id).await?;
                let groups = ferrostack_db::group::ids_of_account(&mut tx, id.0).await?;
                ferrostack_db::group::remove(&mut tx, &groups, ferrostack_types::time::now_ms()).await?;
                tx.commit().await.map_err(db_err)
            }
            AccountDeleteStep::RemoveAccount => remove_account(app, id).await,
        }
    }

    async fn undo(
        &self,
        app: &App,
        p: &AccountDeleteParams,
        step: AccountDeleteStep,
        data: &Value,
    ) -> Result<(), Error> {
        match step {
            AccountDeleteStep::DisableAccount => restore_account_state(app, AccountId(p.account_id), data).await,
            // Ended sessions, expunged VMs, destroyed networks and deleted key pairs cannot
            // be brought back (an expunge is final, as in CloudStack). What stands is what the
            // operator asked to go; the account is re-enabled by the first step's undo, and
            // repeating `deleteAccount` converges from here.
            AccountDeleteStep::ReleaseResources => Ok(()),
            // The last step, one transaction: if it committed, only the result remains, so
            // this undo runs only when a failure is injected after it (a test hook). The
            // account stays removed: removed rows are never revived.
            AccountDeleteStep::RemoveAccount => Ok(()),
        }
    }

    async fn finish(&self, _: &App, _: &AccountDeleteParams, _: &Value) -> Result<JobOutcome, Error> {
        Ok(JobOutcome::Success)
    }
}

cloudstack_enum! {
    /// `disableAccount` / `lockAccount`.
    pub enum AccountDisableStep {
        /// Disabled (or Locked), remembering the state before.
        SetState => "set_state",
        /// End the account's sessions.
        EndSessions => "end_sessions",
    }
}
saga_steps!(AccountDisableStep);

/// `disableAccount`: set the state, then end the account's sessions.
pub struct AccountDisable;

#[async_trait]
impl TypedSaga for AccountDisable {
    type Params = AccountDisableParams;
    type Step = AccountDisableStep;
    const KIND: SagaKind = SagaKind::AccountDisable;

    async fn action(
        &self,
        app: &App,
        p: &AccountDisableParams,
        step: AccountDisableStep,
        data: &mut Value,
    ) -> Result<(), Error> {
        let id = AccountId(p.account_id);
        let mut tx = app.db.begin().await?;
        let a = account_db::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::invalid("The account was deleted before it could be disabled"))?;
        match step {
            AccountDisableStep::SetState => {
                remember(data, a.state)?;
                let event = if p.lock {
                    AccountEvent::Lock
                } else {
                    AccountEvent::Disable
                };
                account_move(&mut tx, id, a.state, event).await?;
            }
            AccountDisableStep::EndSessions => session_db::delete_for_account(&mut tx, id.0).await?,
        }
        tx.commit().await.map_err(db_err)
    }

    async fn undo(
        &self,
        app: &App,
        p: &AccountDisableParams,
        step: AccountDisableStep,
        data: &Value,
    ) -> Result<(), Error> {
        match step {
            AccountDisableStep::SetState => restore_account_state(app, AccountId(p.account_id), data).await,
            // A session cannot be revived (its key is gone); its users log in again, which
            // the restored state allows.
            AccountDisableStep::EndSessions => Ok(()),
        }
    }

    async fn finish(&self, app: &App, p: &AccountDisableParams, _: &Value) -> Result<JobOutcome, Error> {
        let a = account_db::get(app.db.read(), AccountId(p.account_id))
            .await?
            .ok_or_else(|| Error::invalid("The account was deleted while being disabled"))?;
        Ok(JobOutcome::Entity {
            object: "account",
            uuid: a.uuid,
        })
    }
}
