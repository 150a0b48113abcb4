use ferrostack_app::model::RoleFilter;
use ferrostack_app::model::UserFilter;
use ferrostack_app::user::{UserChange, UserCreate};
use ferrostack_types::state::AccountEvent;
use ferrostack_types::{Error, RoleType};
use serde_json::json;

use crate::args::Args;
use crate::commands::items;
use crate::registry::{list_params, scope_params, Access, Command, JobDecl, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::{self, ROLE_FIELDS, USERKEYS_FIELDS, USER_FIELDS};
use crate::Ctx;
use ferrostack_app::saga::SagaKind;
use ferrostack_types::EventType;

fn id_param(what: &'static str) -> Param {
    Param::new("id", PType::Uuid, what).required().related("listUsers")
}

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "createUser",
            description: "Creates a user for an account that already exists",
            is_async: false,
            since: None,
            access: Access::DomainAdmin,
            params: vec![
                Param::new("account", PType::String, "Creates the user under the specified account. If no account is specified, the username will be used as the account name.").required(),
                Param::new("username", PType::String, "Unique username.").required(),
                Param::new("password", PType::String, "Clear text password (Default hashed to SHA256SALT).").required(),
                Param::new("firstname", PType::String, "firstname").required(),
                Param::new("lastname", PType::String, "lastname").required(),
                Param::new("email", PType::String, "email").required(),
                Param::new("domainid", PType::Uuid, "Creates the user under the specified domain. Has to be accompanied with the account parameter").related("listDomains"),
                Param::new("timezone", PType::String, "Specifies a timezone for this command."),
                Param::new("userid", PType::String, "User UUID, required for adding account from external provisioning system"),
            ],
            shape: Shape::Object("user"),
            response: USER_FIELDS,
            job: None,
            handler: |c, a| Box::pin(create(c, a)),
        },
        Command {
            name: "listUsers",
            description: "Lists user accounts",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("id", PType::Uuid, "List user by ID.").related("listUsers"),
                    Param::new("username", PType::String, "List user by the username"),
                    Param::new("accounttype", PType::Integer, "List users by account type. Valid types include admin, domain-admin, read-only-admin, or user."),
                    Param::new("state", PType::String, "List users by state of the user account."),
                ],
            ]
            .concat(),
            shape: Shape::List("user"),
            response: USER_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        Command {
            name: "getUser",
            description: "Find user account by API key",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![Param::new("userapikey", PType::String, "API key of the user").required()],
            shape: Shape::Object("user"),
            response: USER_FIELDS,
            job: None,
            handler: |c, a| Box::pin(get(c, a)),
        },
        Command {
            name: "updateUser",
            description: "Updates a user account",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![
                id_param("User uuid"),
                Param::new("username", PType::String, "Unique username"),
                Param::new("password", PType::String, "Clear text password (default hashed to SHA256SALT). If you wish to use any other hashing algorithm, you would need to write a custom authentication adapter."),
                Param::new("currentpassword", PType::String, "Current password that was being used by the user. You must inform the current password when updating the password.").since("4.15"),
                Param::new("firstname", PType::String, "first name"),
                Param::new("lastname", PType::String, "last name"),
                Param::new("email", PType::String, "email"),
                Param::new("timezone", PType::String, "Specifies a timezone for this command."),
            ],
            shape: Shape::Object("user"),
            response: USER_FIELDS,
            job: None,
            handler: |c, a| Box::pin(update(c, a)),
        },
        Command {
            name: "enableUser",
            description: "Enables a user account",
            is_async: false,
            since: None,
            access: Access::DomainAdmin,
            params: vec![id_param("Enables user by user ID.")],
            shape: Shape::Object("user"),
            response: USER_FIELDS,
            job: None,
            handler: |c, a| Box::pin(enable(c, a)),
        },
        Command {
            name: "lockUser",
            description: "Locks a user account",
            is_async: false,
            since: None,
            access: Access::DomainAdmin,
            params: vec![id_param("Locks user by user ID.")],
            shape: Shape::Object("user"),
            response: USER_FIELDS,
            job: None,
            handler: |c, a| Box::pin(lock(c, a)),
        },
        Command {
            name: "disableUser",
            description: "Disables a user account",
            is_async: true,
            since: None,
            access: Access::DomainAdmin,
            params: vec![id_param("Disables user by user ID.")],
            shape: Shape::Job(Some("user")),
            response: USER_FIELDS,
            job: Some(JobDecl::new(SagaKind::UserDisable, EventType::UserDisable, "org.apache.cloudstack.api.command.admin.user.DisableUserCmd")),
            handler: |c, a| Box::pin(disable(c, a)),
        },
        Command {
            name: "deleteUser",
            description: "Deletes a user for an account",
            is_async: false,
            since: None,
            access: Access::DomainAdmin,
            params: vec![id_param("id of the user to be deleted")],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(delete(c, a)),
        },
        Command {
            name: "registerUserKeys",
            description: "This command allows a user to register for the developer API, returning a secret key and an API key. This request is made through the integration API port, so it is a privileged command and must be made on behalf of a user. It is up to the implementer just how the username and password are entered, and then how that translates to an integration API request. Both secret key and API key should be returned to the user",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![id_param("User id")],
            shape: Shape::Object("userkeys"),
            response: USERKEYS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(register_keys(c, a)),
        },
        Command {
            name: "getUserKeys",
            description: "This command allows the user to query the seceret and API keys for the account",
            is_async: false,
            since: Some("4.10.0"),
            access: Access::All,
            params: vec![id_param("ID of the user whose keys are required")],
            shape: Shape::Object("userkeys"),
            response: USERKEYS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(get_keys(c, a)),
        },
        Command {
            name: "listRoles",
            description: "Lists dynamic roles in CloudStack",
            is_async: false,
            since: Some("4.9.0"),
            access: Access::All,
            params: [
                list_params(),
                vec![
                    Param::new("id", PType::Uuid, "List role by role ID.").related("listRoles"),
                    Param::new("name", PType::String, "List role by role name."),
                    Param::new("type", PType::String, "List role by role type, valid options are: Admin, ResourceAdmin, DomainAdmin, User."),
                ],
            ]
            .concat(),
            shape: Shape::List("role"),
            response: ROLE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list_roles(c, a)),
        },
    ]
}

