//! Templates (one item per template and zone) and the guest OS catalogue on the wire.

use ferrostack_app::model::display_path;
use ferrostack_app::model::{GuestOs, GuestOsCategory, Template, TemplateInZone, TemplateZone};
use ferrostack_app::template::{status_text, ExtractView};
use ferrostack_types::time::format_ms;
use serde_json::{json, Map, Value};

use crate::registry::Field;

pub const TEMPLATE_FIELDS: &[Field] = &[
    ("id", "string", "the template ID"),
    ("name", "string", "the template name"),
    ("displaytext", "string", "the template display text"),
    ("ispublic", "boolean", "true if this template is a public template, false otherwise"),
    ("isfeatured", "boolean", "true if this template is a featured template, false otherwise"),
    ("isextractable", "boolean", "true if the template is extractable, false otherwise"),
    ("isready", "boolean", "true if the template is ready to be deployed from, false otherwise."),
    ("status", "string", "the status of the template"),
    ("created", "date", "the date this template was created"),
    ("passwordenabled", "boolean", "true if the reset password feature is enabled, false otherwise"),
    ("sshkeyenabled", "boolean", "true if template is sshkey enabled, false otherwise"),
    ("format", "imageformat", "the format of the template."),
    ("hypervisor", "string", "the hypervisor on which the template runs"),
    ("crossZones", "boolean", "true if the template is managed across all Zones, false otherwise"),
    ("ostypeid", "string", "the ID of the OS type for this template."),
    ("ostypename", "string", "the name of the OS type for this template."),
    ("templatetype", "string", "the type of the template"),
    ("account", "string", "the account name to which the template belongs"),
    ("accountid", "string", "the account id to which the template belongs"),
    ("domain", "string", "the name of the domain to which the template belongs"),
    ("domainid", "string", "the ID of the domain to which the template belongs"),
    ("domainpath", "string", "path of the Domain the template belongs to"),
    ("zoneid", "string", "the ID of the zone for this template"),
    ("zonename", "string", "the name of the zone for this template"),
    ("size", "long", "the size of the template"),
    ("physicalsize", "long", "the physical size of the template"),
    ("checksum", "string", "checksum of the template"),
    ("bootable", "boolean", "true if the ISO is bootable, false otherwise"),
    ("directdownload", "boolean", "KVM Only: true if template is directly downloaded to Primary Storage bypassing Secondary Storage"),
    ("deployasis", "boolean", "VMware only: true if template is deployed without orchestrating disks and networks but \"as-is\" defined in the template."),
    ("requireshvm", "boolean", "true if template requires HVM enabled, false otherwise"),
    ("isdynamicallyscalable", "boolean", "true if template contains XS/VMWare tools inorder to support dynamic scaling of VM cpu/memory"),
    ("details", "map", "additional key/value details tied with template"),
    ("tags", "set", "the list of resource tags associated"),
    ("url", "string", "the URL which the template/iso is registered from"),
    ("bits", "int", "the processor bit size"),
    ("templatetag", "string", "the tag of this template"),
    ("arch", "string", "CPU Arch of the template"),
    ("hasannotations", "boolean", "whether this template has annotations"),
];

fn put(m: &mut Map<String, Value>, k: &str, v: &Option<String>) {
    if let Some(v) = v {
        m.insert(k.to_string(), json!(v));
    }
}

