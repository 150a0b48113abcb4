//! Resource tags and resource details on the wire: `listTags` items, the `tags` array of every
//! taggable resource (CloudStack renders the same full tag there), `listResourceDetails`
//! items and a VM's `details` map.

use ferrostack_app::model::{display_path, Detail, Tag};
use ferrostack_app::tag::{DetailPage, TagPage};
use serde_json::{json, Map, Value};

use crate::registry::Field;

pub const TAG_FIELDS: &[Field] = &[
    ("key", "string", "tag key name"),
    ("value", "string", "tag value"),
    ("resourcetype", "string", "resource type"),
    ("resourceid", "string", "id of the resource"),
    ("account", "string", "the account associated with the tag"),
    ("domainid", "string", "the ID of the domain associated with the tag"),
    ("domain", "string", "the domain associated with the tag"),
    ("domainpath", "string", "path of the Domain associated with the tag"),
    ("customer", "string", "customer associated with the tag"),
];

/// One tag (`ResourceTagResponse`; null fields omitted as Gson does).
pub fn tag(t: &Tag) -> Value {
    let mut m = Map::new();
    m.insert("key".into(), json!(t.tag_key));
    m.insert("value".into(), json!(t.tag_value));
    m.insert("resourcetype".into(), json!(t.resource_type));
    m.insert("resourceid".into(), json!(t.resource_uuid));
    for (k, v) in [
        ("account", &t.account_name),
        ("domainid", &t.domain_uuid),
        ("domain", &t.domain_name),
    ] {
        if let Some(v) = v {
            m.insert(k.into(), json!(v));
        }
    }
    if let Some(p) = &t.domain_path {
        m.insert("domainpath".into(), json!(display_path(p)));
    }
    if let Some(c) = &t.customer {
        m.insert("customer".into(), json!(c));
    }
    Value::Object(m)
}

/// The `tags` array of resource `id` of a page (`[]` when it has none).
pub fn tags_of(page: &TagPage, id: i64) -> Value {
    Value::Array(page.get(&id).map(|ts| ts.iter().map(tag).collect()).unwrap_or_default())
}

pub const DETAIL_FIELDS: &[Field] = &[
    ("resourceid", "string", "ID of the resource"),
    ("resourcetype", "string", "type of the resource"),
    ("key", "string", "key of the resource detail"),
    ("value", "string", "value of the resource detail"),
    ("fordisplay", "boolean", "if detail is returned to the regular user"),
];

/// One `listResourceDetails` item (`ResourceDetailResponse`).
pub fn detail(d: &Detail) -> Value {
    json!({
        "resourceid": d.resource_uuid,
        "resourcetype": d.resource_type,
        "key": d.key,
        "value": d.value,
        "fordisplay": d.display,
    })
}

/// The `details` map of resource `id` of a page (`None` when it has none).
pub fn details_of(page: &DetailPage, id: i64) -> Option<Value> {
    let ds = page.get(&id).filter(|ds| !ds.is_empty())?;
    let m: Map<String, Value> = ds.iter().map(|d| (d.key.clone(), json!(d.value))).collect();
    Some(Value::Object(m))
}

#[cfg(test)]
mod tests {
    use ferrostack_app::tag::ResourceType;

    use super::*;

    #[test]
    fn a_tag_renders_as_cloudstack_does() {
        let t = Tag {
            id: 1,
            uuid: "t".into(),
            resource_type: ResourceType::UserVm,
            resource_id: 7,
            resource_uuid: "vm-uuid".into(),
            tag_key: "env".into(),
            tag_value: "prod".into(),
            customer: None,
            account_id: 2,
            domain_id: 1,
            account_name: Some("alice".into()),
            domain_uuid: Some("d".into()),
            domain_name: Some("ROOT".into()),
            domain_path: Some("/".into()),
        };
        let v = tag(&t);
        assert_eq!(
            v,
            json!({"key": "env", "value": "prod", "resourcetype": "UserVm", "resourceid": "vm-uuid",
                   "account": "alice", "domainid": "d", "domain": "ROOT", "domainpath": "ROOT"})
        );
        for k in v.as_object().unwrap().keys() {
            assert!(TAG_FIELDS.iter().any(|f| f.0 == k), "{k} is declared");
        }
        let mut page = TagPage::new();
        page.insert(7, vec![t]);
        assert_eq!(tags_of(&page, 7).as_array().unwrap().len(), 1);
        assert_eq!(tags_of(&page, 8), json!([]));
    }
}
