//! Deploying a VM from an ISO (`deployVirtualMachine templateid=<an ISO>`), as CloudStack does:
//! the ISO must be bootable and ready in the zone, the call names the `hypervisor` (an ISO is
//! for none), and `diskofferingid` is the offering of the **root** disk — blank, of the
//! offering's size (or `size` GB with a customized offering) — instead of a data disk. The VM's
//! template is the ISO, and the ISO stays attached (`isoid`): the host boots the VM from it
//! first, then from the root disk, until it is detached (`detachIso`).
//!
//! Any VM with an ISO attached gets it in its CD-ROM drive at its next start
//! ([`App::vm_iso_spec`]): hosts fetch it like a template.

use ferrostack_agent_api::{DiskFormat, IsoSpec, TemplateSpec};
use ferrostack_db::sql::Arg;
use ferrostack_db::template::Template;
use ferrostack_db::vm::Vm;
use ferrostack_db::Conn;
use ferrostack_types::ids::new_uuid;
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;

use crate::template::SUPPORTED_HYPERVISORS;
use crate::vm::VmDeploy;
use crate::volume::offering_size;
use crate::{App, Caller};

/// The root disk and hypervisor of a VM deployed from an ISO.
pub(crate) struct IsoRoot {
    pub hypervisor: &'static str,
    pub disk_offering_id: i64,
    /// Bytes.
    pub size: i64,
}

/// What deploying from `iso` needs that the ISO itself can't say: that it is bootable, and the
/// hypervisor (CloudStack's checks and texts, with what to do).
pub(crate) fn iso_deploy_hypervisor(iso: &Template, p: &VmDeploy) -> Result<&'static str, Error> {
    if iso.bootable != 1 {
        return Err(Error::invalid(format!(
            "Installing from ISO requires an ISO that is bootable: {} ({}); register the ISO with bootable=true, \
             or deploy from a template and attach this ISO (attachIso)",
            iso.uuid, iso.name
        )));
    }
    let asked = p.hypervisor.as_deref().map(str::trim).filter(|h| !h.is_empty());
    let Some(h) = asked else {
        return Err(Error::invalid(format!(
            "hypervisor parameter is needed to deploy VM or the hypervisor parameter value passed is invalid: \
             ISO {} is for no hypervisor; give hypervisor ({})",
            iso.name,
            SUPPORTED_HYPERVISORS.join(" or ")
        )));
    };
    SUPPORTED_HYPERVISORS
        .iter()
        .copied()
        .find(|k| k.eq_ignore_ascii_case(h))
        .ok_or_else(|| {
            Error::invalid(format!(
                "hypervisor parameter is needed to deploy VM or the hypervisor parameter value passed is invalid: \
                 {h} is not one of {}",
                SUPPORTED_HYPERVISORS.join(", ")
            ))
        })
}

impl App {
    /// The root disk of a VM deployed from an ISO: `diskofferingid` (required), sized by the
    /// offering, or by `size` (or `rootdisksize`) GB when the offering is customized.
    pub(crate) async fn vm_iso_root(
        &self,
        c: &mut Conn,
        caller: &Caller,
        iso: &Template,
        p: &VmDeploy,
        hypervisor: &'static str,
    ) -> Result<IsoRoot, Error> {
        let Some(offering) = p.disk_offering_uuid.as_deref() else {
            return Err(Error::invalid(format!(
                "Installing from ISO requires a disk offering to be specified for the root disk: give diskofferingid \
                 (with size, in GB, when the offering is customized) for the disk ISO {} installs on",
                iso.name
            )));
        };
        let size_gb = match (p.size_gb, p.root_disk_size_gb) {
            (Some(a), Some(b)) if a != b => {
                return Err(Error::invalid(format!(
                    "size ({a} GB) and rootdisksize ({b} GB) both give the root disk's size of a VM deployed from an \
                     ISO; give one of them"
                )))
            }
            (Some(gb), _) | (None, Some(gb)) => Some(gb),
            (None, None) => None,
        };
        let o = self.disk_offering_for(c, caller, offering).await?;
        let size = offering_size(&o, size_gb)?;
        Ok(IsoRoot {
            hypervisor,
            disk_offering_id: o.id,
            size,
        })
    }

    /// Record what deploying from `iso` makes of a new VM (in the deploy's transaction): its
    /// blank root volume of the disk offering, its hypervisor, and the ISO attached.
    pub(crate) async fn vm_iso_record(
        &self,
        c: &mut Conn,
        (vm_id, zone_id): (i64, i64),
        iso: &Template,
        root: &IsoRoot,
        (account_id, domain_id): (i64, i64),
    ) -> Result<(), Error> {
        let now = now_ms();
        ferrostack_db::volume::insert(
            &mut *c,
            &ferrostack_db::volume::NewVolume {
                uuid: &new_uuid(),
                name: &format!("ROOT-{vm_id}"),
                volume_type: "ROOT",
                vm: Some((vm_id, 0)),
                zone_id,
                size: root.size,
                account_id,
                domain_id,
                template_id: None,
                disk_offering_id: Some(root.disk_offering_id),
                snapshot_id: None,
                now,
            },
        )
        .await?;
        ferrostack_db::vm::set_cols(
            &mut *c,
            vm_id,
            &[
                ("hypervisor", Arg::Str(root.hypervisor.to_string())),
                ("iso_id", Arg::I64(iso.id)),
            ],
        )
        .await
    }

    /// `restoreVirtualMachine` of a VM deployed from `iso` (as CloudStack does): a new blank
    /// root volume of the old one's size and disk offering, and the ISO attached again.
    pub(crate) async fn vm_iso_restore_root(
        &self,
        c: &mut Conn,
        vm: &Vm,
        iso: &Template,
        volume_uuid: &str,
        old: Option<&ferrostack_db::volume::Volume>,
    ) -> Result<(), Error> {
        ferrostack_db::volume::insert(
            &mut *c,
            &ferrostack_db::volume::NewVolume {
                uuid: volume_uuid,
                name: &format!("ROOT-{}", vm.id),
                volume_type: "ROOT",
                vm: Some((vm.id, 0)),
                zone_id: vm.zone_id,
                size: old.map_or(2 * crate::volume::GIB, |v| v.size),
                account_id: vm.account_id,
                domain_id: vm.domain_id,
                template_id: None,
                disk_offering_id: old.and_then(|v| v.disk_offering_id),
                snapshot_id: None,
                now: now_ms(),
            },
        )
        .await?;
        ferrostack_db::vm::set_iso(&mut *c, vm.id, Some(iso.id)).await
    }

    /// The ISO in the VM's CD-ROM drive as its host fetches it, if it has one.
    pub(crate) async fn vm_iso_spec(&self, c: &mut Conn, vm: &Vm) -> Result<Option<IsoSpec>, Error> {
        let Some(iso_id) = vm.iso_id else {
            return Ok(None);
        };
        let Some(iso) = ferrostack_db::template::get(&mut *c, iso_id).await? else {
            // deleteIso refuses ISOs attached to VMs; a row gone anyway leaves the drive empty.
            tracing::warn!(vm = %vm.instance_name, iso = iso_id, "the VM's ISO no longer exists; starting it without");
            return Ok(None);
        };
        Ok(Some(IsoSpec {
            image: TemplateSpec {
                uuid: iso.uuid,
                url: iso.url,
                format: DiskFormat::Raw,
                checksum: iso.checksum.filter(|c| !c.trim().is_empty()),
                direct_download: iso.direct_download == 1,
            },
            boot: iso.bootable == 1,
        }))
    }
}
