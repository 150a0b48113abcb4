//! SSH key pairs: createSSHKeyPair, registerSSHKeyPair, listSSHKeyPairs, deleteSSHKeyPair.

use ferrostack_app::model::KeyPairFilter;
use ferrostack_app::userdata::OwnerRef;
use ferrostack_types::Error;

use crate::args::Args;
use crate::registry::{list_params, scope_params, Access, Command, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::userdata::{created_sshkeypair, sshkeypair, CREATE_SSHKEYPAIR_FIELDS, SSHKEYPAIR_FIELDS};
use crate::Ctx;

fn owner_params() -> Vec<Param> {
    vec![
        Param::new(
            "account",
            PType::String,
            "an optional account for the ssh key. Must be used with domainId.",
        ),
        Param::new(
            "domainid",
            PType::Uuid,
            "an optional domainId for the ssh key. If the account parameter is used, domainId must also be used.",
        )
        .related("listDomains"),
        Param::new("projectid", PType::Uuid, "an optional project for the ssh key").related("listProjects"),
    ]
}

pub fn owner_ref(a: &Args) -> OwnerRef {
    OwnerRef {
        account: a.str("account"),
        domain_uuid: a.uuid("domainid"),
        project_uuid: a.uuid("projectid"),
    }
}

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "createSSHKeyPair",
            description: "Create a new keypair and returns the private key",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                vec![Param::new("name", PType::String, "Name of the keypair").required()],
                owner_params(),
            ]
            .concat(),
            shape: Shape::Object("keypair"),
            response: CREATE_SSHKEYPAIR_FIELDS,
            job: None,
            handler: |c, a| Box::pin(create(c, a)),
        },
        Command {
            name: "registerSSHKeyPair",
            description: "Register a public key in a keypair under a certain name",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                vec![
                    Param::new("name", PType::String, "Name of the keypair").required(),
                    Param::new("publickey", PType::String, "Public key material of the keypair")
                        .required()
                        .len(5120),
                ],
                owner_params(),
            ]
            .concat(),
            shape: Shape::Object("keypair"),
            response: SSHKEYPAIR_FIELDS,
            job: None,
            handler: |c, a| Box::pin(register(c, a)),
        },
        Command {
            name: "listSSHKeyPairs",
            description: "List registered keypairs",
            is_async: false,
            since: None,
            access: Access::All,
            params: [
                list_params(),
                scope_params(),
                vec![
                    Param::new("id", PType::Uuid, "the ID of the ssh keypair").related("listSSHKeyPairs"),
                    Param::new("name", PType::String, "A key pair name to look for"),
                    Param::new("fingerprint", PType::String, "A public key fingerprint to look for"),
                    Param::new("projectid", PType::Uuid, "list objects by project").related("listProjects"),
                    crate::commands::tag::tags_param(),
                ],
            ]
            .concat(),
            shape: Shape::List("sshkeypair"),
            response: SSHKEYPAIR_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list(c, a)),
        },
        Command {
            name: "deleteSSHKeyPair",
            description: "Deletes a keypair by name",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("name", PType::String, "Name of the keypair").required(),
                Param::new(
                    "account",
                    PType::String,
                    "the account associated with the keypair. Must be used with the domainId parameter.",
                ),
                Param::new("domainid", PType::Uuid, "the domain ID associated with the keypair").related("listDomains"),
                Param::new("projectid", PType::Uuid, "the project associated with keypair").related("listProjects"),
            ],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(delete(c, a)),
        },
    ]
}

async fn create(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let (k, private_key) = c.app.sshkey_create(&c.caller, &a.req("name")?, &owner_ref(&a)).await?;
    Ok(Reply::object("keypair", created_sshkeypair(&k, &private_key)))
}

async fn register(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let k = c
        .app
        .sshkey_register(&c.caller, &a.req("name")?, &a.req("publickey")?, &owner_ref(&a))
        .await?;
    Ok(Reply::object("keypair", sshkeypair(&k)))
}

async fn list(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let f = KeyPairFilter {
        uuid: a.uuid("id"),
        name: a.str("name"),
        fingerprint: a.str("fingerprint"),
        keyword: a.str("keyword"),
        tags: crate::commands::tag::tag_filters(&a)?,
    };
    let project = a.str("projectid");
    let (total, rows) = c
        .app
        .sshkey_list(&c.caller, &a.scope(), project.as_deref(), &f, a.page()?)
        .await?;
    Ok(Reply::list("sshkeypair", total, rows.iter().map(sshkeypair).collect()))
}

async fn delete(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app.sshkey_delete(&c.caller, &a.req("name")?, &owner_ref(&a)).await?;
    Ok(Reply::Success)
}
