//! Users: create, list, update (incl. password), enable/disable/lock, delete, API keys.

use ferrostack_db::account::{self as account_db, OwnerScope};
use ferrostack_db::user::{self as user_db, User, UserFilter, UserUpdate};
use ferrostack_db::{db_err, domain as domain_db, session as session_db, Conn};
use ferrostack_types::ids::UserId;
use ferrostack_types::ids::{new_uuid, parse_uuid};
use ferrostack_types::state::{AccountEvent, AccountState, StateMachine};
use ferrostack_types::time::now_ms;
use ferrostack_types::EventType;
use ferrostack_types::{Error, Page, RoleType};

use crate::access::{can_see_user, check_manage_account, check_manage_user, ListScope, SameRolePeers};
use crate::event::Resource;
use crate::job::{JobRequest, Submitted};
use crate::{password, App, Caller};

pub fn check_password_strength(p: &str) -> Result<(), Error> {
    if p.is_empty() {
        return Err(Error::invalid("The password can't be empty"));
    }
    Ok(())
}

pub fn resource(u: &User) -> Resource {
    Resource {
        kind: "User",
        uuid: u.uuid.clone(),
        name: u.username.clone(),
    }
}

pub struct UserCreate {
    pub account: String,
    pub domain_uuid: Option<String>,
    pub username: String,
    pub password: String,
    pub firstname: String,
    pub lastname: String,
    pub email: Option<String>,
    pub timezone: Option<String>,
    pub user_uuid: Option<String>,
}

pub struct UserChange {
    pub username: Option<String>,
    pub password: Option<String>,
    pub current_password: Option<String>,
    pub firstname: Option<String>,
    pub lastname: Option<String>,
    pub email: Option<String>,
    pub timezone: Option<String>,
}

impl App {
    async fn user_for(&self, c: &mut Conn, caller: &Caller, param: &str, uuid: &str) -> Result<User, Error> {
        let u = user_db::by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        if !can_see_user(caller, &u) {
            return Err(Error::unknown_entity(param, uuid));
        }
        Ok(u)
    }

