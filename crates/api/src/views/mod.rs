//! Response objects with CloudStack's field names and JSON types, and the field lists
//! `listApis` advertises for them. A test checks each view emits only declared fields.

use ferrostack_app::model::Account;
use ferrostack_app::model::Event;
use ferrostack_app::model::JobView;
use ferrostack_app::model::Role;
use ferrostack_app::model::User;
use ferrostack_app::model::{display_path, Domain};
use ferrostack_types::time::format_ms;
use serde_json::{json, Map, Value};

use crate::registry::Field;

pub mod infra;
pub mod network;
pub mod offering;
pub mod physnet;
pub mod snapshot;
pub mod storage;
pub mod tag;
pub mod template;
pub mod userdata;
pub mod vm;

/// Insert `v` under `k` unless it is `None` (CloudStack omits null fields).
fn put(m: &mut Map<String, Value>, k: &str, v: Option<Value>) {
    if let Some(v) = v {
        m.insert(k.to_string(), v);
    }
}

pub const DOMAIN_FIELDS: &[Field] = &[
    ("id", "string", "the ID of the domain"),
    ("name", "string", "the name of the domain"),
    ("path", "string", "the path of the domain"),
    ("level", "integer", "the level of the domain"),
    ("parentdomainid", "string", "the domain ID of the parent domain"),
    ("parentdomainname", "string", "the domain name of the parent domain"),
    ("haschild", "boolean", "whether the domain has one or more sub-domains"),
    ("state", "string", "the state of the domain"),
    ("networkdomain", "string", "the network domain"),
    ("created", "date", "the date when this domain was created"),
];

pub fn domain(d: &Domain) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(d.uuid));
    m.insert("name".into(), json!(d.name));
    m.insert("path".into(), json!(d.display_path()));
    m.insert("level".into(), json!(d.level));
    put(&mut m, "parentdomainid", d.parent_uuid.as_ref().map(|v| json!(v)));
    put(&mut m, "parentdomainname", d.parent_name.as_ref().map(|v| json!(v)));
    m.insert("haschild".into(), json!(d.has_child == 1));
    m.insert("state".into(), json!(d.state));
    put(&mut m, "networkdomain", d.network_domain.as_ref().map(|v| json!(v)));
    m.insert("created".into(), json!(format_ms(d.created)));
    Value::Object(m)
}

pub const USER_FIELDS: &[Field] = &[
    ("id", "string", "the user ID"),
    ("username", "string", "the user name"),
    ("firstname", "string", "the user firstname"),
    ("lastname", "string", "the user lastname"),
    ("email", "string", "the user email address"),
    ("state", "string", "the user state"),
    ("account", "string", "the account name of the user"),
    ("accountid", "string", "the account ID of the user"),
    ("accounttype", "integer", "the account type of the user"),
    ("domain", "string", "the domain name of the user"),
    ("domainid", "string", "the domain ID of the user"),
    ("domainpath", "string", "the domain path of the user"),
    ("roleid", "string", "the ID of the role"),
    ("rolename", "string", "the name of the role"),
    ("roletype", "string", "the type of the role"),
    ("created", "date", "the date and time the user account was created"),
    ("timezone", "string", "the timezone user was created in"),
    (
        "usersource",
        "string",
        "the source type of the user in lowercase, such as native, ldap, saml2",
    ),
    ("isdefault", "boolean", "true if user is default, false otherwise"),
    (
        "iscallerchilddomain",
        "boolean",
        "the boolean value representing if the updating target is in caller's child domain",
    ),
    ("apikey", "string", "the api key of the user"),
    (
        "is2faenabled",
        "boolean",
        "true if user has two factor authentication enabled",
    ),
    (
        "is2famandated",
        "boolean",
        "true if user has two factor authentication is mandated",
    ),
];

/// A user. Never carries the secret key or the password.
pub fn user(u: &User) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(u.uuid));
    m.insert("username".into(), json!(u.username));
    m.insert("firstname".into(), json!(u.firstname));
    m.insert("lastname".into(), json!(u.lastname));
    put(&mut m, "email", u.email.as_ref().map(|v| json!(v)));
    m.insert("state".into(), json!(u.state));
    m.insert("account".into(), json!(u.account_name));
    m.insert("accountid".into(), json!(u.account_uuid));
    m.insert("accounttype".into(), json!(u.account_type));
    m.insert("domain".into(), json!(u.domain_name));
    m.insert("domainid".into(), json!(u.domain_uuid));
    m.insert("domainpath".into(), json!(display_path(&u.domain_path)));
    m.insert("roleid".into(), json!(u.role_uuid));
    m.insert("rolename".into(), json!(u.role_name));
    m.insert("roletype".into(), json!(u.role_type().as_str()));
    m.insert("created".into(), json!(format_ms(u.created)));
    put(&mut m, "timezone", u.timezone.as_ref().map(|v| json!(v)));
    m.insert("usersource".into(), json!(u.source));
    m.insert("isdefault".into(), json!(u.is_default == 1));
    put(&mut m, "apikey", u.api_key.as_ref().map(|v| json!(v)));
    m.insert("is2faenabled".into(), json!(false));
    m.insert("is2famandated".into(), json!(false));
    Value::Object(m)
}

