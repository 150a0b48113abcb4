use ferrostack_app::account::{AccountCreate, AccountRef};
use ferrostack_app::model::AccountFilter;
use ferrostack_types::state::AccountEvent;
use ferrostack_types::Error;

use crate::args::Args;
use crate::registry::{list_params, scope_params, Access, Command, JobDecl, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::{self, ACCOUNT_FIELDS};
use crate::Ctx;
use ferrostack_app::saga::SagaKind;
use ferrostack_types::EventType;

fn account_ref_params(required_id: bool) -> Vec<Param> {
    let id = Param::new("id", PType::Uuid, "Account id").related("listAccounts");
    vec![
        if required_id { id.required() } else { id },
        Param::new("account", PType::String, "Account name (with domainid, instead of id)"),
        Param::new(
            "domainid",
            PType::Uuid,
            "Domain ID of the account (with account, instead of id)",
        )
        .related("listDomains"),
    ]
}

fn account_ref(a: &Args) -> AccountRef {
    AccountRef {
        id: a.uuid("id"),
        name: a.str("account"),
        domain_uuid: a.uuid("domainid"),
    }
}

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "createAccount",
            description: "Creates an account",
            is_async: false,
            since: None,
            access: Access::DomainAdmin,
            params: vec![
                Param::new("email", PType::String, "email").required(),
                Param::new("firstname", PType::String, "firstname").required(),
                Param::new("lastname", PType::String, "lastname").required(),
                Param::new("password", PType::String, "Clear text password (Default hashed to SHA256SALT).").required(),
                Param::new("username", PType::String, "Unique username.").required(),
                Param::new("account", PType::String, "Name of the account to be created. The user will be added to this newly created account. If no account is specified, the username will be used as the account name."),
                Param::new("accounttype", PType::Integer, "Type of the account.  Specify 0 for user, 1 for root admin, and 2 for domain admin"),
                Param::new("roleid", PType::Uuid, "Creates the account under the specified role.").related("listRoles"),
                Param::new("domainid", PType::Uuid, "Creates the user under the specified domain.").related("listDomains"),
                Param::new("networkdomain", PType::String, "Network domain for the account's networks"),
                Param::new("timezone", PType::String, "Specifies a timezone for this command."),
                Param::new("accountid", PType::String, "Account UUID, required for adding account from external provisioning system"),
                Param::new("userid", PType::String, "User UUID, required for adding account from external provisioning system"),
                Param::new("accountdetails", PType::Map, "details for the account").refused("account details are not stored; leave accountdetails out"),
            ],
            shape: Shape::Object("account"),
            response: ACCOUNT_FIELDS,
            job: None,
            handler: |c, a| Box::pin(create(c, a)),
        },
        Command {
            name: "listAccounts",
            description: "Lists accounts and provides detailed account information for listed accounts",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("id", PType::Uuid, "list account by account ID").related("listAccounts"),
                    Param::new("name", PType::String, "list account by account name"),
                    Param::new("accounttype", PType::Integer, "list accounts by account type. Valid account types are 1 (admin), 2 (domain-admin), and 0 (user)."),
                    Param::new("state", PType::String, "list accounts by state. Valid states are enabled, disabled, and locked."),
                    Param::new("iscleanuprequired", PType::Boolean, "list accounts by cleanuprequired attribute (values are true or false)").only("false", "no account ever waits for cleanup here (deleting an account converges), so every account has cleanuprequired=false"),
                    Param::new("details", PType::List, "comma separated list of account details requested"),
                ],
            ]
            .concat(),
            shape: Shape::List("account"),
            response: ACCOUNT_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        Command {
            name: "updateAccount",
            description: "Updates account information for the authenticated user",
            is_async: false,
            since: None,
            access: Access::DomainAdmin,
            params: [
                account_ref_params(false),
                vec![
                    Param::new("newname", PType::String, "new name for the account"),
                    Param::new("networkdomain", PType::String, "Network domain for the account's networks"),
                    Param::new("roleid", PType::Uuid, "The UUID of the dynamic role to set for the account").related("listRoles"),
                    Param::new("accountdetails", PType::Map, "Details for the account used to store specific parameters").refused("account details are not stored; leave accountdetails out"),
                ],
            ]
            .concat(),
            shape: Shape::Object("account"),
            response: ACCOUNT_FIELDS,
            job: None,
            handler: |c, a| Box::pin(update(c, a)),
        },
        Command {
            name: "enableAccount",
            description: "Enables an account",
            is_async: false,
            since: None,
            access: Access::DomainAdmin,
            params: account_ref_params(false),
            shape: Shape::Object("account"),
            response: ACCOUNT_FIELDS,
            job: None,
            handler: |c, a| Box::pin(enable(c, a)),
        },
        Command {
            name: "lockAccount",
            description: "This deprecated function used to locks an account. Look for the API DisableAccount instead",
            is_async: false,
            since: None,
            access: Access::DomainAdmin,
            params: vec![
                Param::new("account", PType::String, "Locks the specified account.").required(),
                Param::new("domainid", PType::Uuid, "Locks the specified account on this domain.").required().related("listDomains"),
            ],
            shape: Shape::Object("account"),
            response: ACCOUNT_FIELDS,
            job: None,
            handler: |c, a| Box::pin(lock(c, a)),
        },
        Command {
            name: "disableAccount",
            description: "Disables an account",
            is_async: true,
            since: None,
            access: Access::DomainAdmin,
            params: [
                account_ref_params(false),
                vec![Param::new("lock", PType::Boolean, "If true, only lock the account; else disable the account").required()],
            ]
            .concat(),
            shape: Shape::Job(Some("account")),
            response: ACCOUNT_FIELDS,
            job: Some(JobDecl::new(SagaKind::AccountDisable, EventType::AccountDisable, "org.apache.cloudstack.api.command.admin.account.DisableAccountCmd")),
            handler: |c, a| Box::pin(disable(c, a)),
        },
        Command {
            name: "deleteAccount",
            description: "Deletes a account, and all users associated with this account",
            is_async: true,
            since: None,
            access: Access::DomainAdmin,
            params: vec![Param::new("id", PType::Uuid, "Account id").required().related("listAccounts")],
            shape: Shape::Job(None),
            response: SUCCESS_FIELDS,
            job: Some(JobDecl::new(SagaKind::AccountDelete, EventType::AccountDelete, "org.apache.cloudstack.api.command.admin.account.DeleteAccountCmd")),
            handler: |c, a| Box::pin(delete(c, a)),
        },
    ]
}