    pub async fn user_create(&self, caller: &Caller, p: UserCreate) -> Result<User, Error> {
        check_password_strength(&p.password)?;
        let hash = password::hash(&p.password)?;
        let peers = self.same_role_peers().await?;
        let mut tx = self.db.begin().await?;
        let domain = match &p.domain_uuid {
            Some(u) => self.domain_for(&mut tx, caller, "domainid", u).await?,
            None => domain_db::get(&mut *tx, caller.domain_id)
                .await?
                .ok_or_else(|| Error::internal("caller's domain missing"))?,
        };
        let a = account_db::by_name(&mut *tx, domain.id(), &p.account)
            .await?
            .ok_or_else(|| {
                Error::invalid(format!(
                    "Unable to find account {} in domain {}; check account and domainid",
                    p.account,
                    domain.display_path()
                ))
            })?;
        check_manage_account(caller, &a, &peers)?;
        let uuid = match p.user_uuid {
            None => new_uuid(),
            Some(s) => parse_uuid(&s)
                .map(|u| u.to_string())
                .ok_or_else(|| Error::invalid_type("userid", s))?,
        };
        let id = user_db::insert(
            &mut tx,
            user_db::NewUser {
                uuid: &uuid,
                account_id: a.id(),
                domain_id: domain.id(),
                username: &p.username,
                password_hash: &hash,
                firstname: &p.firstname,
                lastname: &p.lastname,
                email: p.email.as_deref(),
                timezone: p.timezone.as_deref(),
                is_default: false,
                now: now_ms(),
            },
        )
        .await?;
        let u = user_db::get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("user vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::UserCreate,
            format!("User {} created in account {}", u.username, a.name),
            Some(&resource(&u)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(u)
    }

    pub async fn user_list(
        &self,
        caller: &Caller,
        scope: &ListScope,
        mut f: UserFilter,
        id: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<User>), Error> {
        let mut c = self.db.conn().await?;
        let owner = if let Some(id) = id {
            let u = self.user_for(&mut c, caller, "id", id).await?;
            f.id = Some(u.id());
            OwnerScope::All
        } else {
            self.owner_scope(&mut c, caller, scope).await?
        };
        user_db::list(&mut c, &owner, &f, page).await
    }

    pub async fn user_get(&self, uuid: &str) -> Result<Option<User>, Error> {
        user_db::by_uuid(self.db.read(), uuid).await
    }

    /// `getUser userapikey=…`.
    pub async fn user_by_api_key(&self, caller: &Caller, key: &str) -> Result<User, Error> {
        let u = user_db::by_api_key(self.db.read(), key)
            .await?
            .filter(|u| can_see_user(caller, u))
            .ok_or_else(|| Error::invalid("No user found for the given API key; check userapikey"))?;
        Ok(u)
    }

    pub async fn user_update(&self, caller: &Caller, uuid: &str, ch: UserChange) -> Result<User, Error> {
        let new_hash = match &ch.password {
            Some(p) => {
                check_password_strength(p)?;
                Some(password::hash(p)?)
            }
            None => None,
        };
        let peers = self.same_role_peers().await?;
        let mut tx = self.db.begin().await?;
        let u = self.user_for(&mut tx, caller, "id", uuid).await?;
        check_manage_user(caller, &u, &peers)?;
        if let Some(hash) = &new_hash {
            // Changing one's own password needs the current one (unless root admin).
            if u.id == caller.user_id.0 && caller.role != RoleType::Admin {
                let cur = ch.current_password.as_deref().ok_or_else(|| {
                    Error::invalid("To change your own password, give your current password in currentpassword")
                })?;
                let stored = user_db::password_hash(&mut *tx, u.id()).await?.unwrap_or_default();
                if !password::verify(cur, &stored) {
                    return Err(Error::invalid("The current password is incorrect"));
                }
            }
            user_db::set_password(&mut tx, u.id(), hash).await?;
            if u.id != caller.user_id.0 {
                session_db::delete_for_user(&mut *tx, u.id()).await?;
            }
        }
        if u.is_default == 1 && ch.username.as_deref().is_some_and(|n| n != u.username) {
            return Err(Error::invalid(format!(
                "The default user {} can't be renamed",
                u.username
            )));
        }
        user_db::update(
            &mut tx,
            u.id(),
            &UserUpdate {
                username: ch.username.as_deref(),
                firstname: ch.firstname.as_deref(),
                lastname: ch.lastname.as_deref(),
                email: ch.email.as_deref(),
                timezone: ch.timezone.as_deref(),
            },
        )
        .await?;
        let u = user_db::get(&mut *tx, u.id())
            .await?
            .ok_or_else(|| Error::internal("user vanished"))?;
        // Never put the password in an event.
        self.event_done(
            &mut tx,
            caller,
            EventType::UserUpdate,
            format!("User {} updated", u.username),
            Some(&resource(&u)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(u)
    }

    fn check_user_state_change(caller: &Caller, u: &User, peers: &SameRolePeers, verb: &str) -> Result<(), Error> {
        check_manage_user(caller, u, peers)?;
        if u.id == caller.user_id.0 {
            return Err(Error::invalid(format!(
                "You can't {verb} your own user; ask another administrator"
            )));
        }
        if u.is_default == 1 {
            return Err(Error::invalid(format!(
                "The default user {} can't be {verb}d",
                u.username
            )));
        }
        Ok(())
    }

    /// `enableUser` / `lockUser` (sync).
    pub async fn user_set_state(&self, caller: &Caller, uuid: &str, request: AccountEvent) -> Result<User, Error> {
        let peers = self.same_role_peers().await?;
        let mut tx = self.db.begin().await?;
        let u = self.user_for(&mut tx, caller, "id", uuid).await?;
        let (verb, event) = match request {
            AccountEvent::Lock => ("lock", EventType::UserLock),
            AccountEvent::Disable => ("disable", EventType::UserDisable),
            AccountEvent::Enable => ("enable", EventType::UserEnable),
        };
        Self::check_user_state_change(caller, &u, &peers, verb)?;
        let state = user_move(&mut tx, u.id(), u.state, request).await?;
        if !state.can_log_in() {
            session_db::delete_for_user(&mut *tx, u.id()).await?;
        }
        if request == AccountEvent::Enable {
            // As in CloudStack: enabling a user (e.g. one disabled by failed logins) forgets
            // its failed login attempts.
            user_db::reset_login_attempts(&mut tx, u.id()).await?;
        }
        let u = user_db::get(&mut *tx, u.id())
            .await?
            .ok_or_else(|| Error::internal("user vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            event,
            format!("User {} {verb}ed", u.username),
            Some(&resource(&u)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(u)
    }

    /// `disableUser` (async).
    pub async fn user_disable(
        &self,
        caller: &Caller,
        uuid: &str,
        meta: crate::job::JobMeta,
    ) -> Result<Submitted, Error> {
        let peers = self.same_role_peers().await?;
        let mut tx = self.db.begin().await?;
        let u = self.user_for(&mut tx, caller, "id", uuid).await?;
        Self::check_user_state_change(caller, &u, &peers, "disable")?;
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    instance: Some(("User", u.uuid.clone())),
                    sync_key: format!("user:{}", u.uuid),
                    params: crate::saga::to_params(&crate::sagas::user::UserDisableParams { user_id: u.id })?,
                    meta,
                    description: format!("Disabling user {}", u.username),
                    resource: Some(resource(&u)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    pub async fn user_delete(&self, caller: &Caller, uuid: &str) -> Result<(), Error> {
        let peers = self.same_role_peers().await?;
        let mut tx = self.db.begin().await?;
        let u = self.user_for(&mut tx, caller, "id", uuid).await?;
        Self::check_user_state_change(caller, &u, &peers, "delete")?;
        ferrostack_db::tag::forget(&mut tx, ferrostack_db::tag::ResourceType::User, &[u.id]).await?;
        user_db::mark_removed(&mut tx, u.id(), now_ms()).await?;
        session_db::delete_for_user(&mut *tx, u.id()).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::UserDelete,
            format!("User {} deleted", u.username),
            Some(&resource(&u)),
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    /// `registerUserKeys`: generate (replace) the user's key pair and return it once.
    pub async fn user_register_keys(&self, caller: &Caller, uuid: &str) -> Result<(String, String), Error> {
        let peers = self.same_role_peers().await?;
        let mut tx = self.db.begin().await?;
        let u = self.user_for(&mut tx, caller, "id", uuid).await?;
        check_manage_user(caller, &u, &peers)?;
        let api_key = password::random_token(64);
        let secret_key = password::random_token(64);
        user_db::set_keys(&mut tx, u.id(), &api_key, &secret_key).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::RegisterUserKey,
            format!("Generated API keys for user {}", u.username),
            Some(&resource(&u)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok((api_key, secret_key))
    }

    /// `getUserKeys`: only for the user itself or an administrator of at least its role.
    pub async fn user_keys(&self, caller: &Caller, uuid: &str) -> Result<Option<(String, String)>, Error> {
        let peers = self.same_role_peers().await?;
        let mut c = self.db.conn().await?;
        let u = self.user_for(&mut c, caller, "id", uuid).await?;
        check_manage_user(caller, &u, &peers)?;
        user_db::keys(&mut *c, u.id()).await
    }
}

/// Move a user's state through the account machine with a compare-and-swap on `from`; a lost
/// swap is a 4xx the caller can retry.
pub(crate) async fn user_move(
    c: &mut Conn,
    id: UserId,
    from: AccountState,
    event: AccountEvent,
) -> Result<AccountState, Error> {
    let to = from.transition(event)?;
    if user_db::set_state(c, id, from, to).await? {
        Ok(to)
    } else {
        Err(Error::invalid(format!(
            "The user changed state (or was deleted) while it was being moved from {from} to {to}; retry"
        )))
    }
}
