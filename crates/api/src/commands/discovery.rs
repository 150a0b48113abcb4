use ferrostack_types::Error;
use serde_json::{json, Map, Value};

use crate::args::Args;
use crate::registry::{Access, Command, PType, Param, Shape, Support, JOB_FIELDS};
use crate::reply::{Reply, VERSION};
use crate::Ctx;

pub fn commands() -> Vec<Command> {
    vec![
        // login and logout are answered by the HTTP layer before authentication (they carry
        // no signature); they are declared here so that listApis advertises them.
        Command {
            name: "login",
            description: "Logs a user into the CloudStack. A successful login attempt will generate a JSESSIONID cookie value that can be passed in subsequent Query command calls until the \"logout\" command has been issued or the session has expired.",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![
                Param::new("username", PType::String, "Username").required(),
                Param::new("password", PType::String, "Hashed password (Default is MD5). If you wish to use any other hashing algorithm, you would need to write a custom authentication adapter See Docs section.").required(),
                Param::new("domain", PType::String, "Path of the domain that the user belongs to. Example: domain=/com/cloud/internal. If no domain is passed in, the ROOT (/) domain is assumed."),
                Param::new("domainId", PType::Long, "The id of the domain that the user belongs to. If both domain and domainId are passed in, \"domainId\" parameter takes precedence."),
            ],
            shape: Shape::Flat("login"),
            response: &[
                ("username", "string", "Username"),
                ("userid", "string", "User ID"),
                ("domainid", "string", "Domain ID that the user belongs to"),
                ("timeout", "int", "the time period before the session has expired"),
                ("account", "string", "the account name the user belongs to"),
                ("firstname", "string", "first name of the user"),
                ("lastname", "string", "last name of the user"),
                ("type", "string", "the account type (admin, domain-admin, read-only-admin, user)"),
                ("timezone", "string", "user time zone"),
                ("registered", "string", "Is user registered"),
                ("sessionkey", "string", "Session key that can be passed in subsequent Query command calls"),
            ],
            job: None,
            handler: |_, _| Box::pin(async { Err(answered_by_http("login")) }),
        },
        Command {
            name: "logout",
            description: "Logs out the user",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![],
            shape: Shape::Flat("logout"),
            response: &[("description", "string", "Response description")],
            job: None,
            handler: |_, _| Box::pin(async { Err(answered_by_http("logout")) }),
        },
        Command {
            name: "listApis",
            description: "lists all available apis on the server, provided by the Api Discovery plugin",
            is_async: false,
            since: Some("4.1.0"),
            access: Access::All,
            params: vec![Param::new("name", PType::String, "API name")],
            shape: Shape::List("api"),
            response: &[
                ("name", "string", "the name of the api command"),
                ("description", "string", "description of the api"),
                ("isasync", "boolean", "true if api is asynchronous"),
                ("since", "string", "version of CloudStack the api was introduced in"),
                ("related", "string", "comma separated related apis"),
                ("params", "set", "the list params the api accepts"),
                ("response", "set", "api response fields"),
                ("type", "string", "response field type"),
            ],
            job: None,
            handler: |c, a| Box::pin(list_apis(c, a)),
        },
        Command {
            name: "listCapabilities",
            description: "Lists capabilities",
            is_async: false,
            since: None,
            access: Access::All,
            params: vec![],
            shape: Shape::Object("capability"),
            response: &[
                ("cloudstackversion", "string", "version of the cloud stack"),
                ("securitygroupsenabled", "boolean", "true if security groups support is enabled, false otherwise"),
                ("userpublictemplateenabled", "boolean", "true if user and domain admins can set templates to be shared, false otherwise"),
                ("supportELB", "string", "true if region supports elastic load balancer on basic zones"),
                ("projectinviterequired", "boolean", "If invitation confirmation is required when add account to project"),
                ("allowusercreateprojects", "boolean", "true if regular user is allowed to create projects"),
                ("customdiskofferingminsize", "long", "minimum size that can be specified when create disk from disk offering with custom size"),
                ("customdiskofferingmaxsize", "long", "maximum size that can be specified when create disk from disk offering with custom size"),
                ("kvmsnapshotenabled", "boolean", "true if snapshot is supported for KVM host, false otherwise"),
                ("regionsecondaryenabled", "boolean", "true if region wide secondary is enabled, false otherwise"),
                ("dynamicrolesenabled", "boolean", "true if dynamic role-based api checker is enabled, false otherwise"),
                ("kubernetesserviceenabled", "boolean", "true if Kubernetes Service plugin is enabled, false otherwise"),
                ("kubernetesclusterexperimentalfeaturesenabled", "boolean", "true if experimental features for Kubernetes cluster such as Docker private registry are enabled, false otherwise"),
                ("allowuserviewdestroyedvm", "boolean", "true if the user is allowed to view destroyed virtualmachines, false otherwise"),
                ("allowuserexpungerecovervm", "boolean", "true if the user can recover and expunge virtualmachines, false otherwise"),
                ("allowuserexpungerecovervolume", "boolean", "true if the user can recover and expunge volumes, false otherwise"),
                ("allowuserviewalldomainaccounts", "boolean", "true if users can see all accounts within the same domain, false otherwise"),
                ("allowuserforcestopvm", "boolean", "true if users are allowed to force stop a vm, false otherwise"),
                ("defaultuipagesize", "long", "default page size in the UI for various views, value set in the configurations"),
                ("dynamicscalingenabled", "boolean", "true if dynamically scaling for instances is enabled"),
            ],
            job: None,
            handler: |c, a| Box::pin(capabilities(c, a)),
        },
    ]
}