async fn create(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let (acc, users) = c
        .app
        .account_create(
            &c.caller,
            AccountCreate {
                username: a.req("username")?,
                password: a.req("password")?,
                firstname: a.req("firstname")?,
                lastname: a.req("lastname")?,
                email: a.req("email")?,
                account: a.str("account"),
                account_type: a.i64("accounttype"),
                role_uuid: a.uuid("roleid"),
                domain_uuid: a.uuid("domainid"),
                network_domain: a.str("networkdomain"),
                timezone: a.str("timezone"),
                account_uuid: a.str("accountid"),
                user_uuid: a.str("userid"),
            },
        )
        .await?;
    Ok(Reply::object("account", views::account(&acc, &users)))
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    // A state no account can be in matches nothing (CloudStack compares the string).
    let state = match a.str("state") {
        Some(s) => match ferrostack_types::state::AccountState::parse(&s) {
            Some(st) => Some(st),
            None => return Ok(Reply::list("account", 0, Vec::new())),
        },
        None => None,
    };
    let f = AccountFilter {
        id: None,
        name: a.str("name"),
        account_type: a.i64("accounttype"),
        state,
        keyword: a.str("keyword"),
    };
    let id = a.uuid("id");
    let (total, rows) = c
        .app
        .account_list(&c.caller, &a.scope(), f, id.as_deref(), a.page()?)
        .await?;
    let items = rows.iter().map(|(acc, us)| views::account(acc, us)).collect();
    Ok(Reply::list("account", total, items))
}

async fn update(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let (acc, users) = c
        .app
        .account_update(
            &c.caller,
            &account_ref(&a),
            a.str("newname"),
            a.str("networkdomain"),
            a.uuid("roleid"),
        )
        .await?;
    Ok(Reply::object("account", views::account(&acc, &users)))
}

async fn enable(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let (acc, users) = c
        .app
        .account_set_state(&c.caller, &account_ref(&a), AccountEvent::Enable)
        .await?;
    Ok(Reply::object("account", views::account(&acc, &users)))
}

async fn lock(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let (acc, users) = c
        .app
        .account_set_state(&c.caller, &account_ref(&a), AccountEvent::Lock)
        .await?;
    Ok(Reply::object("account", views::account(&acc, &users)))
}

async fn disable(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .account_disable(&c.caller, &account_ref(&a), a.bool("lock"), c.job_meta()?)
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}

async fn delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .account_delete(&c.caller, &a.req_uuid("id")?, c.job_meta()?)
        .await?;
    Ok(Reply::Job {
        job_id: s.job_uuid,
        id: None,
    })
}