pub const ACCOUNT_FIELDS: &[Field] = &[
    ("id", "string", "the id of the account"),
    ("name", "string", "the name of the account"),
    ("accounttype", "integer", "account type (admin, domain-admin, user)"),
    ("roleid", "string", "the ID of the role"),
    ("rolename", "string", "the name of the role"),
    (
        "roletype",
        "string",
        "the type of the role (Admin, ResourceAdmin, DomainAdmin, User)",
    ),
    ("domain", "string", "name of the Domain the account belongs to"),
    ("domainid", "string", "id of the Domain the account belongs to"),
    ("domainpath", "string", "path of the Domain the account belongs to"),
    ("state", "string", "the state of the account"),
    ("isdefault", "boolean", "true if account is default, false otherwise"),
    ("created", "date", "the date when this account was created"),
    ("networkdomain", "string", "the network domain"),
    ("user", "list", "the list of users associated with account"),
    (
        "vmlimit",
        "string",
        "the total number of virtual machines that can be deployed by this account",
    ),
    (
        "vmtotal",
        "long",
        "the total number of virtual machines deployed by this account",
    ),
    (
        "vmavailable",
        "string",
        "the total number of virtual machines available for this account to acquire",
    ),
    (
        "vmrunning",
        "integer",
        "the total number of virtual machines running for this account",
    ),
    (
        "vmstopped",
        "integer",
        "the total number of virtual machines stopped for this account",
    ),
];

pub fn account(a: &Account, users: &[User]) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(a.uuid));
    m.insert("name".into(), json!(a.name));
    m.insert("accounttype".into(), json!(a.account_type));
    m.insert("roleid".into(), json!(a.role_uuid));
    m.insert("rolename".into(), json!(a.role_name));
    m.insert("roletype".into(), json!(a.role_type().as_str()));
    m.insert("domain".into(), json!(a.domain_name));
    m.insert("domainid".into(), json!(a.domain_uuid));
    m.insert("domainpath".into(), json!(display_path(&a.domain_path)));
    m.insert("state".into(), json!(a.state));
    m.insert("isdefault".into(), json!(a.is_default == 1));
    m.insert("created".into(), json!(format_ms(a.created)));
    put(&mut m, "networkdomain", a.network_domain.as_ref().map(|v| json!(v)));
    m.insert("user".into(), Value::Array(users.iter().map(user).collect()));
    m.insert("vmlimit".into(), json!("Unlimited"));
    m.insert("vmtotal".into(), json!(0));
    m.insert("vmavailable".into(), json!("Unlimited"));
    m.insert("vmrunning".into(), json!(0));
    m.insert("vmstopped".into(), json!(0));
    Value::Object(m)
}

pub const ROLE_FIELDS: &[Field] = &[
    ("id", "string", "the ID of the role"),
    ("name", "string", "the name of the role"),
    ("type", "string", "the type of the role"),
    ("description", "string", "the description of the role"),
    ("isdefault", "boolean", "true if role is default, false otherwise"),
    (
        "ispublic",
        "boolean",
        "Indicates whether the role will be visible to all users (public) or only to root admins (private).",
    ),
    ("state", "string", "the state of the role"),
];

pub fn role(r: &Role) -> Value {
    json!({
        "id": r.uuid, "name": r.name, "type": r.role_type().as_str(), "description": r.description,
        "isdefault": r.is_default == 1, "ispublic": true, "state": "ENABLED",
    })
}

pub const USERKEYS_FIELDS: &[Field] = &[
    ("apikey", "string", "the api key of the registered user"),
    ("secretkey", "string", "the secret key of the registered user"),
];

pub const EVENT_FIELDS: &[Field] = &[
    ("id", "string", "the ID of the event"),
    ("type", "string", "the type of the event (see event types)"),
    ("level", "string", "the event level (INFO, WARN, ERROR)"),
    ("description", "string", "a brief description of the event"),
    ("state", "string", "the state of the event"),
    ("username", "string", "the name of the user who performed the action"),
    (
        "account",
        "string",
        "the account name for the account that owns the object being acted on in the event",
    ),
    ("domain", "string", "the name of the account's domain"),
    ("domainid", "string", "the id of the account's domain"),
    (
        "domainpath",
        "string",
        "path of the Domain the account's domain belongs to",
    ),
    ("created", "date", "the date the event was created"),
    ("parentid", "string", "whether the event is parented"),
    ("resourceid", "string", "the id of the resource"),
    ("resourcetype", "string", "the type of the resource"),
    ("resourcename", "string", "the name of the resource"),
    ("archived", "boolean", "whether the event has been archived or not"),
];

