//! Config drive images for guest VMs: VM metadata in, ISO 9660 image out.
//!
//! A config drive is a small read-only CD-ROM image attached to a VM. cloud-init's
//! `ConfigDrive` datasource (and cloudbase-init on Windows) finds it by its volume label
//! (`config-2`), mounts it and reads the instance's metadata, user data, SSH keys, password
//! and network configuration from it. This crate reproduces the layout CloudStack's
//! `ConfigDriveBuilder` writes (see `reference/cloudstack-domain.md` §6 and §7.2):
//!
//! ```text
//! openstack/latest/vendor_data.json     always, `{}`
//! openstack/latest/network_data.json    always; links/networks for NICs whose network has
//!                                       Dhcp by ConfigDrive, services for Dns; else `{}`
//! openstack/latest/meta_data.json       } only if some NIC's network has UserData
//! openstack/latest/user_data            } provided by ConfigDrive; user_data shares its
//! cloudstack/metadata/<name>.txt        } data with cloudstack/userdata/user_data.txt
//! cloudstack/userdata/user_data.txt     }   (a hard link in CloudStack)
//! cloudstack/password/vm_password.txt   }
//! cloudstack/password/vm-password-md5checksum.txt   (Windows only)
//! ```
//!
//! A `cloudstack/<dir>/` directory exists whenever an entry for it exists, even when the
//! entry's content is blank; the `.txt` file only when the content is non-blank.
//!
//! The ISO writer is part of this crate (module `iso`): a primary volume with Rock Ridge names
//! and POSIX modes, plus a Joliet supplementary volume with UCS-2 names — what
//! `genisoimage -J -r`, which CloudStack runs, produces. Output is byte-for-byte
//! deterministic for the same input; the only date in it is [`ConfigDriveInput::timestamp`].
//!
//! Everything here is pure: no files, no processes, no clock.
//!
//! ```
//! use ferrostack_configdrive::{build_iso, ConfigDriveInput, ConfigDriveServices, NicInfo};
//!
//! let input = ConfigDriveInput {
//!     vm_uuid: "8f1c3a52-6c2e-4b1e-9d1a-0f5b8e6d2c11".into(),
//!     hostname: "web-1".into(),
//!     zone_name: "zone-1".into(),
//!     user_data: Some(b"#cloud-config\n".to_vec()),
//!     nics: vec![NicInfo {
//!         uuid: "nic-0".into(),
//!         services: ConfigDriveServices { dhcp: false, dns: false, user_data: true },
//!         ..Default::default()
//!     }],
//!     ..Default::default()
//! };
//! let files = ferrostack_configdrive::files(&input)?;
//! assert!(files.iter().any(|(path, data)| path == "openstack/latest/user_data" && data == b"#cloud-config\n"));
//! let iso = build_iso(&input)?;
//! assert_eq!(&iso[16 * 2048 + 40..16 * 2048 + 48], b"config-2");
//! # Ok::<(), ferrostack_configdrive::ConfigDriveError>(())
//! ```

mod iso;
mod layout;

use std::collections::BTreeMap;
use std::fmt;

pub use layout::{layout, Layout};

/// The default volume label (`vm.configdrive.label`), the one cloud-init looks for.
pub const DEFAULT_LABEL: &str = "config-2";

/// CloudStack refuses config drives larger than this (64 MiB).
pub const MAX_ISO_BYTES: u64 = 64 * 1024 * 1024;

/// MTU written for a link whose NIC has none (CloudStack's `NetworkService.DEFAULT_MTU`).
pub const DEFAULT_MTU: u32 = 1500;

/// A password value that means "already delivered, do not write it again".
pub const SAVED_PASSWORD_MARKER: &str = "saved_password";

/// Longest user data detail key accepted as a metadata file name (before `.txt`).
pub const MAX_METADATA_KEY_LEN: usize = 56;

/// Why a config drive could not be built. Every variant is an input problem the caller can
/// name to the operator; none is an internal failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigDriveError {
    /// cloud-init requires a `uuid` in meta_data.json; the VM has none.
    #[error("the VM has no UUID; a config drive needs one as its instance id")]
    MissingVmUuid,
    /// The volume label is empty, too long or has characters an ISO label cannot hold.
    #[error(
        "config drive label {label:?} is invalid: use 1 to 16 printable ASCII characters (the default is config-2)"
    )]
    InvalidLabel { label: String },
    /// A user data detail key cannot be used as `cloudstack/metadata/<key>.txt`.
    #[error("user data detail {key:?} cannot be written to the config drive: {reason}; rename the variable")]
    InvalidMetadataKey { key: String, reason: &'static str },
    /// A NIC's IPv6 CIDR does not parse as `address/prefix`.
    #[error("NIC {nic} has an invalid IPv6 CIDR {cidr:?}; expected e.g. fd00:1::/64")]
    InvalidIpv6Cidr { nic: String, cidr: String },
    /// The image would exceed [`MAX_ISO_BYTES`].
    #[error("the config drive would be {size} bytes, over the 64 MiB limit; reduce the user data")]
    TooLarge { size: u64 },
}

