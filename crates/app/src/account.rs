//! Accounts: create (with the first user), list, update, enable/disable/lock, delete (async).

use ferrostack_db::account::{self as account_db, Account, AccountFilter, OwnerScope};
use ferrostack_db::user::{self as user_db, User};
use ferrostack_db::{db_err, domain as domain_db, role as role_db, session as session_db, Conn};
use ferrostack_types::ids::AccountId;
use ferrostack_types::ids::{new_uuid, parse_uuid};
use ferrostack_types::state::{AccountEvent, AccountState, StateMachine};
use ferrostack_types::time::now_ms;
use ferrostack_types::EventType;
use ferrostack_types::{AccountType, Error, Page, RoleType};

use crate::access::{check_account, check_manage_account, ListScope};
use crate::event::Resource;
use crate::job::{JobRequest, Submitted};
use crate::user::check_password_strength;
use crate::{password, App, Caller};

pub struct AccountCreate {
    pub username: String,
    pub password: String,
    pub firstname: String,
    pub lastname: String,
    pub email: String,
    pub account: Option<String>,
    pub account_type: Option<i64>,
    pub role_uuid: Option<String>,
    pub domain_uuid: Option<String>,
    pub network_domain: Option<String>,
    pub timezone: Option<String>,
    pub account_uuid: Option<String>,
    pub user_uuid: Option<String>,
}

/// Identify an account by `id`, or by `account` name + `domainid` as CloudStack allows.
pub struct AccountRef {
    pub id: Option<String>,
    pub name: Option<String>,
    pub domain_uuid: Option<String>,
}

pub fn resource(a: &Account) -> Resource {
    Resource {
        kind: "Account",
        uuid: a.uuid.clone(),
        name: a.name.clone(),
    }
}

fn custom_uuid(param: &str, v: Option<String>) -> Result<String, Error> {
    match v {
        None => Ok(new_uuid()),
        Some(s) => parse_uuid(&s)
            .map(|u| u.to_string())
            .ok_or_else(|| Error::invalid_type(param, s)),
    }
}

impl App {
    pub async fn account_resolve(&self, c: &mut Conn, caller: &Caller, r: &AccountRef) -> Result<Account, Error> {
        if let Some(id) = &r.id {
            return self.account_for(c, caller, "id", id).await;
        }
        let (Some(name), Some(domain_uuid)) = (&r.name, &r.domain_uuid) else {
            return Err(Error::invalid(
                "Either id or both account and domainid must be given to identify the account",
            ));
        };
        let d = self.domain_for(c, caller, "domainid", domain_uuid).await?;
        let a = account_db::by_name(&mut *c, d.id(), name)
            .await?
            .ok_or_else(|| Error::invalid(format!("Unable to find account {name} in domain {domain_uuid}")))?;
        check_account(caller, &a)?;
        Ok(a)
    }

    pub async fn account_create(&self, caller: &Caller, p: AccountCreate) -> Result<(Account, Vec<User>), Error> {
        check_password_strength(&p.password)?;
        let hash = password::hash(&p.password)?;
        let mut tx = self.db.begin().await?;
        let domain = match &p.domain_uuid {
            Some(u) => self.domain_for(&mut tx, caller, "domainid", u).await?,
            None => domain_db::get(&mut *tx, caller.domain_id)
                .await?
                .ok_or_else(|| Error::internal("caller's domain missing"))?,
        };
        let role = match (&p.role_uuid, p.account_type) {
            (Some(r), _) => role_db::by_uuid(&mut *tx, r)
                .await?
                .ok_or_else(|| Error::unknown_entity("roleid", r))?,
            (None, Some(t)) => {
                let t = AccountType::from_ordinal(t).ok_or_else(|| {
                    Error::invalid(format!(
                        "Invalid account type {t}; use 0 (user), 1 (root admin) or 2 (domain admin)"
                    ))
                })?;
                role_db::default_for(&mut *tx, t.role_type()).await?
            }
            (None, None) => {
                return Err(Error::invalid(
                    "Either accounttype or roleid must be given; use accounttype=0 for a user account",
                ))
            }
        };
        let role_type = role.role_type();
        if role_type > caller.role {
            return Err(Error::denied(format!(
                "Account {} can't create an account with role type {}, which is above its own",
                caller.account_name,
                role_type.as_str()
            )));
        }
        if role_type == RoleType::Admin && domain.parent_id.is_some() {
            return Err(Error::invalid(format!(
                "Invalid account type for domain {}: root admin accounts can only be created in the ROOT domain",
                domain.display_path()
            )));
        }
        let name = p.account.clone().unwrap_or_else(|| p.username.clone());
        if name.trim().is_empty() {
            return Err(Error::invalid("The account name can't be empty"));
        }
        let now = now_ms();
        let account_uuid = custom_uuid("accountid", p.account_uuid)?;
        let account_id = account_db::insert(
            &mut tx,
            account_db::NewAccount {
                uuid: &account_uuid,
                name: &name,
                domain_id: domain.id(),
                account_type: role_type.account_type(),
                role_id: role.id,
                network_domain: p.network_domain.as_deref(),
                is_default: false,
                now,
            },
        )
        .await?;
        let user_uuid = custom_uuid("userid", p.user_uuid)?;
        user_db::insert(
            &mut tx,
            user_db::NewUser {
                uuid: &user_uuid,
                account_id,
                domain_id: domain.id(),
                username: &p.username,
                password_hash: &hash,
                firstname: &p.firstname,
                lastname: &p.lastname,
                email: Some(&p.email),
                timezone: p.timezone.as_deref(),
                is_default: false,
                now,
            },
        )
        .await?;
        let a = account_db::get(&mut *tx, account_id)
            .await?
            .ok_or_else(|| Error::internal("account vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::AccountCreate,
            format!("Account {} created in domain {}", a.name, domain.display_path()),
            Some(&resource(&a)),
        )
        .await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::UserCreate,
            format!("User {} created in account {}", p.username, a.name),
            Some(&Resource {
                kind: "User",
                uuid: user_uuid,
                name: p.username.clone(),
            }),
        )
        .await?;
        let users = user_db::of_accounts(&mut tx, &[a.id]).await?;
        tx.commit().await.map_err(db_err)?;
        Ok((a, users))
    }

