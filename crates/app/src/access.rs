//! Who may see and touch what. Lists are scoped with [`App::owner_scope`] (CloudStack's
//! `listall` / `isrecursive` / `domainid` / `account` semantics); actions check the target's
//! owner with [`check_account`] and, for managing users and accounts, the role hierarchy with
//! [`check_manage_user`] and [`check_manage_account`] (the CVE-2025-47849/47713 rule: a caller
//! never manages an account, or a user of an account, of a higher role type, and one of its
//! own role type only where [`SameRolePeers`] allows it).

use ferrostack_db::account::{Account, OwnerScope};
use ferrostack_db::domain::Domain;
use ferrostack_db::user::User;
use ferrostack_db::Conn;
use ferrostack_types::{Error, RoleType};
use std::cmp::Ordering;

use crate::{App, Caller};

/// The scope parameters every account-owned list takes.
#[derive(Debug, Clone, Default)]
pub struct ListScope {
    pub account: Option<String>,
    pub domain_id: Option<String>,
    pub is_recursive: bool,
    pub list_all: bool,
}

/// True when `path` is `base` or below it.
pub fn in_subtree(path: &str, base: &str) -> bool {
    path.starts_with(base)
}

pub fn check_domain(caller: &Caller, d: &Domain) -> Result<(), Error> {
    let ok = match caller.role {
        RoleType::Admin => true,
        RoleType::DomainAdmin | RoleType::ResourceAdmin => in_subtree(&d.path, &caller.domain_path),
        RoleType::User => d.id == caller.domain_id.0,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::denied(format!(
            "Account {} does not have permission to access domain {}",
            caller.account_name, d.uuid
        )))
    }
}

pub fn check_account(caller: &Caller, a: &Account) -> Result<(), Error> {
    let ok = match caller.role {
        RoleType::Admin => true,
        RoleType::DomainAdmin | RoleType::ResourceAdmin => in_subtree(&a.domain_path, &caller.domain_path),
        RoleType::User => a.id == caller.account_id.0,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::denied(format!(
            "Account {} does not have permission to operate on account {}",
            caller.account_name, a.uuid
        )))
    }
}

/// The setting naming the role types whose administrators may manage other accounts (and
/// their users) of their own role type.
pub const SAME_ROLE_SETTING: &str = "role.types.allowed.for.operations.on.accounts.of.same.role.type";

/// Role types whose administrators may manage other accounts of their own role type
/// ([`SAME_ROLE_SETTING`]; CloudStack's default lists every admin role type). Root admins are
/// not restricted by it: they manage every account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SameRolePeers(Vec<RoleType>);

impl SameRolePeers {
    /// From the setting's value (names that are not role types are ignored).
    pub fn parse(v: &str) -> SameRolePeers {
        SameRolePeers(v.split(',').filter_map(|s| RoleType::parse(s.trim())).collect())
    }

    fn allows(&self, r: RoleType) -> bool {
        r == RoleType::Admin || self.0.contains(&r)
    }
}

/// Why the role rule refuses a target, or `None` when it allows it (CloudStack's
/// `checkCallerRoleTypeAllowedForUserOrAccountOperations`): the caller's own account always;
/// another account of a lower role type; of the same role type only when `peers` allows the
/// caller's; of a higher one never.
fn role_refusal(caller: &Caller, account_id: i64, role: RoleType, peers: &SameRolePeers) -> Option<String> {
    if account_id == caller.account_id.0 {
        return None;
    }
    match role.cmp(&caller.role) {
        Ordering::Less => None,
        Ordering::Equal if peers.allows(caller.role) => None,
        Ordering::Equal => Some(format!(
            "its role type {} is the same as yours and {SAME_ROLE_SETTING} does not list it; ask an \
             administrator of a higher role type, or a root admin to add {} to that setting",
            role.as_str(),
            role.as_str()
        )),
        Ordering::Greater => Some(format!(
            "its role type {} is above yours ({}); ask an administrator of at least that role type",
            role.as_str(),
            caller.role.as_str()
        )),
    }
}

/// May the caller manage (update, change password, read or create keys of, change the state
/// of, delete, add to the account of) user `u`? Users manage only themselves; admins manage
/// users in their reach under the role rule of [`role_refusal`].
pub fn check_manage_user(caller: &Caller, u: &User, peers: &SameRolePeers) -> Result<(), Error> {
    if caller.user_id.0 == u.id {
        return Ok(());
    }
    let reach = match caller.role {
        RoleType::Admin => true,
        RoleType::DomainAdmin | RoleType::ResourceAdmin => in_subtree(&u.domain_path, &caller.domain_path),
        RoleType::User => false,
    };
    let refusal = if reach {
        role_refusal(caller, u.account_id, u.role_type(), peers)
    } else {
        Some("it is outside your reach".to_string())
    };
    match refusal {
        None => Ok(()),
        Some(why) => Err(Error::denied(format!(
            "Account {} does not have permission to manage user {}: {why}",
            caller.account_name, u.uuid
        ))),
    }
}

/// May the caller manage (update, lock, disable, enable, delete, add users to) account `a`?
/// The account must be in the caller's reach ([`check_account`]) and pass the role rule of
/// [`role_refusal`], the same one that guards its users.
pub fn check_manage_account(caller: &Caller, a: &Account, peers: &SameRolePeers) -> Result<(), Error> {
    check_account(caller, a)?;
    match role_refusal(caller, a.id, a.role_type(), peers) {
        None => Ok(()),
        Some(why) => Err(Error::denied(format!(
            "Account {} does not have permission to manage account {} ({}): {why}",
            caller.account_name, a.name, a.uuid
        ))),
    }
}