/// Which services ConfigDrive provides on the network of one NIC (from that network's
/// service→provider map).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConfigDriveServices {
    /// Dhcp by ConfigDrive: the NIC's `links` and `networks` go into network_data.json.
    pub dhcp: bool,
    /// Dns by ConfigDrive: the NIC's DNS servers go into network_data.json `services`.
    pub dns: bool,
    /// UserData by ConfigDrive: metadata, user data and password are written at all.
    pub user_data: bool,
}

/// A NIC's IPv4 configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NicIpv4 {
    pub address: String,
    pub netmask: Option<String>,
    pub gateway: Option<String>,
}

/// A NIC's IPv6 configuration.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NicIpv6 {
    pub address: String,
    /// The network's CIDR, e.g. `fd00:1::/64`; its prefix becomes the netmask.
    pub cidr: String,
    pub gateway: Option<String>,
}

/// One NIC of the VM, as network_data.json needs it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NicInfo {
    /// The NIC's UUID (`network_id` in network_data.json, as CloudStack writes it).
    pub uuid: String,
    /// Device number; the link is named `eth<device_id>`.
    pub device_id: u32,
    pub mac: Option<String>,
    /// `None` means [`DEFAULT_MTU`].
    pub mtu: Option<u32>,
    pub ipv4: Option<NicIpv4>,
    pub ipv6: Option<NicIpv6>,
    /// DNS servers in CloudStack's order: IPv4 dns1, dns2, then IPv6 dns1, dns2.
    pub dns: Vec<String>,
    /// What ConfigDrive provides on this NIC's network.
    pub services: ConfigDriveServices,
}

/// Where `public-ipv4` and `public-hostname` come from (`NetworkModelImpl.generateVmData`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum PublicAddress {
    /// A Basic zone: the guest IP and the hostname double as the public ones.
    BasicZone,
    /// An Advanced zone with a static NAT IP associated with the VM: both are that IP.
    StaticNat(String),
    /// An Advanced zone without one: `public-ipv4` is the guest IP, no `public-hostname`.
    #[default]
    NotAssociated,
}

/// The VM's domain, written only when `AllowExposeDomainInMetadata` is set for it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExposedDomain {
    pub name: String,
    pub uuid: String,
}

/// Everything a config drive says about one VM.
///
/// `Default` gives the default label, epoch timestamp and empty values, so callers can write
/// `ConfigDriveInput { vm_uuid, hostname, ..Default::default() }`.
#[derive(Clone, PartialEq, Eq)]
pub struct ConfigDriveInput {
    /// The VM's UUID: `instance-id` and `vm-id` (`uuid` in meta_data.json). Required.
    pub vm_uuid: String,
    /// The guest hostname (`local-hostname`; `hostname` in meta_data.json).
    pub hostname: String,
    /// The zone's name (`availability-zone`).
    pub zone_name: String,
    /// The service offering's display text (`service-offering`).
    pub service_offering: String,
    /// The default NIC's IPv4 address (`local-ipv4`).
    pub guest_ip: Option<String>,
    /// How `public-ipv4` / `public-hostname` are derived.
    pub public_address: PublicAddress,
    /// The user data, base64-decoded. `Some(empty)` creates `cloudstack/userdata/` only.
    pub user_data: Option<Vec<u8>>,
    /// `userdatadetails`: values for the user data's declared variables. Each becomes
    /// `cloudstack/metadata/<key>.txt` and a top-level key of meta_data.json.
    pub user_data_details: BTreeMap<String, String>,
    /// The password to hand to the guest. Not written when empty or [`SAVED_PASSWORD_MARKER`].
    pub password: Option<String>,
    /// A Windows guest also gets `vm-password-md5checksum`.
    pub is_windows: bool,
    /// SSH public keys (`ssh-rsa AAAA… comment`), one per entry.
    pub public_keys: Vec<String>,
    /// The raw `cloud.identifier` setting; written as `CloudStack-{<id>}`.
    pub cloud_identifier: Option<String>,
    /// `hypervisor-host-name`, when the global settings expose it.
    pub hypervisor_hostname: Option<String>,
    /// `cloud-domain` / `cloud-domain-id`, when exposed for the VM's domain.
    pub domain: Option<ExposedDomain>,
    /// `cloud-name` (`MetadataCustomCloudName`).
    pub cloud_name: Option<String>,
    /// The VM's NICs, default NIC first.
    pub nics: Vec<NicInfo>,
    /// The volume label (`vm.configdrive.label`), normally [`DEFAULT_LABEL`].
    pub label: String,
    /// Seconds since the Unix epoch (UTC) stamped on the volume and every entry. Pass the
    /// time the drive is built for; a fixed value gives identical images.
    pub timestamp: u64,
}

impl Default for ConfigDriveInput {
    fn default() -> Self {
        ConfigDriveInput {
            vm_uuid: String::new(),
            hostname: String::new(),
            zone_name: String::new(),
            service_offering: String::new(),
            guest_ip: None,
            public_address: PublicAddress::default(),
            user_data: None,
            user_data_details: BTreeMap::new(),
            password: None,
            is_windows: false,
            public_keys: Vec::new(),
            cloud_identifier: None,
            hypervisor_hostname: None,
            domain: None,
            cloud_name: None,
            nics: Vec::new(),
            label: DEFAULT_LABEL.to_string(),
            timestamp: 0,
        }
    }
}