pub fn event(e: &Event) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(e.uuid));
    m.insert("type".into(), json!(e.event_type));
    m.insert("level".into(), json!(e.level));
    m.insert("description".into(), json!(e.description));
    m.insert("state".into(), json!(e.state));
    put(&mut m, "username", e.username.as_ref().map(|v| json!(v)));
    put(&mut m, "account", e.account_name.as_ref().map(|v| json!(v)));
    put(&mut m, "domain", e.domain_name.as_ref().map(|v| json!(v)));
    put(&mut m, "domainid", e.domain_uuid.as_ref().map(|v| json!(v)));
    put(
        &mut m,
        "domainpath",
        e.domain_path.as_deref().map(|p| json!(display_path(p))),
    );
    m.insert("created".into(), json!(format_ms(e.created)));
    put(&mut m, "parentid", e.start_uuid.as_ref().map(|v| json!(v)));
    put(&mut m, "resourceid", e.resource_uuid.as_ref().map(|v| json!(v)));
    put(&mut m, "resourcetype", e.resource_type.as_ref().map(|v| json!(v)));
    put(&mut m, "resourcename", e.resource_name.as_ref().map(|v| json!(v)));
    m.insert("archived".into(), json!(e.archived == 1));
    Value::Object(m)
}

pub const JOB_FIELDS: &[Field] = &[
    ("jobid", "string", "the ID of the async job"),
    ("accountid", "string", "the account id that executed the async command"),
    ("account", "string", "the account that executed the async command"),
    ("domainid", "string", "the domain id that executed the async command"),
    ("domainpath", "string", "the domain that executed the async command"),
    ("userid", "string", "the user that executed the async command"),
    ("cmd", "string", "the async command executed"),
    ("jobstatus", "integer", "the current job status-should be 0 for PENDING"),
    (
        "jobprocstatus",
        "integer",
        "the progress information of the PENDING job",
    ),
    ("jobresultcode", "integer", "the result code for the job"),
    ("jobresulttype", "string", "the result type"),
    ("jobresult", "responseobject", "the result reason"),
    (
        "jobinstancetype",
        "string",
        "the instance/entity object related to the job",
    ),
    (
        "jobinstanceid",
        "string",
        "the unique ID of the instance/entity object related to the job",
    ),
    ("created", "date", "the created date of the job"),
    ("completed", "date", "the completed date of the job"),
    (
        "managementserverid",
        "string",
        "the msid of the management server on which the job is running",
    ),
];

/// The flat job object of `queryAsyncJobResult` and the items of `listAsyncJobs`.
pub fn job(j: &JobView) -> Map<String, Value> {
    let job = &j.job;
    let mut m = Map::new();
    put(&mut m, "accountid", j.account_uuid.as_ref().map(|v| json!(v)));
    put(&mut m, "account", j.account_name.as_ref().map(|v| json!(v)));
    put(&mut m, "domainid", j.domain_uuid.as_ref().map(|v| json!(v)));
    put(
        &mut m,
        "domainpath",
        j.domain_path.as_deref().map(|p| json!(display_path(p))),
    );
    put(&mut m, "userid", j.user_uuid.as_ref().map(|v| json!(v)));
    m.insert("cmd".into(), json!(job.cmd_class));
    m.insert("jobstatus".into(), json!(job.status));
    m.insert("jobprocstatus".into(), json!(0));
    m.insert("jobresultcode".into(), json!(job.result_code));
    if job.status != 0 {
        let result: Value = job
            .result
            .as_deref()
            .and_then(|r| serde_json::from_str(r).ok())
            .unwrap_or_else(|| json!({}));
        m.insert("jobresulttype".into(), json!("object"));
        m.insert("jobresult".into(), result);
    }
    if let (Some(t), Some(id)) = (&job.instance_type, &job.instance_uuid) {
        m.insert("jobinstancetype".into(), json!(t));
        m.insert("jobinstanceid".into(), json!(id));
    }
    m.insert("created".into(), json!(format_ms(job.created)));
    put(&mut m, "completed", job.completed.map(|c| json!(format_ms(c))));
    put(&mut m, "managementserverid", job.owner.as_ref().map(|v| json!(v)));
    m.insert("jobid".into(), json!(job.uuid));
    m
}
