//! The logical file tree of a config drive, following CloudStack's `NetworkModelImpl.generateVmData`
//! (the ordered `[dir, file, content]` entries) and `ConfigDriveBuilder` (how they are written
//! under `cloudstack/` and folded into `openstack/latest/*.json`).

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv6Addr;

use md5::{Digest, Md5};
use serde_json::{json, Map, Value};

use crate::{
    validate_metadata_key, ConfigDriveError, ConfigDriveInput, NicInfo, PublicAddress, DEFAULT_MTU,
    SAVED_PASSWORD_MARKER,
};

/// Directory of the OpenStack-format files.
const OPENSTACK_DIR: &str = "openstack/latest";
/// Directory of the CloudStack-format files.
const CLOUDSTACK_DIR: &str = "cloudstack";

/// The drive's tree: every directory (parents included, root excluded) and every file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Layout {
    /// Every directory path, e.g. `cloudstack`, `cloudstack/password`, `openstack/latest`.
    pub directories: BTreeSet<String>,
    /// Every file path with its contents.
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Layout {
    fn add_dir(&mut self, path: &str) {
        let mut prefix = String::new();
        for part in path.split('/') {
            if !prefix.is_empty() {
                prefix.push('/');
            }
            prefix.push_str(part);
            self.directories.insert(prefix.clone());
        }
    }

    fn add_file(&mut self, path: &str, contents: Vec<u8>) {
        if let Some((dir, _)) = path.rsplit_once('/') {
            self.add_dir(dir);
        }
        self.files.insert(path.to_string(), contents);
    }
}

/// One `[dir, file, content]` entry of CloudStack's VM data.
struct VmDataEntry {
    dir: &'static str,
    file: String,
    content: Content,
}

/// Entry contents: text, or the raw user data (decoded bytes).
enum Content {
    Text(Option<String>),
    UserData(Vec<u8>),
}

/// Build the file tree for `input`.
pub fn layout(input: &ConfigDriveInput) -> Result<Layout, ConfigDriveError> {
    if is_blank(&input.vm_uuid) {
        return Err(ConfigDriveError::MissingVmUuid);
    }
    for key in input.user_data_details.keys() {
        validate_metadata_key(key)?;
    }

    let mut tree = Layout::default();
    tree.add_file(&format!("{OPENSTACK_DIR}/vendor_data.json"), b"{}".to_vec());
    let network_data = network_data(&input.nics)?;
    tree.add_file(
        &format!("{OPENSTACK_DIR}/network_data.json"),
        to_json_bytes(&network_data),
    );

    if !input.nics.iter().any(|nic| nic.services.user_data) {
        return Ok(tree);
    }

    let mut meta_data = Map::new();
    for entry in vm_data(input) {
        let dir = format!("{CLOUDSTACK_DIR}/{}", entry.dir);
        tree.add_dir(&dir);
        let path = format!("{dir}/{}.txt", entry.file);
        match entry.content {
            Content::UserData(bytes) => {
                if !bytes.is_empty() {
                    // CloudStack hard-links openstack/latest/user_data to user_data.txt.
                    tree.add_file(&format!("{OPENSTACK_DIR}/user_data"), bytes.clone());
                    tree.add_file(&path, bytes);
                }
            }
            Content::Text(text) => {
                let text = text.unwrap_or_default();
                if !is_blank(&text) {
                    tree.add_file(&path, text.clone().into_bytes());
                }
                if entry.dir == "metadata" && !text.is_empty() {
                    add_openstack_metadata(&mut meta_data, &entry.file, &text, input);
                }
            }
        }
    }
    tree.add_file(
        &format!("{OPENSTACK_DIR}/meta_data.json"),
        to_json_bytes(&Value::Object(meta_data)),
    );
    Ok(tree)
}