/// Secrets stay out of logs: the password and user data are shown redacted.
impl fmt::Debug for ConfigDriveInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConfigDriveInput")
            .field("vm_uuid", &self.vm_uuid)
            .field("hostname", &self.hostname)
            .field("zone_name", &self.zone_name)
            .field("service_offering", &self.service_offering)
            .field("guest_ip", &self.guest_ip)
            .field("public_address", &self.public_address)
            .field(
                "user_data",
                &self.user_data.as_ref().map(|d| format!("<{} bytes>", d.len())),
            )
            .field("user_data_details", &self.user_data_details.keys().collect::<Vec<_>>())
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("is_windows", &self.is_windows)
            .field("public_keys", &self.public_keys.len())
            .field("cloud_identifier", &self.cloud_identifier)
            .field("hypervisor_hostname", &self.hypervisor_hostname)
            .field("domain", &self.domain)
            .field("cloud_name", &self.cloud_name)
            .field("nics", &self.nics)
            .field("label", &self.label)
            .field("timestamp", &self.timestamp)
            .finish()
    }
}

/// The logical file tree of the drive: `(path, contents)` for every file, sorted by path.
/// Paths are relative, `/`-separated, without a leading slash. Directories that hold no
/// file are listed by [`layout`].
pub fn files(input: &ConfigDriveInput) -> Result<Vec<(String, Vec<u8>)>, ConfigDriveError> {
    Ok(layout(input)?.files.into_iter().collect())
}

/// Build the ISO 9660 image (Rock Ridge + Joliet, volume label [`ConfigDriveInput::label`]).
pub fn build_iso(input: &ConfigDriveInput) -> Result<Vec<u8>, ConfigDriveError> {
    validate_label(&input.label)?;
    let tree = layout(input)?;
    let image = iso::write_image(&input.label, input.timestamp, &tree.directories, &tree.files);
    let size = image.len() as u64;
    if size > MAX_ISO_BYTES {
        return Err(ConfigDriveError::TooLarge { size });
    }
    Ok(image)
}

/// The file name a host stores a VM's config drive under: `<instance name>.iso`.
pub fn iso_file_name(instance_name: &str) -> String {
    format!("{instance_name}.iso")
}

/// The drive's path relative to its store: `configdrive/<instance name>.iso`.
pub fn config_drive_path(instance_name: &str) -> String {
    format!("configdrive/{}", iso_file_name(instance_name))
}

/// Check a volume label: 1 to 16 printable ASCII characters (Joliet holds 16).
pub fn validate_label(label: &str) -> Result<(), ConfigDriveError> {
    let ok = !label.is_empty() && label.len() <= 16 && label.bytes().all(|b| b.is_ascii_graphic() || b == b' ');
    if ok {
        Ok(())
    } else {
        Err(ConfigDriveError::InvalidLabel {
            label: label.to_string(),
        })
    }
}

/// Metadata file names CloudStack itself writes; a user data detail may not reuse them.
pub const RESERVED_METADATA_NAMES: &[&str] = &[
    "service-offering",
    "availability-zone",
    "local-hostname",
    "local-ipv4",
    "public-hostname",
    "public-ipv4",
    "instance-id",
    "vm-id",
    "public-keys",
    "cloud-identifier",
    "hypervisor-host-name",
    "cloud-domain",
    "cloud-domain-id",
    "cloud-name",
    // meta_data.json keys the standard entries are renamed to
    "availability_zone",
    "hostname",
    "uuid",
    "name",
    "keys",
    "public_keys",
];

/// Check that a user data detail key can become `cloudstack/metadata/<key>.txt` and a
/// meta_data.json key. Call it where `userdatadetails` are accepted, so a bad key is a
/// parameter error at the API rather than a failed VM start.
///
/// Accepted: 1 to [`MAX_METADATA_KEY_LEN`] printable ASCII characters, no space, none of
/// `/ \ * : ; ? " < > |`, not starting with `.`, and not one of [`RESERVED_METADATA_NAMES`].
pub fn validate_metadata_key(key: &str) -> Result<(), ConfigDriveError> {
    let fail = |reason| {
        Err(ConfigDriveError::InvalidMetadataKey {
            key: key.to_string(),
            reason,
        })
    };
    if key.is_empty() {
        return fail("the name is empty");
    }
    if key.len() > MAX_METADATA_KEY_LEN {
        return fail("the name is longer than 56 characters");
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        return fail("only printable ASCII characters without spaces are allowed");
    }
    if key.bytes().any(|b| b"/\\*:;?\"<>|".contains(&b)) {
        return fail("the characters / \\ * : ; ? \" < > | are not allowed");
    }
    if key.starts_with('.') {
        return fail("the name may not start with a dot");
    }
    if RESERVED_METADATA_NAMES.contains(&key) {
        return fail("the name is used by the standard metadata");
    }
    Ok(())
}