/// Visible-to-caller check for a user row (lists and `getUser`).
pub fn can_see_user(caller: &Caller, u: &User) -> bool {
    match caller.role {
        RoleType::Admin => true,
        RoleType::DomainAdmin | RoleType::ResourceAdmin => in_subtree(&u.domain_path, &caller.domain_path),
        RoleType::User => u.account_id == caller.account_id.0,
    }
}

impl App {
    /// The current [`SameRolePeers`] (read before a transaction begins).
    pub async fn same_role_peers(&self) -> Result<SameRolePeers, Error> {
        Ok(SameRolePeers::parse(&self.config_value(SAME_ROLE_SETTING, None).await?))
    }

    /// Resolve a domain uuid the caller may use.
    pub async fn domain_for(&self, c: &mut Conn, caller: &Caller, param: &str, uuid: &str) -> Result<Domain, Error> {
        let d = ferrostack_db::domain::by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        check_domain(caller, &d)?;
        Ok(d)
    }

    /// Resolve an account uuid the caller may act on.
    pub async fn account_for(&self, c: &mut Conn, caller: &Caller, param: &str, uuid: &str) -> Result<Account, Error> {
        let a = ferrostack_db::account::by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        check_account(caller, &a)?;
        Ok(a)
    }

    /// Which owners' rows a list returns, from the caller and the scope parameters.
    pub async fn owner_scope(&self, c: &mut Conn, caller: &Caller, p: &ListScope) -> Result<OwnerScope, Error> {
        let domain = match &p.domain_id {
            Some(uuid) => Some(self.domain_for(c, caller, "domainid", uuid).await?),
            None => None,
        };
        if let Some(name) = &p.account {
            let d_id = domain.as_ref().map(|d| d.id()).unwrap_or(caller.domain_id);
            let a = ferrostack_db::account::by_name(&mut *c, d_id, name)
                .await?
                .ok_or_else(|| {
                    Error::invalid(format!(
                        "Unable to find account {name} in domain {}; give the account's domainid too",
                        domain
                            .as_ref()
                            .map(|d| d.uuid.as_str())
                            .unwrap_or(caller.domain_uuid.as_str())
                    ))
                })?;
            check_account(caller, &a)?;
            return Ok(OwnerScope::Account(a.id()));
        }
        match caller.role {
            RoleType::User => Ok(OwnerScope::Account(caller.account_id)),
            RoleType::Admin | RoleType::DomainAdmin | RoleType::ResourceAdmin => {
                if let Some(d) = domain {
                    if p.is_recursive || p.list_all {
                        Ok(OwnerScope::Domains(
                            ferrostack_db::domain::subtree_ids(c, &d.path).await?,
                        ))
                    } else {
                        Ok(OwnerScope::Domains(vec![d.id]))
                    }
                } else if p.list_all || p.is_recursive {
                    if caller.role == RoleType::Admin {
                        Ok(OwnerScope::All)
                    } else {
                        Ok(OwnerScope::Domains(
                            ferrostack_db::domain::subtree_ids(c, &caller.domain_path).await?,
                        ))
                    }
                } else {
                    Ok(OwnerScope::Account(caller.account_id))
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn subtree_is_a_path_prefix() {
        assert!(in_subtree("/a/b/", "/a/"));
        assert!(in_subtree("/a/", "/a/"));
        assert!(in_subtree("/x/", "/"));
        assert!(!in_subtree("/ab/", "/a/"));
    }

    fn caller(role: RoleType, account: i64) -> Caller {
        Caller {
            user_id: ferrostack_types::ids::UserId(account * 10),
            user_uuid: "u".into(),
            username: "u".into(),
            account_id: ferrostack_types::ids::AccountId(account),
            account_uuid: "a".into(),
            account_name: "a".into(),
            domain_id: ferrostack_types::ids::DomainId(1),
            domain_uuid: "d".into(),
            domain_path: "/".into(),
            role,
            account_type: role.account_type(),
        }
    }

    #[test]
    fn role_rule_table() {
        use RoleType::{Admin, DomainAdmin, ResourceAdmin, User};
        let all = SameRolePeers::parse("Admin, ResourceAdmin, DomainAdmin");
        let only_admin = SameRolePeers::parse("Admin");
        for c in RoleType::ALL {
            for t in RoleType::ALL {
                let me = caller(c, 1);
                // Another account: lower always, same per the setting, higher never.
                let want = t < c || (t == c && c != User);
                assert_eq!(role_refusal(&me, 2, t, &all).is_none(), want, "{c:?} on {t:?}");
                let strict = t < c || (t == c && c == Admin);
                assert_eq!(role_refusal(&me, 2, t, &only_admin).is_none(), strict, "{c:?} on {t:?}");
                // Its own account: always.
                assert!(role_refusal(&me, 1, t, &only_admin).is_none());
            }
        }
        let why = role_refusal(&caller(DomainAdmin, 1), 2, ResourceAdmin, &all).unwrap();
        assert!(why.contains("ResourceAdmin is above yours (DomainAdmin)"), "{why}");
        let why = role_refusal(&caller(DomainAdmin, 1), 2, DomainAdmin, &only_admin).unwrap();
        assert!(why.contains(SAME_ROLE_SETTING), "{why}");
        assert_eq!(
            SameRolePeers::parse(" domainadmin ,Boss"),
            SameRolePeers(vec![DomainAdmin])
        );
    }
}
