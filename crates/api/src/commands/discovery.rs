use ferrostack_types::Error;
use serde_json::{json, Map, Value};

use crate::args::Args;
use crate::registry::{Access, Command, PType, Param, Shape, JOB_FIELDS};
use crate::reply::{Reply, VERSION};
use crate::Ctx;

pub fn commands() -> Vec<Command> {
    vec![
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
            handler: |c, a| Box::pin(capabilities(c, a)),
        },
    ]
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
    let params: Vec<Value> = c
        .params
        .iter()
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
