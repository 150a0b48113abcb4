//! The logical file tree: which files exist, and what they hold.

mod common;

use std::collections::BTreeMap;

use common::{full_input, minimal_input, KEY, USER_DATA, UUID};
use ferrostack_configdrive::{
    build_iso, config_drive_path, files, iso_file_name, layout, validate_metadata_key, ConfigDriveError,
    ConfigDriveServices, NicInfo, NicIpv4, NicIpv6, PublicAddress,
};
use serde_json::{json, Value};

fn tree(input: &ferrostack_configdrive::ConfigDriveInput) -> BTreeMap<String, Vec<u8>> {
    files(input).expect("valid input").into_iter().collect()
}

fn text(tree: &BTreeMap<String, Vec<u8>>, path: &str) -> String {
    String::from_utf8(tree.get(path).unwrap_or_else(|| panic!("{path} missing")).clone()).unwrap()
}

fn json_file(tree: &BTreeMap<String, Vec<u8>>, path: &str) -> Value {
    serde_json::from_str(&text(tree, path)).unwrap_or_else(|e| panic!("{path} is not JSON: {e}"))
}

#[test]
fn full_input_writes_every_file_and_directory() {
    let layout = layout(&full_input()).unwrap();
    let paths: Vec<&str> = layout.files.keys().map(String::as_str).collect();
    let metadata = |name: &str| format!("cloudstack/metadata/{name}.txt");
    let mut expected: Vec<String> = [
        "availability-zone",
        "cloud-domain",
        "cloud-domain-id",
        "cloud-identifier",
        "cloud-name",
        "environment",
        "hypervisor-host-name",
        "instance-id",
        "local-hostname",
        "local-ipv4",
        "public-hostname",
        "public-ipv4",
        "public-keys",
        "role",
        "service-offering",
        "vm-id",
    ]
    .iter()
    .map(|n| metadata(n))
    .collect();
    expected.extend(
        [
            "cloudstack/password/vm_password.txt",
            "cloudstack/userdata/user_data.txt",
            "openstack/latest/meta_data.json",
            "openstack/latest/network_data.json",
            "openstack/latest/user_data",
            "openstack/latest/vendor_data.json",
        ]
        .map(String::from),
    );
    expected.sort();
    assert_eq!(paths, expected);
    let dirs: Vec<&str> = layout.directories.iter().map(String::as_str).collect();
    assert_eq!(
        dirs,
        [
            "cloudstack",
            "cloudstack/metadata",
            "cloudstack/password",
            "cloudstack/userdata",
            "openstack",
            "openstack/latest"
        ]
    );
}

#[test]
fn cloudstack_metadata_files_hold_plain_values() {
    let t = tree(&full_input());
    let m = |name: &str| text(&t, &format!("cloudstack/metadata/{name}.txt"));
    assert_eq!(m("service-offering"), "Small Instance");
    assert_eq!(m("availability-zone"), "edge-zone-1");
    assert_eq!(m("local-hostname"), "web-1");
    assert_eq!(m("local-ipv4"), "10.1.1.23");
    assert_eq!(m("public-ipv4"), "203.0.113.7");
    assert_eq!(m("public-hostname"), "203.0.113.7");
    assert_eq!(m("instance-id"), UUID);
    assert_eq!(m("vm-id"), UUID);
    assert_eq!(m("public-keys"), KEY);
    assert_eq!(m("cloud-identifier"), "CloudStack-{a1b2c3}");
    assert_eq!(m("hypervisor-host-name"), "kvm-host-3");
    assert_eq!(m("cloud-domain"), "ROOT");
    assert_eq!(m("cloud-domain-id"), "d0m41n");
    assert_eq!(m("cloud-name"), "ferrocloud");
    assert_eq!(m("environment"), "production");
    assert_eq!(m("role"), "web");
}

#[test]
fn vendor_data_is_an_empty_object() {
    assert_eq!(text(&tree(&full_input()), "openstack/latest/vendor_data.json"), "{}");
    assert_eq!(text(&tree(&minimal_input()), "openstack/latest/vendor_data.json"), "{}");
}

