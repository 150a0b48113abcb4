//! The user data registry (CloudStack 4.18+): `registerUserData`, `listUserData`,
//! `deleteUserData`, `linkUserDataToTemplate`; and what VM deployment needs from it
//! ([`App::userdata_resolve`], [`App::template_userdata`] and the pure helpers in
//! [`content`]). User data contents never go into events, logs or job rows.

use ferrostack_db::account::{self as account_db, Account};
use ferrostack_db::template::{self as template_db, Template};
use ferrostack_db::userdata::{self as userdata_db, UserData, UserDataFilter};
use ferrostack_db::{db_err, Conn};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::time::now_ms;
use ferrostack_types::EventType;
use ferrostack_types::{Error, Page, RoleType};

use crate::access::{check_account, check_domain, in_subtree, ListScope};
use crate::event::Resource;
use crate::{App, Caller};

pub mod content;

pub use content::{append, apply_policy, encode, normalize_params, render_variables, validate_userdata, Policy};

// Event types this module records. CloudStack's EventTypes has `REGISTER.USER.DATA`;
// deletion has no CloudStack type and is recorded as `DELETE.USER.DATA`. Linking to a
// template records CloudStack's `TEMPLATE.UPDATE` (declared by the template module).

/// Tables whose live rows (`removed IS NULL`) refer to user data by id in a column: while
/// any does, `deleteUserData` is refused. The VM work adds e.g. `("vm_instance", "user_data_id")`.
pub const USERDATA_USERS: &[(&str, &str)] = &[("vm_instance", "user_data_id")];

pub fn resource(u: &UserData) -> Resource {
    Resource {
        kind: "UserData",
        uuid: u.uuid.clone(),
        name: u.name.clone(),
    }
}

/// The owner parameters of a create/delete (`account` + `domainid`, `projectid`).
#[derive(Debug, Clone, Default)]
pub struct OwnerRef {
    pub account: Option<String>,
    pub domain_uuid: Option<String>,
    pub project_uuid: Option<String>,
}

/// `registerUserData` input.
pub struct UserDataRegister {
    pub name: String,
    /// Base64 as given.
    pub userdata: String,
    pub params: Option<String>,
    pub owner: OwnerRef,
}

/// What `linkUserDataToTemplate` answers: the template and its (new) link.
pub struct TemplateLinkView {
    pub template: Template,
    pub userdata: Option<UserData>,
    pub policy: Option<Policy>,
}

/// May the caller change the template (its user data link)? System templates belong to root
/// admins; others to their owner and the admins above it.
fn check_template_owner(caller: &Caller, t: &Template) -> Result<(), Error> {
    let ok = match caller.role {
        RoleType::Admin => true,
        RoleType::DomainAdmin | RoleType::ResourceAdmin => {
            t.account_id.is_some()
                && t.domain_path
                    .as_deref()
                    .is_some_and(|p| in_subtree(p, &caller.domain_path))
        }
        RoleType::User => t.account_id == Some(caller.account_id.0),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::denied(format!(
            "Account {} does not have permission to change template {}; only its owner or an administrator \
             above it can link user data to it",
            caller.account_name, t.uuid
        )))
    }
}

/// Is `u` usable by the caller (own, or within an admin's reach)?
fn check_userdata(caller: &Caller, u: &UserData) -> Result<(), Error> {
    let ok = match caller.role {
        RoleType::Admin => true,
        RoleType::DomainAdmin | RoleType::ResourceAdmin => in_subtree(&u.domain_path, &caller.domain_path),
        RoleType::User => u.account_id == caller.account_id.0,
    };
    if ok {
        Ok(())
    } else {
        Err(Error::denied(format!(
            "Account {} does not have permission to use userdata {}",
            caller.account_name, u.uuid
        )))
    }
}

fn decode_stored(u: &UserData) -> Result<Vec<u8>, Error> {
    validate_userdata(&u.user_data, usize::MAX)
        .map_err(|_| Error::internal(format!("stored user data {} is not base64", u.uuid)))
}

impl App {
    /// The account a created resource belongs to (CloudStack's `finalizeOwner`): the caller,
    /// or for admins `account` in `domainid` (both or neither). Projects don't exist here.
    pub async fn owner_resolve(&self, c: &mut Conn, caller: &Caller, o: &OwnerRef) -> Result<Account, Error> {
        if let Some(p) = &o.project_uuid {
            return Err(Error::invalid(format!(
                "Unable to find project {p}: this cloud has no projects; omit projectid or use account and domainid"
            )));
        }
        match (&o.account, &o.domain_uuid) {
            (None, None) => account_db::get(&mut *c, caller.account_id)
                .await?
                .ok_or_else(|| Error::internal("caller's account missing")),
            (Some(name), Some(domain_uuid)) => {
                let d = ferrostack_db::domain::by_uuid(&mut *c, domain_uuid)
                    .await?
                    .ok_or_else(|| Error::unknown_entity("domainid", domain_uuid))?;
                if caller.role == RoleType::User && (d.id != caller.domain_id.0 || name != &caller.account_name) {
                    return Err(Error::denied(format!(
                        "Can't create/list resources for account {name} in domain {domain_uuid}, permission denied"
                    )));
                }
                check_domain(caller, &d)?;
                let a = account_db::by_name(&mut *c, d.id(), name)
                    .await?
                    .ok_or_else(|| Error::invalid(format!("Unable to find account {name} in domain {domain_uuid}")))?;
                check_account(caller, &a)?;
                Ok(a)
            }
            (Some(_), None) | (None, Some(_)) => Err(Error::invalid(
                "AccountName and domainId must be specified together; give both account and domainid, or neither",
            )),
        }
    }

