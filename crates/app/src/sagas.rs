//! The async jobs of identity management. Each step is idempotent (it may run again after a
//! crash) and its undo tolerates entities that are already gone.

use std::sync::Arc;

use async_trait::async_trait;
use ferrostack_db::job::Job;
use ferrostack_db::{account as account_db, db_err, domain as domain_db, session as session_db, user as user_db};
use ferrostack_jobs::{JobOutcome, Saga};
use ferrostack_types::ids::{AccountId, DomainId, UserId};
use ferrostack_types::state::{AccountEvent, AccountState, DomainEvent};
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use serde_json::{json, Value};

use crate::App;

pub const ACCOUNT_DELETE: &str = "account_delete";
pub const ACCOUNT_DISABLE: &str = "account_disable";
pub const USER_DISABLE: &str = "user_disable";
pub const DOMAIN_DELETE: &str = "domain_delete";

/// Every saga the application runs.
pub fn all() -> Vec<Arc<dyn Saga<App>>> {
    let mut v: Vec<Arc<dyn Saga<App>>> = vec![
        Arc::new(AccountDelete),
        Arc::new(AccountDisable),
        Arc::new(UserDisable),
        Arc::new(DomainDelete),
        crate::saga::adapt(crate::host_sagas::HostMaintenance),
        crate::saga::adapt(crate::host_sagas::HostCancelMaintenance),
        crate::saga::adapt(crate::host_sagas::HostReconnect),
        crate::saga::adapt(crate::physnet::PhysnetSaga),
        crate::saga::adapt(crate::template::TemplateDeleteSaga),
    ];
    v.push(crate::saga::adapt(crate::network_sagas::NetworkRestart));
    v.push(crate::saga::adapt(crate::network_sagas::NetworkDelete));
    v.extend(crate::vm_sagas::all());
    v
}

fn param_i64(job: &Job, key: &str) -> Result<i64, Error> {
    let p: Value = serde_json::from_str(&job.params).map_err(|e| Error::internal(format!("job params: {e}")))?;
    p.get(key)
        .and_then(Value::as_i64)
        .ok_or_else(|| Error::internal(format!("job param {key} missing")))
}

fn param_bool(job: &Job, key: &str) -> bool {
    serde_json::from_str::<Value>(&job.params)
        .ok()
        .and_then(|p| p.get(key).and_then(Value::as_bool))
        .unwrap_or(false)
}

/// Remove an account and everything it owns: idempotent, and a no-op for an account that is
/// already gone.
async fn remove_account(app: &App, id: AccountId) -> Result<(), Error> {
    let mut tx = app.db.begin().await?;
    let now = now_ms();
    session_db::delete_for_account(&mut tx, id.0).await?;
    user_db::remove_all_of_account(&mut tx, id, now).await?;
    account_db::mark_removed(&mut tx, id, now).await?;
    tx.commit().await.map_err(db_err)
}

/// Undo of a state change: bring the account back to the state saved in the saga data, through
/// the machine (from whatever state it is in now).
async fn restore_account_state(app: &App, id: AccountId, data: &Value) -> Result<(), Error> {
    let Some(prev) = data.get("previous_state").and_then(Value::as_str) else {
        return Ok(()); // the step never changed anything
    };
    let prev: AccountState = prev.parse().map_err(|e| Error::internal(format!("saga data: {e}")))?;
    let mut tx = app.db.begin().await?;
    if let Some(a) = account_db::get(&mut *tx, id).await? {
        crate::account::account_move(&mut tx, id, a.state, crate::account::account_event_to(prev)).await?;
    }
    tx.commit().await.map_err(db_err)
}

/// `deleteAccount`: disable (stops new logins and API calls), release what the account owns,
/// then remove users and the account.
struct AccountDelete;

#[async_trait]
impl Saga<App> for AccountDelete {
    fn kind(&self) -> &'static str {
        ACCOUNT_DELETE
    }
    fn steps(&self) -> &'static [&'static str] {
        &["disable_account", "release_resources", "remove_account"]
    }
    async fn action(&self, app: &App, job: &Job, step: usize, state: &mut Value) -> Result<(), Error> {
        let id = AccountId(param_i64(job, "account_id")?);
        match step {
            0 => {
                let mut tx = app.db.begin().await?;
                if let Some(a) = account_db::get(&mut *tx, id).await? {
                    // Remember the state to restore if a later step fails.
                    if state.get("previous_state").is_none() {
                        *state = json!({"previous_state": a.state});
                    }
                    crate::account::account_move(&mut tx, id, a.state, AccountEvent::Disable).await?;
                }
                tx.commit().await.map_err(db_err)
            }
            1 => {
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
                let mut tx = app.db.begin().await?;
                ferrostack_db::sshkey::delete_for_account(&mut tx, id).await?;
                tx.commit().await.map_err(db_err)
            }
            _ => remove_account(app, id).await,
        }
    }
    async fn undo(&self, app: &App, job: &Job, step: usize, state: &Value) -> Result<(), Error> {
        if step == 0 {
            restore_account_state(app, AccountId(param_i64(job, "account_id")?), state).await?;
        }
        Ok(())
    }
    async fn finish(&self, _: &App, _: &Job, _: &Value) -> Result<JobOutcome, Error> {
        Ok(JobOutcome::Success)
    }
}

/// `disableAccount`: set the state, then end the account's sessions.
struct AccountDisable;