#[test]
fn meta_data_json_has_the_openstack_keys_only() {
    let md = json_file(&tree(&full_input()), "openstack/latest/meta_data.json");
    let obj = md.as_object().unwrap();
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    // Insertion order follows CloudStack's VM data order.
    assert_eq!(
        keys,
        [
            "availability_zone",
            "hostname",
            "environment",
            "role",
            "name",
            "uuid",
            "keys",
            "public_keys",
            "hypervisor-host-name",
            "cloud-domain",
            "cloud-domain-id",
            "cloud-name"
        ]
    );
    assert_eq!(md["availability_zone"], "edge-zone-1");
    assert_eq!(md["hostname"], "web-1");
    assert_eq!(md["uuid"], UUID);
    assert_eq!(md["name"], "203.0.113.7");
    assert_eq!(md["environment"], "production");
    assert_eq!(
        md["keys"],
        json!([{"type": "ssh", "data": KEY, "name": "alice@laptop"}])
    );
    assert_eq!(md["public_keys"], json!({"alice@laptop": KEY}));
    for absent in [
        "instance-id",
        "local-ipv4",
        "public-ipv4",
        "service-offering",
        "cloud-identifier",
        "password",
    ] {
        assert!(obj.get(absent).is_none(), "{absent} must only be under cloudstack/");
    }
}

#[test]
fn user_data_bytes_are_exact_in_both_places() {
    let t = tree(&full_input());
    assert_eq!(t["openstack/latest/user_data"], USER_DATA);
    assert_eq!(t["cloudstack/userdata/user_data.txt"], USER_DATA);
}

#[test]
fn password_file_and_windows_checksum() {
    let t = tree(&full_input());
    assert_eq!(text(&t, "cloudstack/password/vm_password.txt"), "s3cret-Pa55");
    assert!(!t.contains_key("cloudstack/password/vm-password-md5checksum.txt"));

    let mut windows = full_input();
    windows.is_windows = true;
    let t = tree(&windows);
    assert_eq!(
        text(&t, "cloudstack/password/vm-password-md5checksum.txt"),
        "cf22cf214e4a514990bc4237882136e2"
    );
    // BigInteger.toString(16) drops leading zeros: md5("pw21") = 067490e2…
    windows.password = Some("pw21".to_string());
    let t = tree(&windows);
    assert_eq!(
        text(&t, "cloudstack/password/vm-password-md5checksum.txt"),
        "67490e2d67398cb6a014115b08f8f3c"
    );
    assert_eq!(text(&t, "cloudstack/password/vm_password.txt"), "pw21");
}

#[test]
fn no_password_when_absent_empty_or_already_saved() {
    for password in [None, Some(""), Some("saved_password")] {
        let mut input = full_input();
        input.is_windows = true;
        input.password = password.map(String::from);
        let layout = layout(&input).unwrap();
        assert!(!layout.directories.contains("cloudstack/password"), "{password:?}");
        assert!(!layout.files.keys().any(|p| p.contains("password")), "{password:?}");
    }
}

#[test]
fn no_user_data_writes_no_user_data_files() {
    let layout = layout(&minimal_input()).unwrap();
    assert!(!layout.directories.contains("cloudstack/userdata"));
    assert!(!layout.files.contains_key("openstack/latest/user_data"));
    assert!(layout.files.contains_key("openstack/latest/meta_data.json"));
    let paths: Vec<&str> = layout.files.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        [
            "cloudstack/metadata/availability-zone.txt",
            "cloudstack/metadata/instance-id.txt",
            "cloudstack/metadata/local-hostname.txt",
            "cloudstack/metadata/local-ipv4.txt",
            "cloudstack/metadata/public-ipv4.txt",
            "cloudstack/metadata/service-offering.txt",
            "cloudstack/metadata/vm-id.txt",
            "openstack/latest/meta_data.json",
            "openstack/latest/network_data.json",
            "openstack/latest/vendor_data.json",
        ]
    );
    let md = json_file(&layout.files, "openstack/latest/meta_data.json");
    assert_eq!(md, json!({"availability_zone": "z1", "hostname": "vm-2", "uuid": UUID}));
}

#[test]
fn empty_user_data_creates_only_the_directory() {
    let mut input = minimal_input();
    input.user_data = Some(Vec::new());
    let layout = layout(&input).unwrap();
    assert!(layout.directories.contains("cloudstack/userdata"));
    assert!(!layout.files.keys().any(|p| p.contains("user_data")));
}

#[test]
fn blank_values_skip_the_file_but_not_the_json() {
    let mut input = minimal_input();
    input.hostname = "  ".to_string();
    let t = tree(&input);
    assert!(!t.contains_key("cloudstack/metadata/local-hostname.txt"));
    assert_eq!(json_file(&t, "openstack/latest/meta_data.json")["hostname"], "  ");
}

#[test]
fn without_user_data_service_only_openstack_json_is_written() {
    let mut input = full_input();
    for nic in &mut input.nics {
        nic.services.user_data = false;
    }
    let t = tree(&input);
    let paths: Vec<&str> = t.keys().map(String::as_str).collect();
    assert_eq!(
        paths,
        [
            "openstack/latest/network_data.json",
            "openstack/latest/vendor_data.json"
        ]
    );

    input.nics.clear();
    let t = tree(&input);
    assert_eq!(text(&t, "openstack/latest/network_data.json"), "{}");
}