async fn create(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let u = c
        .app
        .user_create(
            &c.caller,
            UserCreate {
                account: a.req("account")?,
                domain_uuid: a.uuid("domainid"),
                username: a.req("username")?,
                password: a.req("password")?,
                firstname: a.req("firstname")?,
                lastname: a.req("lastname")?,
                email: Some(a.req("email")?),
                timezone: a.str("timezone"),
                user_uuid: a.str("userid"),
            },
        )
        .await?;
    Ok(Reply::object("user", views::user(&u)))
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    // A state no user can be in matches nothing (CloudStack compares the string).
    let state = match a.str("state") {
        Some(s) => match ferrostack_types::state::AccountState::parse(&s) {
            Some(st) => Some(st),
            None => return Ok(Reply::list("user", 0, Vec::new())),
        },
        None => None,
    };
    let f = UserFilter {
        id: None,
        username: a.str("username"),
        account_type: a.i64("accounttype"),
        state,
        keyword: a.str("keyword"),
        api_key: None,
    };
    let id = a.uuid("id");
    let (total, rows) = c
        .app
        .user_list(&c.caller, &a.scope(), f, id.as_deref(), a.page()?)
        .await?;
    Ok(Reply::list("user", total, items(&rows, views::user)))
}

async fn get(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let u = c.app.user_by_api_key(&c.caller, &a.req("userapikey")?).await?;
    Ok(Reply::object("user", views::user(&u)))
}

async fn update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let u = c
        .app
        .user_update(
            &c.caller,
            &a.req_uuid("id")?,
            UserChange {
                username: a.str("username"),
                password: a.str("password"),
                current_password: a.str("currentpassword"),
                firstname: a.str("firstname"),
                lastname: a.str("lastname"),
                email: a.str("email"),
                timezone: a.str("timezone"),
            },
        )
        .await?;
    Ok(Reply::object("user", views::user(&u)))
}

async fn enable(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let u = c
        .app
        .user_set_state(&c.caller, &a.req_uuid("id")?, AccountEvent::Enable)
        .await?;
    Ok(Reply::object("user", views::user(&u)))
}

async fn lock(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let u = c
        .app
        .user_set_state(&c.caller, &a.req_uuid("id")?, AccountEvent::Lock)
        .await?;
    Ok(Reply::object("user", views::user(&u)))
}

async fn disable(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c.app.user_disable(&c.caller, &a.req_uuid("id")?, c.job_meta()?).await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}

async fn delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app.user_delete(&c.caller, &a.req_uuid("id")?).await?;
    Ok(Reply::Success)
}

async fn register_keys(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let (api, secret) = c.app.user_register_keys(&c.caller, &a.req_uuid("id")?).await?;
    Ok(Reply::object("userkeys", json!({"apikey": api, "secretkey": secret})))
}

async fn get_keys(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let keys = c.app.user_keys(&c.caller, &a.req_uuid("id")?).await?;
    let v = match keys {
        Some((api, secret)) => json!({"apikey": api, "secretkey": secret}),
        None => json!({}),
    };
    Ok(Reply::object("userkeys", v))
}

async fn list_roles(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let role_type = match a.str("type") {
        Some(t) => Some(RoleType::parse(&t).ok_or_else(|| {
            Error::invalid(format!(
                "Invalid role type {t}; valid types are Admin, ResourceAdmin, DomainAdmin, User"
            ))
        })?),
        None => None,
    };
    let f = RoleFilter {
        uuid: a.uuid("id"),
        name: a.str("name"),
        role_type,
        keyword: a.str("keyword"),
        max_type: None,
    };
    let rows = c.app.role_list(&c.caller, f).await?;
    let page = a.page()?;
    let total = rows.len() as i64;
    let start = usize::try_from(page.offset).unwrap_or(usize::MAX).min(rows.len());
    let end = page
        .limit
        .map(|l| start.saturating_add(l as usize).min(rows.len()))
        .unwrap_or(rows.len());
    Ok(Reply::list("role", total, items(&rows[start..end], views::role)))
}