    /// `registerUserData`.
    pub async fn userdata_register(&self, caller: &Caller, p: UserDataRegister) -> Result<UserData, Error> {
        let name = p.name.trim().to_string();
        if name.is_empty() {
            return Err(Error::invalid("The userdata name can't be empty"));
        }
        let max = self.config_i64("vm.userdata.max.length", None).await?;
        let decoded = validate_userdata(&p.userdata, usize::try_from(max).unwrap_or(0))?;
        let stored = encode(&decoded);
        let params = normalize_params(p.params.as_deref())?;
        let mut tx = self.db.begin().await?;
        let owner = self.owner_resolve(&mut tx, caller, &p.owner).await?;
        if userdata_db::by_name(&mut tx, owner.id(), &name).await?.is_some() {
            return Err(Error::invalid(format!(
                "A userdata with name {name} already exists for this account."
            )));
        }
        if let Some(same) = userdata_db::by_content(&mut tx, owner.id(), &stored).await? {
            return Err(Error::invalid(format!(
                "Userdata {} with same content already exists for this account.",
                same.name
            )));
        }
        let uuid = new_uuid();
        let id = userdata_db::insert(
            &mut tx,
            userdata_db::NewUserData {
                uuid: &uuid,
                name: &name,
                account_id: owner.id(),
                domain_id: owner.domain_id(),
                user_data: &stored,
                params: params.as_deref(),
                now: now_ms(),
            },
        )
        .await?;
        let u = userdata_db::get(&mut tx, id)
            .await?
            .ok_or_else(|| Error::internal("user data vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::RegisterUserData,
            format!("Registered userdata {} for account {}", u.name, u.account_name),
            Some(&resource(&u)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(u)
    }

    pub async fn userdata_list(
        &self,
        caller: &Caller,
        scope: &ListScope,
        project: Option<&str>,
        f: &UserDataFilter,
        page: Page,
    ) -> Result<(i64, Vec<UserData>), Error> {
        if project.is_some() {
            return Ok((0, Vec::new()));
        }
        let mut c = self.db.conn().await?;
        let owner = self.owner_scope(&mut c, caller, scope).await?;
        userdata_db::list(&mut c, &owner, f, page).await
    }

    /// A live user data object the caller may use, by uuid (`param` names it in errors).
    async fn userdata_for(&self, c: &mut Conn, caller: &Caller, param: &str, uuid: &str) -> Result<UserData, Error> {
        let u = userdata_db::by_uuid(c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        check_userdata(caller, &u)?;
        Ok(u)
    }

    /// `deleteUserData`: refused (431) while a live template links it or a live VM uses it.
    pub async fn userdata_delete(&self, caller: &Caller, uuid: &str, owner: &OwnerRef) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let owner = if owner.account.is_some() || owner.domain_uuid.is_some() || owner.project_uuid.is_some() {
            Some(self.owner_resolve(&mut tx, caller, owner).await?)
        } else {
            None
        };
        let u = userdata_db::by_uuid(&mut tx, uuid).await?;
        let u = match (u, &owner) {
            (Some(u), Some(o)) if u.account_id != o.id => None,
            (u, _) => u,
        }
        .ok_or_else(|| {
            Error::invalid(format!(
                "A UserData with id '{uuid}' does not exist for account {} in specified domain id",
                owner
                    .as_ref()
                    .map(|o| o.name.as_str())
                    .unwrap_or(caller.account_name.as_str())
            ))
        })?;
        check_userdata(caller, &u)?;
        let templates = userdata_db::count_linked_templates(&mut tx, u.id).await?;
        if templates > 0 {
            return Err(Error::in_use(format!(
                "Userdata {} cannot be removed as it is linked to active template/templates ({templates}); unlink it \
                 with linkUserDataToTemplate (without userdataid) first",
                u.name
            )));
        }
        for (table, column) in USERDATA_USERS {
            let n = userdata_db::count_users(&mut tx, table, column, u.id).await?;
            if n > 0 {
                return Err(Error::in_use(format!(
                    "Userdata {} cannot be removed as it is being used by some instances ({n}); reset their user \
                     data or destroy them first",
                    u.name
                )));
            }
        }
        ferrostack_db::tag::forget(&mut tx, ferrostack_db::tag::ResourceType::UserData, &[u.id]).await?;
        userdata_db::mark_removed(&mut tx, u.id, now_ms()).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::DeleteUserData,
            format!("Deleted userdata {} of account {}", u.name, u.account_name),
            Some(&resource(&u)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(())
    }

    /// `linkUserDataToTemplate`: link (or with no user data, unlink) a template or ISO.
    pub async fn userdata_link_template(
        &self,
        caller: &Caller,
        template_uuid: Option<&str>,
        iso_uuid: Option<&str>,
        userdata_uuid: Option<&str>,
        policy: Option<&str>,
    ) -> Result<TemplateLinkView, Error> {
        let (param, uuid) = match (template_uuid, iso_uuid) {
            (Some(t), None) => ("templateid", t),
            (None, Some(i)) => ("isoid", i),
            (Some(_), Some(_)) => {
                return Err(Error::invalid(
                    "Both template ID and ISO ID are passed, API is currently supports only one at a time",
                ))
            }
            (None, None) => return Err(Error::invalid("Either templateid or isoid must be given")),
        };
        let policy = match policy.map(str::trim).filter(|p| !p.is_empty()) {
            None => Policy::AllowOverride,
            Some(p) => Policy::parse(p).ok_or_else(|| {
                Error::invalid(format!(
                    "Invalid userdatapolicy {p}; use ALLOWOVERRIDE, DENYOVERRIDE or APPEND"
                ))
            })?,
        };
        let mut tx = self.db.begin().await?;
        let t = template_db::by_uuid(&mut *tx, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        check_template_owner(caller, &t)?;
        let (userdata, policy) = match userdata_uuid {
            Some(u) => {
                let u = self.userdata_for(&mut tx, caller, "userdataid", u).await?;
                userdata_db::link_template(&mut tx, t.id, u.id, policy.as_str(), now_ms()).await?;
                (Some(u), Some(policy))
            }
            None => {
                userdata_db::unlink_template(&mut tx, t.id).await?;
                (None, None)
            }
        };
        let description = match &userdata {
            Some(u) => format!(
                "Linked userdata {} to template {} with policy {}",
                u.name,
                t.name,
                policy.map(Policy::as_str).unwrap_or_default()
            ),
            None => format!("Unlinked userdata from template {}", t.name),
        };
        self.event_done(
            &mut tx,
            caller,
            EventType::TemplateUpdate,
            description,
            Some(&crate::template::resource(&t)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(TemplateLinkView {
            template: t,
            userdata,
            policy,
        })
    }

    /// The user data of `userdataid` as a VM owned by `caller_account_id` may use it: the
    /// decoded content and its declared params. Unknown or not the account's (nor, for the
    /// VM's owner, reachable) → 431.
    pub async fn userdata_resolve(
        &self,
        c: &mut Conn,
        caller_account_id: i64,
        userdata_uuid: &str,
    ) -> Result<(Vec<u8>, Vec<String>), Error> {
        let u = userdata_db::by_uuid(c, userdata_uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("userdataid", userdata_uuid))?;
        if u.account_id != caller_account_id {
            let owner = account_db::get(&mut *c, ferrostack_types::ids::AccountId(caller_account_id))
                .await?
                .ok_or_else(|| Error::internal(format!("account {caller_account_id} missing")))?;
            let reach = match owner.role_type() {
                RoleType::Admin => true,
                RoleType::DomainAdmin | RoleType::ResourceAdmin => in_subtree(&u.domain_path, &owner.domain_path),
                RoleType::User => false,
            };
            if !reach {
                return Err(Error::invalid(format!(
                    "Userdata {userdata_uuid} does not belong to account {}; use user data registered by that account",
                    owner.name
                )));
            }
        }
        Ok((decode_stored(&u)?, u.param_list()))
    }

    /// The user data linked to a template: (decoded content, params, policy), if any.
    pub async fn template_userdata(
        &self,
        c: &mut Conn,
        template_id: i64,
    ) -> Result<Option<(Vec<u8>, Vec<String>, String)>, Error> {
        let Some(link) = userdata_db::template_link(c, template_id).await? else {
            return Ok(None);
        };
        let Some(u) = userdata_db::get(c, link.userdata_id).await? else {
            return Ok(None);
        };
        Ok(Some((decode_stored(&u)?, u.param_list(), link.policy)))
    }

    /// For template answers: each template id's (userdata id, name, params, policy).
    pub async fn template_userdata_links(
        &self,
        c: &mut Conn,
        template_ids: &[i64],
    ) -> Result<Vec<(i64, UserData, String)>, Error> {
        let links = userdata_db::template_links(c, template_ids).await?;
        let ids: Vec<i64> = links.iter().map(|l| l.userdata_id).collect();
        let objects = userdata_db::by_ids(c, &ids).await?;
        let mut out = Vec::with_capacity(links.len());
        for l in links {
            if let Some(u) = objects.iter().find(|u| u.id == l.userdata_id) {
                out.push((l.template_id, u.clone(), l.policy));
            }
        }
        Ok(out)
    }
}