#[test]
fn network_data_merges_nics_and_dedups() {
    let nd = json_file(&tree(&full_input()), "openstack/latest/network_data.json");
    assert_eq!(
        nd["links"],
        json!([
            {"ethernet_mac_address": "02:00:4c:5a:00:01", "id": "eth0", "mtu": 1500, "type": "phy"},
            {"ethernet_mac_address": "02:00:4c:5a:00:02", "id": "eth1", "mtu": 9000, "type": "phy"},
        ])
    );
    let networks = nd["networks"].as_array().unwrap();
    assert_eq!(networks.len(), 3);
    assert_eq!(
        networks[0],
        json!({"id": "eth0", "ip_address": "10.1.1.23", "link": "eth0", "netmask": "255.255.255.0",
               "network_id": "nic-0", "type": "ipv4",
               "routes": [{"gateway": "10.1.1.1", "netmask": "0.0.0.0", "network": "0.0.0.0"}]})
    );
    assert_eq!(networks[1]["netmask"], Value::Null);
    assert_eq!(networks[1]["routes"][0]["gateway"], Value::Null);
    assert_eq!(
        networks[2],
        json!({"id": "eth1", "ip_address": "fd00:5::9", "link": "eth1", "netmask": "ffff:ffff:ffff:ffff::",
               "network_id": "nic-1", "type": "ipv6",
               "routes": [{"gateway": "fd00:5::1", "netmask": "0", "network": "::"}]})
    );
    assert_eq!(
        nd["services"],
        json!([
            {"address": "10.1.1.1", "type": "dns"},
            {"address": "8.8.8.8", "type": "dns"},
            {"address": "2001:4860:4860::8888", "type": "dns"},
        ])
    );
}

#[test]
fn network_data_is_compact_json_like_cloudstack() {
    let mut input = minimal_input();
    input.nics = vec![NicInfo {
        uuid: "n0".to_string(),
        device_id: 0,
        mac: Some("02:00:00:00:00:01".to_string()),
        ipv4: Some(NicIpv4 {
            address: "10.0.0.5".to_string(),
            netmask: Some("255.255.255.0".to_string()),
            gateway: Some("10.0.0.1".to_string()),
        }),
        dns: vec!["10.0.0.1".to_string()],
        services: ConfigDriveServices {
            dhcp: true,
            dns: true,
            user_data: true,
        },
        ..Default::default()
    }];
    assert_eq!(
        text(&tree(&input), "openstack/latest/network_data.json"),
        r#"{"links":[{"ethernet_mac_address":"02:00:00:00:00:01","id":"eth0","mtu":1500,"type":"phy"}],"networks":[{"id":"eth0","ip_address":"10.0.0.5","link":"eth0","netmask":"255.255.255.0","network_id":"n0","type":"ipv4","routes":[{"gateway":"10.0.0.1","netmask":"0.0.0.0","network":"0.0.0.0"}]}],"services":[{"address":"10.0.0.1","type":"dns"}]}"#
    );
}

#[test]
fn network_data_sections_follow_the_services() {
    let section_names = |dhcp, dns| {
        let mut input = full_input();
        for nic in &mut input.nics {
            nic.services.dhcp = dhcp;
            nic.services.dns = dns;
        }
        let nd = json_file(&tree(&input), "openstack/latest/network_data.json");
        nd.as_object().unwrap().keys().cloned().collect::<Vec<_>>()
    };
    assert_eq!(section_names(true, true), ["links", "networks", "services"]);
    assert_eq!(section_names(true, false), ["links", "networks"]);
    assert_eq!(section_names(false, true), ["services"]);
    assert!(section_names(false, false).is_empty());
}

#[test]
fn public_address_rules() {
    let md_and_files = |public_address| {
        let mut input = minimal_input();
        input.public_address = public_address;
        let t = tree(&input);
        let md = json_file(&t, "openstack/latest/meta_data.json");
        let ipv4 = t
            .get("cloudstack/metadata/public-ipv4.txt")
            .map(|b| String::from_utf8(b.clone()).unwrap());
        let host = t
            .get("cloudstack/metadata/public-hostname.txt")
            .map(|b| String::from_utf8(b.clone()).unwrap());
        (ipv4, host, md.get("name").cloned())
    };
    let s = |v: &str| Some(v.to_string());
    assert_eq!(
        md_and_files(PublicAddress::BasicZone),
        (s("10.0.0.5"), s("vm-2"), Some(json!("vm-2")))
    );
    assert_eq!(md_and_files(PublicAddress::NotAssociated), (s("10.0.0.5"), None, None));
    assert_eq!(
        md_and_files(PublicAddress::StaticNat("198.51.100.4".to_string())),
        (s("198.51.100.4"), s("198.51.100.4"), Some(json!("198.51.100.4")))
    );
}

