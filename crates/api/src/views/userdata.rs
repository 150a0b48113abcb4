//! User data objects, SSH key pairs and a template's user data link on the wire.

use std::sync::LazyLock;

use ferrostack_app::model::display_path;
use ferrostack_app::model::SshKeyPair;
use ferrostack_app::model::UserData;
use ferrostack_app::userdata::{Policy, TemplateLinkView};
use serde_json::{json, Map, Value};

use crate::registry::Field;

pub const USERDATA_FIELDS: &[Field] = &[
    ("id", "string", "ID of the user data"),
    ("name", "string", "Name of the user data"),
    ("userdata", "string", "base64 encoded user data content"),
    (
        "params",
        "string",
        "list of parameters which contains the list of keys or string parameters that are needed to be passed for \
         any variables declared in the user data",
    ),
    ("account", "string", "the owner of the user data"),
    ("accountid", "string", "the owner id of the user data"),
    ("domain", "string", "the domain name of the user data owner"),
    ("domainid", "string", "the domain id of the user data owner"),
    (
        "domainpath",
        "string",
        "path of the domain to which the user data owner belongs",
    ),
    ("hasannotations", "boolean", "whether the user data has annotations"),
    (
        "tags",
        "set",
        "the list of resource tags associated (a ferrostack addition)",
    ),
];

/// A user data object with its `tags` (ferrostack tags user data; CloudStack does not).
pub fn userdata(u: &UserData, tags: Value) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(u.uuid));
    m.insert("name".into(), json!(u.name));
    m.insert("userdata".into(), json!(u.user_data));
    if let Some(p) = &u.params {
        m.insert("params".into(), json!(p));
    }
    m.insert("account".into(), json!(u.account_name));
    m.insert("accountid".into(), json!(u.account_uuid));
    m.insert("domain".into(), json!(u.domain_name));
    m.insert("domainid".into(), json!(u.domain_uuid));
    m.insert("domainpath".into(), json!(display_path(&u.domain_path)));
    m.insert("hasannotations".into(), json!(false));
    m.insert("tags".into(), tags);
    Value::Object(m)
}

pub const SSHKEYPAIR_FIELDS: &[Field] = &[
    ("id", "string", "ID of the ssh keypair"),
    ("name", "string", "Name of the keypair"),
    ("fingerprint", "string", "Fingerprint of the public key"),
    ("account", "string", "the owner of the keypair"),
    ("domainid", "string", "the domain id of the keypair owner"),
    ("domain", "string", "the domain name of the keypair owner"),
    ("hasannotations", "boolean", "whether the keypair has annotations"),
];

/// `createSSHKeyPair` answers the pair with its private key (only then).
pub const CREATE_SSHKEYPAIR_FIELDS: &[Field] = &[
    ("id", "string", "ID of the ssh keypair"),
    ("name", "string", "Name of the keypair"),
    ("fingerprint", "string", "Fingerprint of the public key"),
    ("account", "string", "the owner of the keypair"),
    ("domainid", "string", "the domain id of the keypair owner"),
    ("domain", "string", "the domain name of the keypair owner"),
    ("hasannotations", "boolean", "whether the keypair has annotations"),
    ("privatekey", "string", "Private key"),
];

/// A key pair as CloudStack's `SSHKeyPairResponse` answers it: no `tags` (ferrostack tags key
/// pairs, but their tags are read with `listTags resourcetype=SSHKeyPair`), never the private
/// key (see [`created_sshkeypair`]).
pub fn sshkeypair(k: &SshKeyPair) -> Value {
    json!({
        "id": k.uuid,
        "name": k.name,
        "fingerprint": k.fingerprint,
        "account": k.account_name,
        "domainid": k.domain_uuid,
        "domain": k.domain_name,
        "hasannotations": false,
    })
}

/// The answer of `createSSHKeyPair`: the pair and, this once, its private key.
pub fn created_sshkeypair(k: &SshKeyPair, private_key: &str) -> Value {
    let mut v = sshkeypair(k);
    if let Value::Object(m) = &mut v {
        m.insert("privatekey".into(), json!(private_key));
    }
    v
}

/// The user data fields of a template answer.
pub const TEMPLATE_USERDATA_FIELDS: &[Field] = &[
    ("userdataid", "string", "the id of userdata linked to this template"),
    ("userdataname", "string", "the name of userdata linked to this template"),
    (
        "userdatapolicy",
        "string",
        "the userdata override policy with the userdata provided while deploying VM",
    ),
    (
        "userdataparams",
        "string",
        "list of parameters which contains the list of keys or string parameters that are needed to be passed for \
         any variables declared in userdata",
    ),
];

/// Every template field plus the user data link fields (`linkUserDataToTemplate`).
pub static LINKED_TEMPLATE_FIELDS: LazyLock<Vec<Field>> = LazyLock::new(|| {
    let mut v = super::template::TEMPLATE_FIELDS.to_vec();
    v.extend_from_slice(TEMPLATE_USERDATA_FIELDS);
    v
});

/// Add the user data link fields to a template object (for template answers).
pub fn add_template_userdata(template: &mut Value, u: &UserData, policy: &str) {
    if let Value::Object(m) = template {
        m.insert("userdataid".into(), json!(u.uuid));
        m.insert("userdataname".into(), json!(u.name));
        m.insert("userdatapolicy".into(), json!(policy));
        if let Some(p) = &u.params {
            m.insert("userdataparams".into(), json!(p));
        }
    }
}

/// The answer of `linkUserDataToTemplate`: the template (zone-independent fields) with its link.
pub fn linked_template(v: &TemplateLinkView, tags: Value) -> Value {
    let mut t = super::template::template_fields(&v.template, None, tags);
    if let Some(u) = &v.userdata {
        add_template_userdata(&mut t, u, v.policy.unwrap_or(Policy::AllowOverride).as_str());
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    fn declared(fields: &[Field], v: &Value) {
        for k in v.as_object().unwrap().keys() {
            assert!(fields.iter().any(|f| f.0 == k), "field {k} is not declared");
        }
    }

    #[test]
    fn views_emit_only_declared_fields() {
        let u = UserData {
            id: 1,
            uuid: "u".into(),
            name: "n".into(),
            account_id: 2,
            domain_id: 1,
            user_data: "aGk=".into(),
            params: Some("a,b".into()),
            created: 0,
            account_uuid: "a".into(),
            account_name: "acc".into(),
            domain_uuid: "d".into(),
            domain_name: "ROOT".into(),
            domain_path: "/".into(),
        };
        declared(USERDATA_FIELDS, &userdata(&u, json!([])));
        let k = SshKeyPair {
            id: 1,
            uuid: "k".into(),
            name: "n".into(),
            account_id: 2,
            domain_id: 1,
            public_key: "ssh-ed25519 AAAA".into(),
            fingerprint: "00:11".into(),
            created: 0,
            account_uuid: "a".into(),
            account_name: "acc".into(),
            domain_uuid: "d".into(),
            domain_name: "ROOT".into(),
            domain_path: "/".into(),
        };
        let listed = sshkeypair(&k);
        declared(SSHKEYPAIR_FIELDS, &listed);
        assert!(listed.get("privatekey").is_none());
        let created = created_sshkeypair(&k, "PEM");
        declared(CREATE_SSHKEYPAIR_FIELDS, &created);
        assert_eq!(created["privatekey"], "PEM");
        let mut t = json!({"id": "t"});
        add_template_userdata(&mut t, &u, "APPEND");
        declared(&LINKED_TEMPLATE_FIELDS, &t);
        assert_eq!(t["userdataparams"], "a,b");
    }
}
