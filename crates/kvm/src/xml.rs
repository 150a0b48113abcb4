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

/// A data disk at its slot: device 1 is `vdb`, 2 `vdc`, 4 `vde` (the root disk is `vda`).
pub(crate) fn data_disk(path: &Path, device_id: u32) -> String {
    let letter = char::from(b'a' + u8::try_from(device_id.min(25)).unwrap_or(25));
    format!(
        "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{}'/><target dev='vd{letter}' bus='virtio'/></disk>",
        esc(&path.display().to_string())
    )
}

pub(crate) fn domain(
    spec: &VmSpec,
    domain_type: &str,
    root: Option<&Path>,
    data_disks: &[(std::path::PathBuf, u32)],
    config_drive: Option<&Path>,
    bridges: &[String],
    console: &Path,
) -> String {
    let mut x = String::new();
    let _ = write!(x, "<domain type='{domain_type}'><name>{}</name>", esc(&spec.name));
    if is_uuid(&spec.uuid) {
        let _ = write!(x, "<uuid>{}</uuid>", spec.uuid);
    }
    let _ = write!(
        x,
        "<memory unit='b'>{}</memory><vcpu>{}</vcpu>\
         <os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>\
         <features><acpi/><apic/></features>\
         <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash><devices>",
        spec.memory_bytes.max(64 << 20),
        spec.cpus.max(1)
    );
    if let Some(r) = root {
        let _ = write!(
            x,
            "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/><source file='{}'/><target dev='vda' bus='virtio'/></disk>",
            esc(&r.display().to_string())
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