/// CloudStack's VM data entries, in `generateVmData` order (later entries for the same file
/// overwrite earlier ones, as they do there).
fn vm_data(input: &ConfigDriveInput) -> Vec<VmDataEntry> {
    let meta = |file: &str, content: Option<String>| VmDataEntry {
        dir: "metadata",
        file: file.to_string(),
        content: Content::Text(content),
    };
    let mut entries = Vec::new();
    if let Some(user_data) = &input.user_data {
        entries.push(VmDataEntry {
            dir: "userdata",
            file: "user_data".to_string(),
            content: Content::UserData(user_data.clone()),
        });
    }
    entries.push(meta("service-offering", Some(input.service_offering.clone())));
    entries.push(meta("availability-zone", Some(input.zone_name.clone())));
    entries.push(meta("local-hostname", Some(input.hostname.clone())));
    entries.push(meta("local-ipv4", input.guest_ip.clone()));
    for (key, value) in &input.user_data_details {
        entries.push(meta(key, Some(value.clone())));
    }
    let (public_ipv4, public_hostname) = match &input.public_address {
        PublicAddress::BasicZone => (input.guest_ip.clone(), Some(input.hostname.clone())),
        PublicAddress::StaticNat(ip) => (Some(ip.clone()), Some(ip.clone())),
        PublicAddress::NotAssociated => (input.guest_ip.clone(), None),
    };
    entries.push(meta("public-ipv4", public_ipv4));
    entries.push(meta("public-hostname", public_hostname));
    entries.push(meta("instance-id", Some(input.vm_uuid.clone())));
    entries.push(meta("vm-id", Some(input.vm_uuid.clone())));
    let keys: Vec<&str> = input
        .public_keys
        .iter()
        .map(|k| k.trim())
        .filter(|k| !k.is_empty())
        .collect();
    entries.push(meta("public-keys", Some(keys.join("\n"))));
    let cloud_identifier = input.cloud_identifier.as_ref().map(|id| format!("CloudStack-{{{id}}}"));
    entries.push(meta("cloud-identifier", cloud_identifier));
    if let Some(password) = input
        .password
        .as_deref()
        .filter(|p| !p.is_empty() && *p != SAVED_PASSWORD_MARKER)
    {
        let password_entry = |file: &str, content: String| VmDataEntry {
            dir: "password",
            file: file.to_string(),
            content: Content::Text(Some(content)),
        };
        if input.is_windows {
            entries.push(password_entry("vm-password-md5checksum", md5_hex(password)));
        }
        entries.push(password_entry("vm_password", password.to_string()));
    }
    entries.push(meta("hypervisor-host-name", input.hypervisor_hostname.clone()));
    if let Some(domain) = &input.domain {
        entries.push(meta("cloud-domain", Some(domain.name.clone())));
        entries.push(meta("cloud-domain-id", Some(domain.uuid.clone())));
    }
    if let Some(name) = input.cloud_name.as_ref().filter(|n| !is_blank(n)) {
        entries.push(meta("cloud-name", Some(name.clone())));
    }
    entries
}

/// Fold one non-empty metadata entry into meta_data.json (`buildOpenStackMetaData` and
/// `buildCustomUserdataParamsMetaData`). Entries not named here (`instance-id`, `local-ipv4`,
/// `public-ipv4`, `service-offering`, `cloud-identifier`) live only under `cloudstack/`.
fn add_openstack_metadata(meta_data: &mut Map<String, Value>, file: &str, content: &str, input: &ConfigDriveInput) {
    let renamed = match file {
        "availability-zone" => Some("availability_zone"),
        "local-hostname" => Some("hostname"),
        "vm-id" => Some("uuid"),
        "public-hostname" => Some("name"),
        "cloud-domain" | "cloud-domain-id" | "cloud-name" | "hypervisor-host-name" => Some(file),
        _ => None,
    };
    if file == "public-keys" {
        let (keys, public_keys) = openstack_keys(content);
        meta_data.insert("keys".to_string(), Value::Array(keys));
        meta_data.insert("public_keys".to_string(), Value::Object(public_keys));
    } else if let Some(name) = renamed {
        meta_data.insert(name.to_string(), Value::String(content.to_string()));
    } else if input.user_data_details.contains_key(file) {
        meta_data.insert(file.to_string(), Value::String(content.to_string()));
    }
}

