//! The registration point of every saga, and the identity sagas (one file per resource):
//! [`account`] (`deleteAccount`, `disableAccount`), [`user`] (`disableUser`), [`domain`]
//! (`deleteDomain`). Each step is idempotent (it may run again after a crash) and its undo
//! tolerates entities that are already gone.

use std::sync::Arc;

use ferrostack_db::{account as account_db, db_err, session as session_db, user as user_db};
use ferrostack_jobs::Saga;
use ferrostack_types::ids::AccountId;
use ferrostack_types::state::AccountState;
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::saga::adapt;
use crate::App;

pub mod account;
pub mod domain;
pub mod user;

/// Every saga the application runs.
pub fn all() -> Vec<Arc<dyn Saga<App>>> {
    let mut v: Vec<Arc<dyn Saga<App>>> = vec![
        adapt(account::AccountDelete),
        adapt(account::AccountDisable),
        adapt(user::UserDisable),
        adapt(domain::DomainDelete),
        adapt(crate::host_sagas::HostMaintenance),
        adapt(crate::host_sagas::HostCancelMaintenance),
        adapt(crate::host_sagas::HostReconnect),
        adapt(crate::physnet::PhysnetSaga),
        adapt(crate::template::TemplateDeleteSaga),
        adapt(crate::template::TemplateCopySaga),
        adapt(crate::template::TemplateExtractSaga),
        adapt(crate::template::VmIsoSaga),
        adapt(crate::network_sagas::NetworkRestart),
        adapt(crate::network_sagas::NetworkDelete),
        adapt(crate::tag_sagas::TagsCreate),
        adapt(crate::tag_sagas::TagsDelete),
        adapt(crate::tag_sagas::DetailsAdd),
        adapt(crate::tag_sagas::DetailsRemove),
        adapt(crate::volume_sagas::VolumeCreate),
        adapt(crate::volume_sagas::VolumeAttach),
        adapt(crate::volume_sagas::VolumeDetach),
        adapt(crate::volume_sagas::VolumeResize),
        adapt(crate::snapshot::SnapshotCreateSaga),
        adapt(crate::snapshot::SnapshotDeleteSaga),
        adapt(crate::snapshot::SnapshotRevertSaga),
        adapt(crate::snapshot::TemplateCreateSaga),
    ];
    v.extend(crate::vm_sagas::all());
    v.extend(crate::vm_extras_sagas::all());
    v
}

/// What a state-changing identity step remembers for its undo (the saga data of the job row,
/// `{"previous_state": "enabled"}` as before).
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
struct Remembered {
    previous_state: AccountState,
}

/// The state recorded before the saga's first change, if the step got that far. Data that
/// does not parse is a bug (530), never "nothing to undo".
fn remembered(data: &Value) -> Result<Option<AccountState>, Error> {
    if data.get("previous_state").is_none() {
        return Ok(None);
    }
    serde_json::from_value::<Remembered>(data.clone())
        .map(|r| Some(r.previous_state))
        .map_err(|e| Error::internal(format!("saga data: {e}")))
}

/// Remember `state` as the one to restore (once: a re-run after a crash keeps the first).
fn remember(data: &mut Value, state: AccountState) -> Result<(), Error> {
    if data.get("previous_state").is_none() {
        *data = crate::saga::to_params(&Remembered { previous_state: state })?;
    }
    Ok(())
}

/// Remove an account and everything it owns: idempotent, and a no-op for an account that is
/// already gone.
async fn remove_account(app: &App, id: AccountId) -> Result<(), Error> {
    let mut tx = app.db.begin().await?;
    let now = now_ms();
    session_db::delete_for_account(&mut tx, id.0).await?;
    user_db::remove_all_of_account(&mut tx, id, now).await?;
    // Its users', its own and whatever else of its tags and details go with it.
    ferrostack_db::tag::forget_account(&mut tx, id.0).await?;
    account_db::mark_removed(&mut tx, id, now).await?;
    tx.commit().await.map_err(db_err)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    /// Jobs stored before the identity sagas were typed still parse: same keys, same spelling.
    #[test]
    fn stored_identity_job_rows_parse() {
        let d: account::AccountDisableParams = serde_json::from_value(json!({"account_id": 7, "lock": true})).unwrap();
        assert_eq!((d.account_id, d.lock), (7, true));
        let a: account::AccountDeleteParams = serde_json::from_value(json!({"account_id": 7})).unwrap();
        assert_eq!(a.account_id, 7);
        let u: user::UserDisableParams = serde_json::from_value(json!({"user_id": 3})).unwrap();
        assert_eq!(u.user_id, 3);
        let m: domain::DomainDeleteParams = serde_json::from_value(json!({"domain_id": 2, "cleanup": true})).unwrap();
        assert_eq!((m.domain_id, m.cleanup), (2, true));
        assert_eq!(
            remembered(&json!({"previous_state": "locked"})).unwrap(),
            Some(AccountState::Locked)
        );
        assert_eq!(remembered(&json!({})).unwrap(), None);
        assert!(
            remembered(&json!({"previous_state": "gone"})).is_err(),
            "never a default"
        );
        let mut data = json!({});
        remember(&mut data, AccountState::Enabled).unwrap();
        remember(&mut data, AccountState::Disabled).unwrap();
        assert_eq!(data, json!({"previous_state": "enabled"}), "the first state is kept");
    }
}
