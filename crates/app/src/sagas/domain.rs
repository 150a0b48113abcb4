//! The domain job: `deleteDomain`. The first step deactivates the domain (its undo activates
//! it again); with `cleanup` the accounts below are removed, then the domains bottom-up.

use async_trait::async_trait;
use ferrostack_db::{account as account_db, db_err, domain as domain_db};
use ferrostack_jobs::JobOutcome;
use ferrostack_types::cloudstack_enum;
use ferrostack_types::ids::{AccountId, DomainId};
use ferrostack_types::state::DomainEvent;
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::remove_account;
use crate::domain::domain_move;
use crate::saga::{SagaKind, TypedSaga};
use crate::{saga_steps, App};

/// `deleteDomain`'s job (`{"domain_id": …, "cleanup": …}`, as stored before; a row without
/// `cleanup` is a delete without cleanup).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct DomainDeleteParams {
    pub domain_id: i64,
    #[serde(default)]
    pub cleanup: bool,
}

cloudstack_enum! {
    /// `deleteDomain`.
    pub enum DomainDeleteStep {
        /// Re-check emptiness (without `cleanup`), then Active -> Inactive.
        Deactivate => "deactivate",
        /// Remove every account of the subtree.
        RemoveAccounts => "remove_accounts",
        /// Remove the domains, deepest first.
        RemoveDomains => "remove_domains",
    }
}
saga_steps!(DomainDeleteStep);

/// `deleteDomain`: deactivate, remove every account below (with `cleanup`), then remove the
/// domains bottom-up.
pub struct DomainDelete;

#[async_trait]
impl TypedSaga for DomainDelete {
    type Params = DomainDeleteParams;
    type Step = DomainDeleteStep;
    const KIND: SagaKind = SagaKind::DomainDelete;

    async fn action(
        &self,
        app: &App,
        p: &DomainDeleteParams,
        step: DomainDeleteStep,
        _: &mut Value,
    ) -> Result<(), Error> {
        let id = DomainId(p.domain_id);
        let Some(d) = domain_db::get(app.db.read(), id).await? else {
            return Ok(()); // already gone: deletion converges
        };
        let mut c = app.db.conn().await?;
        let subtree = domain_db::subtree_ids(&mut c, &d.path).await?;
        drop(c);
        match step {
            DomainDeleteStep::Deactivate => {
                let mut tx = app.db.begin().await?;
                if !p.cleanup {
                    // Re-check under the lock: something may have been added since submission.
                    if subtree.len() > 1 || !account_db::ids_in_domain(&mut tx, id).await?.is_empty() {
                        return Err(Error::in_use(format!(
                            "Failed to delete domain {}, because it has child domains or accounts; delete them first or pass cleanup=true",
                            d.name
                        )));
                    }
                }
                domain_move(&mut tx, id, d.state, DomainEvent::Deactivate).await?;
                tx.commit().await.map_err(db_err)
            }
            DomainDeleteStep::RemoveAccounts => {
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
            DomainDeleteStep::RemoveDomains => {
                let mut tx = app.db.begin().await?;
                let now = now_ms();
                // Deepest first so a crash never leaves a child under a removed parent.
                for dom in subtree.iter().rev() {
                    domain_db::mark_removed(&mut tx, DomainId(*dom), now).await?;
                }
                tx.commit().await.map_err(db_err)
            }
        }
    }

    async fn undo(&self, app: &App, p: &DomainDeleteParams, step: DomainDeleteStep, _: &Value) -> Result<(), Error> {
        match step {
            DomainDeleteStep::Deactivate => {
                let id = DomainId(p.domain_id);
                let mut tx = app.db.begin().await?;
                if let Some(d) = domain_db::get(&mut *tx, id).await? {
                    domain_move(&mut tx, id, d.state, DomainEvent::Activate).await?;
                }
                tx.commit().await.map_err(db_err)
            }
            // Removed accounts stand: `cleanup=true` asked for them to go, their sessions are
            // ended and removed rows are never revived. The domain is activated again by the
            // first step's undo, and repeating `deleteDomain` converges from here.
            DomainDeleteStep::RemoveAccounts => Ok(()),
            // The last step, one transaction: if it committed, only the result remains, so
            // this undo runs only when a failure is injected after it (a test hook). The
            // domains stay removed.
            DomainDeleteStep::RemoveDomains => Ok(()),
        }
    }

    async fn finish(&self, _: &App, _: &DomainDeleteParams, _: &Value) -> Result<JobOutcome, Error> {
        Ok(JobOutcome::Success)
    }
}