/// A template, in one zone when `z` is given.
pub fn template_fields(t: &Template, z: Option<&TemplateZone>, tags: Value) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(t.uuid));
    m.insert("name".into(), json!(t.name));
    m.insert("displaytext".into(), json!(t.display_text));
    m.insert("ispublic".into(), json!(t.is_public == 1));
    m.insert("isfeatured".into(), json!(t.is_featured == 1));
    m.insert("isextractable".into(), json!(t.is_extractable == 1));
    m.insert("isready".into(), json!(z.is_some_and(TemplateZone::is_ready)));
    if let Some(z) = z {
        m.insert("status".into(), json!(status_text(z.tz_state, z.tz_download_pct)));
    }
    m.insert("created".into(), json!(format_ms(t.created)));
    m.insert("passwordenabled".into(), json!(t.password_enabled == 1));
    m.insert("sshkeyenabled".into(), json!(t.sshkey_enabled == 1));
    m.insert("format".into(), json!(t.format));
    m.insert("hypervisor".into(), json!(t.hypervisor));
    m.insert("crossZones".into(), json!(t.cross_zones == 1));
    m.insert("ostypeid".into(), json!(t.os_uuid));
    m.insert("ostypename".into(), json!(t.os_name));
    m.insert("templatetype".into(), json!(t.template_type));
    put(&mut m, "account", &t.account_name);
    put(&mut m, "accountid", &t.account_uuid);
    put(&mut m, "domain", &t.domain_name);
    put(&mut m, "domainid", &t.domain_uuid);
    if let Some(p) = &t.domain_path {
        m.insert("domainpath".into(), json!(display_path(p)));
    }
    if let Some(z) = z {
        m.insert("zoneid".into(), json!(z.zone_uuid));
        m.insert("zonename".into(), json!(z.zone_name));
        if z.is_ready() {
            m.insert("size".into(), json!(t.size));
        }
        if z.tz_state == ferrostack_types::state::TemplateZoneState::Ready {
            m.insert("physicalsize".into(), json!(t.size));
        }
    }
    put(&mut m, "checksum", &t.checksum);
    m.insert("bootable".into(), json!(t.bootable == 1));
    m.insert("directdownload".into(), json!(t.direct_download == 1));
    m.insert("deployasis".into(), json!(false));
    m.insert("requireshvm".into(), json!(t.requires_hvm == 1));
    m.insert("isdynamicallyscalable".into(), json!(t.dynamically_scalable == 1));
    if let Ok(Value::Object(d)) = serde_json::from_str::<Value>(&t.details) {
        if !d.is_empty() {
            m.insert("details".into(), Value::Object(d));
        }
    }
    m.insert("tags".into(), tags);
    // A template made from a snapshot or volume has no URL (CloudStack omits it too).
    if !t.url.is_empty() {
        m.insert("url".into(), json!(t.url));
    }
    m.insert("bits".into(), json!(t.bits));
    put(&mut m, "templatetag", &t.template_tag);
    m.insert("arch".into(), json!("x86_64"));
    m.insert("hasannotations".into(), json!(false));
    Value::Object(m)
}

pub fn template(t: &TemplateInZone, tags: Value) -> Value {
    template_fields(&t.template, Some(&t.zone), tags)
}

pub const OS_TYPE_FIELDS: &[Field] = &[
    ("id", "string", "the ID of the OS type"),
    ("name", "string", "the name of the OS type"),
    ("description", "string", "the name/description of the OS type"),
    ("oscategoryid", "string", "the ID of the OS category"),
    ("oscategoryname", "string", "the name of the OS category"),
    ("isuserdefined", "boolean", "is the guest OS user defined"),
    ("fordisplay", "boolean", "is the guest OS visible for the users"),
];

pub fn os_type(o: &GuestOs) -> Value {
    json!({
        "id": o.uuid,
        "name": o.name,
        "description": o.display_name,
        "oscategoryid": o.category_uuid,
        "oscategoryname": o.category_name,
        "isuserdefined": o.is_user_defined == 1,
        "fordisplay": o.for_display == 1,
    })
}

pub const OS_CATEGORY_FIELDS: &[Field] = &[
    ("id", "string", "the ID of the OS category"),
    ("name", "string", "the name of the OS category"),
    ("isfeatured", "boolean", "Whether the OS category is featured"),
    ("created", "date", "Date when the OS category was created."),
];

pub fn os_category(c: &GuestOsCategory) -> Value {
    json!({
        "id": c.uuid,
        "name": c.name,
        "isfeatured": c.is_featured == 1,
        "created": format_ms(c.created),
    })
}

/// CloudStack's ExtractResponse (`extractTemplate`, `extractIso`).
pub const EXTRACT_FIELDS: &[Field] = &[
    ("id", "string", "the id of extracted object"),
    ("name", "string", "the name of the extracted object"),
    ("extractId", "string", "the upload id of extracted object"),
    ("accountid", "string", "the account id to which the extracted object belongs"),
    ("state", "string", "the state of the extracted object"),
    ("url", "string", "if mode = upload then url of the uploaded entity. if mode = download the url from which the entity can be downloaded"),
    ("zoneid", "string", "zone ID the object was extracted from"),
    ("zonename", "string", "zone name the object was extracted from"),
    ("extractMode", "string", "the mode of extraction - upload or download"),
    ("created", "date", "the time and date the object was created"),
];

/// An extraction's answer. Like CloudStack's for HTTP_DOWNLOAD it carries no `status`,
/// `uploadpercentage`, `storagetype` or `resultstring`.
pub fn extract(x: &ExtractView) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(x.template_uuid));
    m.insert("name".into(), json!(x.template_name));
    m.insert("extractId".into(), json!(x.extract_uuid));
    put(&mut m, "accountid", &x.account_uuid);
    m.insert("state".into(), json!("DOWNLOAD_URL_CREATED"));
    m.insert("url".into(), json!(x.url));
    m.insert("zoneid".into(), json!(x.zone_uuid));
    m.insert("zonename".into(), json!(x.zone_name));
    m.insert("extractMode".into(), json!(x.mode));
    m.insert("created".into(), json!(format_ms(x.created)));
    Value::Object(m)
}