/// login/logout never reach dispatch: the HTTP layer answers them first.
fn answered_by_http(name: &str) -> Error {
    Error::unsupported(format!(
        "{name} is answered before dispatch; send it as an unsigned HTTP POST"
    ))
}

fn fields(list: &[(&str, &str, &str)]) -> Vec<Value> {
    list.iter()
        .map(|(n, t, d)| json!({"name": n, "description": d, "type": t}))
        .collect()
}

fn api_json(ctx: &Ctx, c: &Command) -> Value {
    let mut m = Map::new();
    m.insert("name".into(), json!(c.name));
    m.insert("description".into(), json!(c.description));
    m.insert("isasync".into(), json!(c.is_async));
    if let Some(r) = ctx.registry.related(c) {
        m.insert("related".into(), json!(r));
    }
    if let Some(s) = c.since {
        m.insert("since".into(), json!(s));
    }
    // A parameter no value of which works is not declared: listApis says only what works.
    let params: Vec<Value> = c
        .params
        .iter()
        .filter(|p| !matches!(p.support, Support::Refused(_)))
        .map(|p| {
            let mut pm = Map::new();
            pm.insert("name".into(), json!(p.name));
            pm.insert("description".into(), json!(p.description));
            pm.insert("type".into(), json!(p.ty.as_str()));
            pm.insert("length".into(), json!(p.length));
            pm.insert("required".into(), json!(p.required));
            if let Some(s) = p.since {
                pm.insert("since".into(), json!(s));
            }
            if let Some(r) = p.related {
                pm.insert("related".into(), json!(r));
            }
            Value::Object(pm)
        })
        .collect();
    m.insert("params".into(), Value::Array(params));
    let mut response = fields(c.response);
    if matches!(c.shape, Shape::List(_) | Shape::Object(_) | Shape::Job(Some(_))) {
        response.extend(fields(JOB_FIELDS));
    }
    m.insert("response".into(), Value::Array(response));
    Value::Object(m)
}

async fn list_apis(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let visible = c.registry.all().iter().filter(|cmd| cmd.access.allows(c.caller.role));
    let apis: Vec<Value> = match a.str("name") {
        Some(name) => {
            let found: Vec<Value> = visible
                .filter(|cmd| cmd.name == name)
                .map(|cmd| api_json(c, cmd))
                .collect();
            if found.is_empty() {
                return Err(Error::invalid(format!(
                    "Api Discovery plugin was unable to find an api by that name or process any apis: {name}; call listApis without name to see them all"
                )));
            }
            found
        }
        None => visible.map(|cmd| api_json(c, cmd)).collect(),
    };
    Ok(Reply::list("api", apis.len() as i64, apis))
}

async fn capabilities(_: &Ctx, _: Args) -> Result<Reply, Error> {
    Ok(Reply::object(
        "capability",
        json!({
            "cloudstackversion": VERSION,
            "securitygroupsenabled": false,
            "userpublictemplateenabled": true,
            "supportELB": "false",
            "projectinviterequired": false,
            "allowusercreateprojects": true,
            "customdiskofferingminsize": 1,
            "customdiskofferingmaxsize": 1024,
            "kvmsnapshotenabled": false,
            "regionsecondaryenabled": false,
            "dynamicrolesenabled": false,
            "kubernetesserviceenabled": false,
            "kubernetesclusterexperimentalfeaturesenabled": false,
            "allowuserviewdestroyedvm": false,
            "allowuserexpungerecovervm": false,
            "allowuserexpungerecovervolume": false,
            "allowuserviewalldomainaccounts": false,
            "allowuserforcestopvm": false,
            "defaultuipagesize": 20,
            "dynamicscalingenabled": true,
        }),
    ))
}