/// `keys: [{type: ssh, data, name}]` and `public_keys: {name: key}`, one entry per key. The
/// name is the key's comment (its third field), or `key`; repeated names get `-2`, `-3`….
fn openstack_keys(content: &str) -> (Vec<Value>, Map<String, Value>) {
    let mut keys = Vec::new();
    let mut public_keys = Map::new();
    for key in content.lines().map(str::trim).filter(|k| !k.is_empty()) {
        let base = key.split_whitespace().nth(2).unwrap_or("key");
        let mut name = base.to_string();
        let mut n = 2;
        while public_keys.contains_key(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        keys.push(json!({"type": "ssh", "data": key, "name": name}));
        public_keys.insert(name, Value::String(key.to_string()));
    }
    (keys, public_keys)
}

/// network_data.json: the NICs' `links`, `networks` and `services`, merged across NICs and
/// de-duplicated (`ConfigDriveBuilder.writeNetworkData`). `{}` when there is nothing.
fn network_data(nics: &[NicInfo]) -> Result<Value, ConfigDriveError> {
    let mut links = Vec::new();
    let mut networks = Vec::new();
    let mut services = Vec::new();
    for nic in nics {
        let eth = format!("eth{}", nic.device_id);
        if nic.services.dhcp {
            if let Some(mac) = nic.mac.as_ref().filter(|m| !is_blank(m)) {
                links.push(json!({
                    "ethernet_mac_address": mac,
                    "id": eth,
                    "mtu": nic.mtu.unwrap_or(DEFAULT_MTU),
                    "type": "phy",
                }));
            }
            if let Some(v4) = nic.ipv4.as_ref().filter(|v4| !is_blank(&v4.address)) {
                networks.push(json!({
                    "id": eth,
                    "ip_address": v4.address,
                    "link": eth,
                    "netmask": v4.netmask,
                    "network_id": nic.uuid,
                    "type": "ipv4",
                    "routes": [{"gateway": v4.gateway, "netmask": "0.0.0.0", "network": "0.0.0.0"}],
                }));
            }
            if let Some(v6) = nic.ipv6.as_ref().filter(|v6| !is_blank(&v6.address)) {
                let netmask = ipv6_netmask(&v6.cidr).ok_or_else(|| ConfigDriveError::InvalidIpv6Cidr {
                    nic: nic.uuid.clone(),
                    cidr: v6.cidr.clone(),
                })?;
                networks.push(json!({
                    "id": eth,
                    "ip_address": v6.address,
                    "link": eth,
                    "netmask": netmask,
                    "network_id": nic.uuid,
                    "type": "ipv6",
                    "routes": [{"gateway": v6.gateway, "netmask": "0", "network": "::"}],
                }));
            }
        }
        if nic.services.dns {
            for address in nic.dns.iter().filter(|a| !is_blank(a)) {
                services.push(json!({"address": address, "type": "dns"}));
            }
        }
    }
    let mut data = Map::new();
    for (name, entries, id_key) in [
        ("links", links, "id"),
        ("networks", networks, "id"),
        ("services", services, "address"),
    ] {
        let unique = dedup_by_key(entries, id_key);
        if !unique.is_empty() {
            data.insert(name.to_string(), Value::Array(unique));
        }
    }
    Ok(Value::Object(data))
}

/// Keep the first entry for each `<id_key>-<type>` pair.
fn dedup_by_key(entries: Vec<Value>, id_key: &str) -> Vec<Value> {
    let mut seen = BTreeSet::new();
    let field = |v: &Value, k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_string();
    entries
        .into_iter()
        .filter(|entry| seen.insert(format!("{}-{}", field(entry, id_key), field(entry, "type"))))
        .collect()
}

/// The netmask of an IPv6 CIDR in address form (`/64` → `ffff:ffff:ffff:ffff::`), as
/// CloudStack's IPv6 library prints it.
fn ipv6_netmask(cidr: &str) -> Option<String> {
    let (address, prefix) = cidr.trim().split_once('/')?;
    address.parse::<Ipv6Addr>().ok()?;
    let prefix: u32 = prefix.parse().ok()?;
    if prefix == 0 || prefix > 128 {
        return None;
    }
    let mask = u128::MAX << (128 - prefix);
    Some(Ipv6Addr::from(mask).to_string())
}

/// The password's MD5 as CloudStack writes it: lowercase hex of the digest read as a
/// positive number (`BigInteger.toString(16)`), so leading zeros are dropped.
fn md5_hex(password: &str) -> String {
    let digest = Md5::digest(password.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    let trimmed = hex.trim_start_matches('0');
    if trimmed.is_empty() {
        "0".to_string()
    } else {
        trimmed.to_string()
    }
}

/// Java's `StringUtils.isBlank`: empty or only whitespace.
fn is_blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

/// Compact JSON, as CloudStack's Gson `toString()` writes it.
fn to_json_bytes(value: &Value) -> Vec<u8> {
    value.to_string().into_bytes()
}
