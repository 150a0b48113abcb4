//! Sample inputs shared by the integration tests.

#![allow(dead_code)]

use std::collections::BTreeMap;

use ferrostack_configdrive::{
    ConfigDriveInput, ConfigDriveServices, ExposedDomain, NicInfo, NicIpv4, NicIpv6, PublicAddress,
};

pub const UUID: &str = "8f1c3a52-6c2e-4b1e-9d1a-0f5b8e6d2c11";
pub const KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl alice@laptop";
pub const USER_DATA: &[u8] = b"#cloud-config\nruncmd:\n - echo hi\n\xff\x00binary tail";

/// Every service on, two NICs (the second one IPv6 too), all optional metadata present.
pub fn full_input() -> ConfigDriveInput {
    let all = ConfigDriveServices {
        dhcp: true,
        dns: true,
        user_data: true,
    };
    ConfigDriveInput {
        vm_uuid: UUID.to_string(),
        hostname: "web-1".to_string(),
        zone_name: "edge-zone-1".to_string(),
        service_offering: "Small Instance".to_string(),
        guest_ip: Some("10.1.1.23".to_string()),
        public_address: PublicAddress::StaticNat("203.0.113.7".to_string()),
        user_data: Some(USER_DATA.to_vec()),
        user_data_details: BTreeMap::from([
            ("environment".to_string(), "production".to_string()),
            ("role".to_string(), "web".to_string()),
        ]),
        password: Some("s3cret-Pa55".to_string()),
        is_windows: false,
        public_keys: vec![KEY.to_string()],
        cloud_identifier: Some("a1b2c3".to_string()),
        hypervisor_hostname: Some("kvm-host-3".to_string()),
        domain: Some(ExposedDomain {
            name: "ROOT".to_string(),
            uuid: "d0m41n".to_string(),
        }),
        cloud_name: Some("ferrocloud".to_string()),
        nics: vec![
            NicInfo {
                uuid: "nic-0".to_string(),
                device_id: 0,
                mac: Some("02:00:4c:5a:00:01".to_string()),
                mtu: None,
                ipv4: Some(NicIpv4 {
                    address: "10.1.1.23".to_string(),
                    netmask: Some("255.255.255.0".to_string()),
                    gateway: Some("10.1.1.1".to_string()),
                }),
                ipv6: None,
                dns: vec!["10.1.1.1".to_string(), "8.8.8.8".to_string()],
                services: all,
            },
            NicInfo {
                uuid: "nic-1".to_string(),
                device_id: 1,
                mac: Some("02:00:4c:5a:00:02".to_string()),
                mtu: Some(9000),
                ipv4: Some(NicIpv4 {
                    address: "192.168.5.9".to_string(),
                    netmask: None,
                    gateway: None,
                }),
                ipv6: Some(NicIpv6 {
                    address: "fd00:5::9".to_string(),
                    cidr: "fd00:5::/64".to_string(),
                    gateway: Some("fd00:5::1".to_string()),
                }),
                // 8.8.8.8 repeats the first NIC's and is merged away.
                dns: vec!["8.8.8.8".to_string(), "2001:4860:4860::8888".to_string()],
                services: all,
            },
        ],
        timestamp: 1_700_000_000,
        ..Default::default()
    }
}

/// The smallest drive that still carries metadata: no user data, no password, no keys.
pub fn minimal_input() -> ConfigDriveInput {
    ConfigDriveInput {
        vm_uuid: UUID.to_string(),
        hostname: "vm-2".to_string(),
        zone_name: "z1".to_string(),
        service_offering: "Tiny".to_string(),
        guest_ip: Some("10.0.0.5".to_string()),
        nics: vec![NicInfo {
            uuid: "nic-0".to_string(),
            services: ConfigDriveServices {
                dhcp: false,
                dns: false,
                user_data: true,
            },
            ..Default::default()
        }],
        ..Default::default()
    }
}