    pub async fn account_list(
        &self,
        caller: &Caller,
        scope: &ListScope,
        mut f: AccountFilter,
        id: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<(Account, Vec<User>)>), Error> {
        let mut c = self.db.conn().await?;
        let owner = if let Some(id) = id {
            let a = self.account_for(&mut c, caller, "id", id).await?;
            f.id = Some(a.id());
            OwnerScope::All
        } else {
            self.owner_scope(&mut c, caller, scope).await?
        };
        let (total, accounts) = account_db::list(&mut c, &owner, &f, page).await?;
        let ids: Vec<i64> = accounts.iter().map(|a| a.id).collect();
        Ok((total, with_users(accounts, user_db::of_accounts(&mut c, &ids).await?)))
    }

    /// One account with its users (for answers and job results).
    pub async fn account_view(&self, uuid: &str) -> Result<Option<(Account, Vec<User>)>, Error> {
        let mut c = self.db.conn().await?;
        let Some(a) = account_db::by_uuid(&mut *c, uuid).await? else {
            return Ok(None);
        };
        let users = user_db::of_accounts(&mut c, &[a.id]).await?;
        Ok(Some((a, users)))
    }

    pub async fn account_update(
        &self,
        caller: &Caller,
        r: &AccountRef,
        new_name: Option<String>,
        network_domain: Option<String>,
        role_uuid: Option<String>,
    ) -> Result<(Account, Vec<User>), Error> {
        let peers = self.same_role_peers().await?;
        let mut tx = self.db.begin().await?;
        let a = self.account_resolve(&mut tx, caller, r).await?;
        check_manage_account(caller, &a, &peers)?;
        if a.is_default == 1 && new_name.is_some() {
            return Err(Error::invalid(format!(
                "The default account {} can't be renamed",
                a.name
            )));
        }
        let role = match &role_uuid {
            Some(u) => {
                let role = role_db::by_uuid(&mut *tx, u)
                    .await?
                    .ok_or_else(|| Error::unknown_entity("roleid", u))?;
                if role.role_type() > caller.role {
                    return Err(Error::denied("You can't give an account a role above your own"));
                }
                if role.role_type() != a.role_type() {
                    return Err(Error::invalid(format!(
                        "The role type of an account can't change (from {} to {}); create a new account instead",
                        a.role_type().as_str(),
                        role.role_type().as_str()
                    )));
                }
                Some((role.id, role.role_type().account_type()))
            }
            None => None,
        };
        if let Some(n) = &new_name {
            if n.trim().is_empty() {
                return Err(Error::invalid("The new account name can't be empty"));
            }
        }
        account_db::update(&mut tx, a.id(), new_name.as_deref(), network_domain.as_deref(), role).await?;
        let a = account_db::get(&mut *tx, a.id())
            .await?
            .ok_or_else(|| Error::internal("account vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::AccountUpdate,
            format!("Account {} updated", a.name),
            Some(&resource(&a)),
        )
        .await?;
        let users = user_db::of_accounts(&mut tx, &[a.id]).await?;
        tx.commit().await.map_err(db_err)?;
        Ok((a, users))
    }

    fn check_not_self_or_default(caller: &Caller, a: &Account, verb: &str) -> Result<(), Error> {
        if a.id == caller.account_id.0 {
            return Err(Error::invalid(format!(
                "You can't {verb} your own account; ask another administrator"
            )));
        }
        if a.is_default == 1 {
            return Err(Error::invalid(format!(
                "The default account {} can't be {verb}d",
                a.name
            )));
        }
        Ok(())
    }

    /// `enableAccount` (state `enabled`) and `lockAccount` (state `locked`): synchronous.
    pub async fn account_set_state(
        &self,
        caller: &Caller,
        r: &AccountRef,
        request: AccountEvent,
    ) -> Result<(Account, Vec<User>), Error> {
        let peers = self.same_role_peers().await?;
        let mut tx = self.db.begin().await?;
        let a = self.account_resolve(&mut tx, caller, r).await?;
        check_manage_account(caller, &a, &peers)?;
        let (verb, event) = match request {
            AccountEvent::Lock => ("lock", EventType::AccountLock),
            AccountEvent::Disable => ("disable", EventType::AccountDisable),
            AccountEvent::Enable => ("enable", EventType::AccountEnable),
        };
        Self::check_not_self_or_default(caller, &a, verb)?;
        let state = account_move(&mut tx, a.id(), a.state, request).await?;
        if !state.can_log_in() {
            session_db::delete_for_account(&mut tx, a.id).await?;
        }
        let a = account_db::get(&mut *tx, a.id())
            .await?
            .ok_or_else(|| Error::internal("account vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            event,
            format!("Account {} {verb}ed", a.name),
            Some(&resource(&a)),
        )
        .await?;
        let users = user_db::of_accounts(&mut tx, &[a.id]).await?;
        tx.commit().await.map_err(db_err)?;
        Ok((a, users))
    }

    /// `disableAccount` (async). `lock=true` only locks.
    pub async fn account_disable(
        &self,
        caller: &Caller,
        r: &AccountRef,
        lock: bool,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let peers = self.same_role_peers().await?;
        let mut tx = self.db.begin().await?;
        let a = self.account_resolve(&mut tx, caller, r).await?;
        check_manage_account(caller, &a, &peers)?;
        Self::check_not_self_or_default(caller, &a, if lock { "lock" } else { "disable" })?;
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    instance: Some(("Account", a.uuid.clone())),
                    sync_key: format!("account:{}", a.uuid),
                    params: crate::saga::to_params(&crate::sagas::account::AccountDisableParams {
                        account_id: a.id,
                        lock,
                    })?,
                    // One command, two events: locking is recorded as such.
                    meta: crate::job::JobMeta {
                        event_type: if lock {
                            EventType::AccountLock
                        } else {
                            EventType::AccountDisable
                        },
                        ..meta
                    },
                    description: format!("{} account {}", if lock { "Locking" } else { "Disabling" }, a.name),
                    resource: Some(resource(&a)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// `deleteAccount` (async).
    pub async fn account_delete(
        &self,
        caller: &Caller,
        uuid: &str,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let peers = self.same_role_peers().await?;
        let mut tx = self.db.begin().await?;
        let a = self.account_for(&mut tx, caller, "id", uuid).await?;
        check_manage_account(caller, &a, &peers)?;
        Self::check_not_self_or_default(caller, &a, "delete")?;
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    instance: Some(("Account", a.uuid.clone())),
                    sync_key: format!("account:{}", a.uuid),
                    params: crate::saga::to_params(&crate::sagas::account::AccountDeleteParams { account_id: a.id })?,
                    meta,
                    description: format!("Deleting account {}", a.name),
                    resource: Some(resource(&a)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }
}

fn with_users(accounts: Vec<Account>, users: Vec<User>) -> Vec<(Account, Vec<User>)> {
    let mut by_account: std::collections::HashMap<i64, Vec<User>> = std::collections::HashMap::new();
    for u in users {
        by_account.entry(u.account_id).or_default().push(u);
    }
    accounts
        .into_iter()
        .map(|a| {
            let us = by_account.remove(&a.id).unwrap_or_default();
            (a, us)
        })
        .collect()
}

/// Move an account's state through its machine with a compare-and-swap on `from`; a lost swap
/// (someone changed or deleted the account meanwhile) is a 4xx the caller can retry.
pub(crate) async fn account_move(
    c: &mut Conn,
    id: AccountId,
    from: AccountState,
    event: AccountEvent,
) -> Result<AccountState, Error> {
    let to = from.transition(event)?;
    if account_db::set_state(c, id, from, to).await? {
        Ok(to)
    } else {
        Err(Error::invalid(format!(
            "The account changed state (or was deleted) while it was being moved from {from} to {to}; retry"
        )))
    }
}

/// The request that leads to `state` (to restore a previous state through the machine).
pub(crate) const fn account_event_to(state: AccountState) -> AccountEvent {
    match state {
        AccountState::Enabled => AccountEvent::Enable,
        AccountState::Disabled => AccountEvent::Disable,
        AccountState::Locked => AccountEvent::Lock,
    }
}