#[async_trait]
impl Saga<App> for AccountDisable {
    fn kind(&self) -> &'static str {
        ACCOUNT_DISABLE
    }
    fn steps(&self) -> &'static [&'static str] {
        &["set_state", "end_sessions"]
    }
    async fn action(&self, app: &App, job: &Job, step: usize, state: &mut Value) -> Result<(), Error> {
        let id = AccountId(param_i64(job, "account_id")?);
        let mut tx = app.db.begin().await?;
        let a = account_db::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::invalid("The account was deleted before it could be disabled"))?;
        match step {
            0 => {
                if state.get("previous_state").is_none() {
                    *state = json!({"previous_state": a.state});
                }
                let event = if param_bool(job, "lock") {
                    AccountEvent::Lock
                } else {
                    AccountEvent::Disable
                };
                crate::account::account_move(&mut tx, id, a.state, event).await?;
            }
            _ => session_db::delete_for_account(&mut tx, id.0).await?,
        }
        tx.commit().await.map_err(db_err)
    }
    async fn undo(&self, app: &App, job: &Job, step: usize, state: &Value) -> Result<(), Error> {
        if step == 0 {
            restore_account_state(app, AccountId(param_i64(job, "account_id")?), state).await?;
        }
        Ok(())
    }
    async fn finish(&self, app: &App, job: &Job, _: &Value) -> Result<JobOutcome, Error> {
        let a = account_db::get(app.db.pool(), AccountId(param_i64(job, "account_id")?))
            .await?
            .ok_or_else(|| Error::invalid("The account was deleted while being disabled"))?;
        Ok(JobOutcome::Entity {
            object: "account",
            uuid: a.uuid,
        })
    }
}

/// `disableUser`: set the state and end the user's sessions, atomically.
struct UserDisable;

#[async_trait]
impl Saga<App> for UserDisable {
    fn kind(&self) -> &'static str {
        USER_DISABLE
    }
    fn steps(&self) -> &'static [&'static str] {
        &["disable_user"]
    }
    async fn action(&self, app: &App, job: &Job, _step: usize, _state: &mut Value) -> Result<(), Error> {
        let id = UserId(param_i64(job, "user_id")?);
        let mut tx = app.db.begin().await?;
        let u = user_db::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::invalid("The user was deleted before it could be disabled"))?;
        crate::user::user_move(&mut tx, id, u.state, AccountEvent::Disable).await?;
        session_db::delete_for_user(&mut *tx, id).await?;
        tx.commit().await.map_err(db_err)
    }
    async fn undo(&self, _: &App, _: &Job, _: usize, _: &Value) -> Result<(), Error> {
        Ok(())
    }
    async fn finish(&self, app: &App, job: &Job, _: &Value) -> Result<JobOutcome, Error> {
        let u = user_db::get(app.db.pool(), UserId(param_i64(job, "user_id")?))
            .await?
            .ok_or_else(|| Error::invalid("The user was deleted while being disabled"))?;
        Ok(JobOutcome::Entity {
            object: "user",
            uuid: u.uuid,
        })
    }
}

/// `deleteDomain`: deactivate, remove every account below (with `cleanup`), then remove the
/// domains bottom-up.
struct DomainDelete;

#[async_trait]
impl Saga<App> for DomainDelete {
    fn kind(&self) -> &'static str {
        DOMAIN_DELETE
    }
    fn steps(&self) -> &'static [&'static str] {
        &["deactivate", "remove_accounts", "remove_domains"]
    }
    async fn action(&self, app: &App, job: &Job, step: usize, _state: &mut Value) -> Result<(), Error> {
        let id = DomainId(param_i64(job, "domain_id")?);
        let Some(d) = domain_db::get(app.db.pool(), id).await? else {
            return Ok(()); // already gone: deletion converges
        };
        let mut c = app.db.conn().await?;
        let subtree = domain_db::subtree_ids(&mut c, &d.path).await?;
        drop(c);
        match step {
            0 => {
                let mut tx = app.db.begin().await?;
                if !param_bool(job, "cleanup") {
                    // Re-check under the lock: something may have been added since submission.
                    if subtree.len() > 1 || !account_db::ids_in_domain(&mut tx, id).await?.is_empty() {
                        return Err(Error::in_use(format!(
                            "Failed to delete domain {}, because it has child domains or accounts; delete them first or pass cleanup=true",
                            d.name
                        )));
                    }
                }
                crate::domain::domain_move(&mut tx, id, d.state, DomainEvent::Deactivate).await?;
                tx.commit().await.map_err(db_err)
            }
            1 => {
                for dom in &subtree {
                    let mut c = app.db.conn().await?;
                    let accounts = account_db::ids_in_domain(&mut c, DomainId(*dom)).await?;
                    drop(c);
                    for a in accounts {
                        remove_account(app, AccountId(a)).await?;
                    }
                }
                Ok(())
            }
            _ => {
                let mut tx = app.db.begin().await?;
                let now = now_ms();
                // Deepest first so a crash never leaves a child under a removed parent.
                let mut c2 = subtree.clone();
                c2.reverse();
                for dom in c2 {
                    domain_db::mark_removed(&mut tx, DomainId(dom), now).await?;
                }
                tx.commit().await.map_err(db_err)
            }
        }
    }
    async fn undo(&self, app: &App, job: &Job, step: usize, _: &Value) -> Result<(), Error> {
        if step == 0 {
            let id = DomainId(param_i64(job, "domain_id")?);
            let mut tx = app.db.begin().await?;
            if let Some(d) = domain_db::get(&mut *tx, id).await? {
                crate::domain::domain_move(&mut tx, id, d.state, DomainEvent::Activate).await?;
            }
            tx.commit().await.map_err(db_err)?;
        }
        Ok(())
    }
    async fn finish(&self, _: &App, _: &Job, _: &Value) -> Result<JobOutcome, Error> {
        Ok(JobOutcome::Success)
    }
}
