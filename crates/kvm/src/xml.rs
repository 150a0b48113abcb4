//! libvirt domain XML for a VM spec.

use std::fmt::Write as _;
use std::path::Path;

use ferrostack_agent_api::VmSpec;

/// XML text escaping for attribute and element content.
fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

/// The config drive cdrom (`hdc`), with its ISO or empty (ejected).
pub(crate) fn cdrom(iso: Option<&Path>) -> String {
    let source = iso
        .map(|p| format!("<source file='{}'/>", esc(&p.display().to_string())))
        .unwrap_or_default();
    format!(
        "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/>{source}<target dev='hdc' bus='ide'/><readonly/></disk>"
    )
}

/// The ISO drive (`hdd`: `attachIso`, or the ISO a VM was deployed from); `boot` makes it the
/// first boot device, before the root disk.
pub(crate) fn iso_cdrom(iso: &Path, boot: bool) -> String {
    format!(
        "<disk type='file' device='cdrom'><driver name='qemu' type='raw'/><source file='{}'/><target dev='hdd' bus='ide'/><readonly/>{}</disk>",
        esc(&iso.display().to_string()),
        if boot { "<boot order='1'/>" } else { "" }
    )
}

/// A data disk at its slot: device 1 is `vdb`, 2 `vdc`, 4 `vde` (the root disk is `vda`).
pub(crate) fn data_disk(path: &Path, device_id: u32) -> String {
    let letter = char::from(b'a' + u8::try_from(device_id.min(25)).unwrap_or(25));
    format!(
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{}'/><target dev='vd{letter}' bus='virtio'/></disk>",
        esc(&path.display().to_string())
    )
}

#[allow(clippy::too_many_arguments)]
pub(crate) fn domain(
    spec: &VmSpec,
    domain_type: &str,
    root: Option<&Path>,
    data_disks: &[(std::path::PathBuf, u32)],
    config_drive: Option<&Path>,
    bridges: &[String],
    console: &Path,
    iso: Option<&Path>,
) -> String {
    // Booting from the ISO: per-device boot order (CD-ROM, then the root disk) instead of the
    // domain-wide `<boot dev='hd'/>` (libvirt allows one or the other).
    let iso_boot = iso.is_some() && spec.iso.as_ref().is_some_and(|i| i.boot);
    let mut x = String::new();
    let _ = write!(x, "<domain type='{domain_type}'><name>{}</name>", esc(&spec.name));
    if is_uuid(&spec.uuid) {
        let _ = write!(x, "<uuid>{}</uuid>", spec.uuid);
    }
    let _ = write!(
        x,
        "<memory unit='b'>{}</memory><vcpu>{}</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type>{}</os>\
         <features><acpi/><apic/></features>\
         <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash><devices>",
        spec.memory_bytes.max(64 << 20),
        spec.cpus.max(1),
        if iso_boot { "" } else { "<boot dev='hd'/>" }
    );
    if let Some(i) = iso {
        x.push_str(&iso_cdrom(i, iso_boot));
    }
    if let Some(r) = root {
        let _ = write!(
            x,
            "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{}'/><target dev='vda' bus='virtio'/>{}</disk>",
            esc(&r.display().to_string()),
            if iso_boot { "<boot order='2'/>" } else { "" }
        );
    }
    for (path, device_id) in data_disks {
        x.push_str(&data_disk(path, *device_id));
    }
    x.push_str(&cdrom(config_drive));
    let mut nics: Vec<_> = spec.nics.iter().zip(bridges).collect();
    nics.sort_by_key(|(n, _)| n.device_id);
    for (nic, bridge) in nics {
        let _ = write!(
            x,
            "<interface type='bridge'><source bridge='{}'/><mac address='{}'/><model type='virtio'/></interface>",
            esc(bridge),
            esc(&nic.mac)
        );
    }
    let _ = write!(
        x,
        "<serial type='file'><source path='{}' append='on'/><target port='0'/></serial>\
         <controller type='usb' model='none'/><memballoon model='none'/></devices></domain>",
        esc(&console.display().to_string())
    );
    x
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use ferrostack_agent_api::{DiskFormat, IsoSpec, TemplateSpec, VmKind, VmSpec};

    fn spec(iso_boot: Option<bool>) -> VmSpec {
        VmSpec {
            name: "i-2-7-VM".into(),
            uuid: String::new(),
            kind: VmKind::User,
            cpus: 1,
            cpu_speed_mhz: 500,
            memory_bytes: 256 << 20,
            root_disk: None,
            nics: Vec::new(),
            boot_args: Default::default(),
            config_drive: None,
            data_disks: Vec::new(),
            iso: iso_boot.map(|boot| IsoSpec {
                image: TemplateSpec {
                    uuid: "iso-1".into(),
                    url: "http://x/boot.iso".into(),
                    format: DiskFormat::Raw,
                    checksum: None,
                    direct_download: true,
                },
                boot,
            }),
        }
    }

    fn xml(s: &VmSpec, iso: Option<&Path>) -> String {
        super::domain(
            s,
            "qemu",
            Some(Path::new("/pool/root.qcow2")),
            &[],
            Some(Path::new("/cd/i-2-7-VM.iso")),
            &[],
            Path::new("/console.log"),
            iso,
        )
    }

    #[test]
    fn a_bootable_iso_boots_first_then_the_root_disk() {
        let iso = Path::new("/pool/isos/iso-1.iso");
        let x = xml(&spec(Some(true)), Some(iso));
        assert!(!x.contains("<boot dev="), "{x}");
        assert!(
            x.contains(
                "<source file='/pool/isos/iso-1.iso'/><target dev='hdd' bus='ide'/><readonly/><boot order='1'/>"
            ),
            "{x}"
        );
        assert!(x.contains("<target dev='vda' bus='virtio'/><boot order='2'/>"), "{x}");
        assert!(
            x.contains("<target dev='hdc' bus='ide'/>"),
            "the config drive keeps hdc: {x}"
        );
        assert!(x.find("iso-1.iso") < x.find("root.qcow2"), "{x}");
    }

    #[test]
    fn a_non_bootable_iso_is_only_in_the_drive() {
        let iso = Path::new("/pool/isos/iso-1.iso");
        let x = xml(&spec(Some(false)), Some(iso));
        assert!(x.contains("<boot dev='hd'/>"), "{x}");
        assert!(!x.contains("<boot order="), "{x}");
        assert!(
            x.contains("<source file='/pool/isos/iso-1.iso'/><target dev='hdd'"),
            "{x}"
        );
        let plain = xml(&spec(None), None);
        assert!(plain.contains("<boot dev='hd'/>") && !plain.contains("hdd"), "{plain}");
    }
}