#[test]
fn several_keys_are_named_by_comment_or_key() {
    let mut input = minimal_input();
    input.public_keys = vec![
        "ssh-rsa AAAA1 bob@x".to_string(),
        "ssh-rsa AAAA2".to_string(),
        "ssh-rsa AAAA3 bob@x\n".to_string(),
    ];
    let t = tree(&input);
    assert_eq!(
        text(&t, "cloudstack/metadata/public-keys.txt"),
        "ssh-rsa AAAA1 bob@x\nssh-rsa AAAA2\nssh-rsa AAAA3 bob@x"
    );
    let md = json_file(&t, "openstack/latest/meta_data.json");
    assert_eq!(
        md["public_keys"],
        json!({"bob@x": "ssh-rsa AAAA1 bob@x", "key": "ssh-rsa AAAA2", "bob@x-2": "ssh-rsa AAAA3 bob@x"})
    );
    assert_eq!(
        md["keys"][1],
        json!({"type": "ssh", "data": "ssh-rsa AAAA2", "name": "key"})
    );
}

#[test]
fn invalid_inputs_are_clear_errors() {
    let mut input = minimal_input();
    input.vm_uuid = String::new();
    assert_eq!(files(&input).unwrap_err(), ConfigDriveError::MissingVmUuid);

    for key in [
        "",
        "a/b",
        "..x",
        "has space",
        "hostname",
        "instance-id",
        "x:y",
        &"k".repeat(57),
    ] {
        assert!(validate_metadata_key(key).is_err(), "{key:?} accepted");
        let mut input = minimal_input();
        input.user_data_details.insert(key.to_string(), "v".to_string());
        assert!(
            matches!(files(&input), Err(ConfigDriveError::InvalidMetadataKey { .. })),
            "{key:?}"
        );
    }
    assert!(validate_metadata_key("app_tier-2.x").is_ok());

    let mut input = minimal_input();
    input.nics[0].services.dhcp = true;
    input.nics[0].ipv6 = Some(NicIpv6 {
        address: "fd00::5".to_string(),
        cidr: "fd00::".to_string(),
        gateway: None,
    });
    assert!(matches!(files(&input), Err(ConfigDriveError::InvalidIpv6Cidr { .. })));

    for label in ["", "a-label-that-is-far-too-long", "tab\there"] {
        let mut input = minimal_input();
        input.label = label.to_string();
        assert!(
            matches!(build_iso(&input), Err(ConfigDriveError::InvalidLabel { .. })),
            "{label:?}"
        );
    }
}

#[test]
fn oversized_drive_is_refused() {
    let mut input = minimal_input();
    input.user_data = Some(vec![b'x'; 33 * 1024 * 1024]);
    // user_data and user_data.txt share one extent, so 33 MiB fits…
    assert!(build_iso(&input).is_ok());
    // …but two different 33 MiB payloads do not.
    input
        .user_data_details
        .insert("blob".to_string(), "y".repeat(33 * 1024 * 1024));
    assert!(matches!(build_iso(&input), Err(ConfigDriveError::TooLarge { .. })));
}

#[test]
fn debug_output_redacts_secrets() {
    let shown = format!("{:?}", full_input());
    assert!(!shown.contains("s3cret"), "{shown}");
    assert!(!shown.contains("cloud-config"), "{shown}");
    assert!(shown.contains(UUID));
}

#[test]
fn iso_names_and_paths() {
    assert_eq!(iso_file_name("i-2-10-VM"), "i-2-10-VM.iso");
    assert_eq!(config_drive_path("i-2-10-VM"), "configdrive/i-2-10-VM.iso");
}

#[test]
fn build_iso_is_deterministic_and_dated_by_input() {
    let a = build_iso(&full_input()).unwrap();
    assert_eq!(a, build_iso(&full_input()).unwrap());
    assert_eq!(a.len() % 2048, 0);
    assert_eq!(&a[16 * 2048..16 * 2048 + 6], b"\x01CD001");
    assert_eq!(&a[16 * 2048 + 40..16 * 2048 + 48], b"config-2");
    assert_eq!(&a[17 * 2048..17 * 2048 + 6], b"\x02CD001");
    assert_eq!(&a[18 * 2048..18 * 2048 + 6], b"\xffCD001");
    let mut later = full_input();
    later.timestamp += 1;
    assert_ne!(a, build_iso(&later).unwrap());
}
