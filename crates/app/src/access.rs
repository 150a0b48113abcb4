//! Who may see and touch what. Lists are scoped with [`App::owner_scope`] (CloudStack's
//! `listall` / `isrecursive` / `domainid` / `account` semantics); actions check the target's
//! owner with [`check_account`] and, for user management, the role hierarchy with
//! [`check_manage_user`] (the CVE-2025-47849/47713 rule: a caller never manages a user of a
//! higher role).

use ferrostack_db::account::{Account, OwnerScope};
use ferrostack_db::domain::Domain;
use ferrostack_db::user::User;
use ferrostack_db::Conn;
use ferrostack_types::{Error, RoleType};

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

/// May the caller manage (update, change password, read or create keys of) user `u`?
/// Users manage only themselves; admins manage users in their reach whose role is not above
/// their own.
pub fn check_manage_user(caller: &Caller, u: &User) -> Result<(), Error> {
    if caller.user_id.0 == u.id {
        return Ok(());
    }
    let reach = match caller.role {
        RoleType::Admin => true,
        RoleType::DomainAdmin | RoleType::ResourceAdmin => in_subtree(&u.domain_path, &caller.domain_path),
        RoleType::User => false,
    };
    if reach && u.role_type() <= caller.role {
        Ok(())
    } else {
        Err(Error::denied(format!(
            "Account {} does not have permission to manage user {}; a user can only be managed by \
             itself or by an administrator of at least the same role",
            caller.account_name, u.uuid
        )))
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
}
