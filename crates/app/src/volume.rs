//! Volumes: data disks (`createVolume`, `attachVolume`, `detachVolume`, `resizeVolume`,
//! `deleteVolume`) and the root volume's size (`resizeVolume`, `rootdisksize` on deploy).
//!
//! A volume is a row first (`Allocated`); it becomes a file on a pool the first time a host
//! needs it: when it is attached to a running VM, or when its VM starts. Work that touches a
//! VM's disks runs under the VM's sync key, so it queues behind (and ahead of) the VM's own
//! start, stop and destroy; work on a detached volume runs under the volume's.
//!
//! Every state change goes through the volume machine ([`VolumeState`]); every agent call is
//! made with no database connection held.

use ferrostack_agent_api::{DataDisk, DiskFile, PoolSpec, SnapshotFile};
use ferrostack_db::volume::{self as vol_db, Volume};
use ferrostack_db::{db_err, Conn};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::state::{StateMachine, VmState, VolumeEvent, VolumeState};
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;

use crate::access::check_account;
use crate::event::Resource;
use crate::followup::FollowUp;
use crate::job::{JobMeta, JobRequest, Submitted};
use crate::saga::to_params;
use crate::volume_sagas::{AttachParams, CreateParams, DetachParams, ResizeParams};
use crate::{App, Caller};

pub const GIB: i64 = 1024 * 1024 * 1024;

/// Data disks a VM may have (CloudStack's KVM limit, `max.data.volumes.supported`).
pub const MAX_DATA_VOLUMES: i64 = 6;

/// The event resource of a volume.
pub fn volume_resource(v: &Volume) -> Resource {
    Resource {
        kind: "Volume",
        uuid: v.uuid.clone(),
        name: v.name.clone(),
    }
}

/// The file of a volume on its pool, as a host knows it.
pub fn disk_file(v: &Volume) -> Option<DiskFile> {
    Some(DiskFile {
        volume: format!("{}.qcow2", v.uuid),
        pool: PoolSpec {
            uuid: v.pool_uuid.clone()?,
            path: v.pool_path.clone()?,
        },
    })
}

/// A data disk as a host attaches it; a volume on no pool (simulated hosts need none) is
/// described with an empty pool.
pub fn data_disk(v: &Volume, device_id: i64) -> DataDisk {
    DataDisk {
        file: disk_file(v).unwrap_or_else(|| DiskFile {
            volume: format!("{}.qcow2", v.uuid),
            pool: PoolSpec {
                uuid: String::new(),
                path: String::new(),
            },
        }),
        size_bytes: u64::try_from(v.size).unwrap_or(0),
        device_id: u32::try_from(device_id).unwrap_or(0),
        from_snapshot: snapshot_source(v),
    }
}

/// The snapshot file a volume is made from, while it has no file of its own yet (a volume
/// from a snapshot on a host that keeps files; the simulator's snapshots have none).
fn snapshot_source(v: &Volume) -> Option<SnapshotFile> {
    let made = match v.state {
        VolumeState::Allocated | VolumeState::Creating => false,
        VolumeState::Ready
        | VolumeState::Resizing
        | VolumeState::Migrating
        | VolumeState::Snapshotting
        | VolumeState::RevertSnapshotting
        | VolumeState::Destroy
        | VolumeState::Expunging
        | VolumeState::Expunged => true,
    };
    if made {
        return None;
    }
    Some(SnapshotFile {
        snapshot: v.snapshot_uuid.clone()?,
        pool: PoolSpec {
            uuid: v.snapshot_pool_uuid.clone()?,
            path: v.snapshot_pool_path.clone()?,
        },
    })
}

/// Walk a volume through the machine from `from` by `events`: the state it ends in.
pub fn walk(from: VolumeState, events: &[VolumeEvent]) -> Result<VolumeState, Error> {
    let mut at = from;
    for e in events {
        at = at.transition(*e)?;
    }
    Ok(at)
}

/// Move a volume by `events` with a compare-and-set on `from`; a volume that moved on is a
/// conflict the caller may retry.
pub async fn volume_move(
    c: &mut Conn,
    v: &Volume,
    from: VolumeState,
    events: &[VolumeEvent],
) -> Result<VolumeState, Error> {
    let to = walk(from, events)?;
    if to != from && !vol_db::volume_cas(c, v.id, from, to, None).await? {
        return Err(Error::Conflict(format!(
            "Volume {} changed state while it was being {}; retry",
            v.name,
            events.first().map_or("changed", |e| e.as_str())
        )));
    }
    Ok(to)
}

/// `createVolume`.
pub struct VolumeCreate {
    pub name: Option<String>,
    pub zone_uuid: Option<String>,
    pub disk_offering_uuid: Option<String>,
    pub size_gb: Option<i64>,
    pub vm_uuid: Option<String>,
    pub account: Option<String>,
    pub domain_uuid: Option<String>,
    /// `snapshotid`: the volume is made from this snapshot (its size and disk offering).
    pub snapshot_uuid: Option<String>,
}

/// `resizeVolume`.
pub struct VolumeResize {
    pub uuid: String,
    pub disk_offering_uuid: Option<String>,
    pub size_gb: Option<i64>,
    pub shrink_ok: bool,
}

/// The size a disk offering gives a new volume: its own, or (customized) the one asked for.
pub fn offering_size(o: &ferrostack_db::offering::DiskOffering, size_gb: Option<i64>) -> Result<i64, Error> {
    match (o.customized != 0, size_gb) {
        (true, Some(gb)) if gb > 0 => Ok(gb.saturating_mul(GIB)),
        (true, Some(gb)) => Err(Error::invalid(format!(
            "size must be a positive number of GB, not {gb}"
        ))),
        (true, None) => Err(Error::invalid(format!(
            "Disk offering {} is customized: give size (GB)",
            o.name
        ))),
        (false, Some(_)) => Err(Error::invalid(format!(
            "Disk offering {} has a fixed size of {} GB: leave size out, or pick a customized offering",
            o.name,
            o.disk_size / GIB
        ))),
        (false, None) => Ok(o.disk_size),
    }
}

/// A VM whose disks may change (Running or Stopped); otherwise a 431 saying so.
pub(crate) fn vm_takes_disk_changes(name: &str, state: VmState, what: &str) -> Result<(), Error> {
    match state {
        VmState::Running | VmState::Stopped => Ok(()),
        VmState::Starting
        | VmState::Stopping
        | VmState::Migrating
        | VmState::Destroyed
        | VmState::Expunging
        | VmState::Error
        | VmState::Shutdown
        | VmState::Unknown => Err(Error::invalid(format!(
            "VM {name} is {state}: its volumes are {what} only while it is Running or Stopped"
        ))),
    }
}

/// A volume at rest (Allocated or Ready); otherwise a 431 naming its state.
pub(crate) fn volume_at_rest(v: &Volume, what: &str) -> Result<(), Error> {
    match v.state {
        VolumeState::Allocated | VolumeState::Ready => Ok(()),
        VolumeState::Creating
        | VolumeState::Resizing
        | VolumeState::Migrating
        | VolumeState::Snapshotting
        | VolumeState::RevertSnapshotting
        | VolumeState::Destroy
        | VolumeState::Expunging
        | VolumeState::Expunged => Err(Error::invalid(format!(
            "Volume {} is {}: only Allocated or Ready volumes are {what}",
            v.name, v.state
        ))),
    }
}

impl App {
    /// A live volume the caller may act on.
    pub async fn volume_get_for(
        &self,
        c: &mut Conn,
        caller: &Caller,
        param: &str,
        uuid: &str,
    ) -> Result<Volume, Error> {
        let v = vol_db::by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        let a = ferrostack_db::account::get(&mut *c, ferrostack_types::ids::AccountId(v.account_id))
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        check_account(caller, &a).map_err(|_| Error::unknown_entity(param, uuid))?;
        Ok(v)
    }

    /// A volume by uuid for job results (no access check: the job's reader was checked).
    pub async fn volume_view(&self, uuid: &str) -> Result<Option<Volume>, Error> {
        let mut c = self.db.conn().await?;
        vol_db::by_uuid(&mut c, uuid).await
    }

    /// A usable disk offering (live, not a system one); users see displayed ones only.
    pub(crate) async fn disk_offering_for(
        &self,
        c: &mut Conn,
        caller: &Caller,
        uuid: &str,
    ) -> Result<ferrostack_db::offering::DiskOffering, Error> {
        ferrostack_db::offering::disk_by_uuid(&mut *c, uuid)
            .await?
            .filter(|o| o.is_system == 0 && (o.display_offering != 0 || caller.is_root_admin()))
            .ok_or_else(|| Error::unknown_entity("diskofferingid", uuid))
    }

    /// A data disk for a new VM (`deployVirtualMachine diskofferingid`, `size`): the
    /// offering's size, or the one asked for when it is customized.
    pub(crate) async fn deploy_data_disk(
        &self,
        c: &mut Conn,
        caller: &Caller,
        offering_uuid: &str,
        size_gb: Option<i64>,
    ) -> Result<(i64, i64), Error> {
        let o = self.disk_offering_for(c, caller, offering_uuid).await?;
        Ok((o.id, offering_size(&o, size_gb)?))
    }

    /// `createVolume`: the volume is a row (Allocated) until a host needs it; with
    /// `virtualmachineid` the job attaches it.
    pub async fn volume_create(&self, caller: &Caller, p: VolumeCreate, meta: JobMeta) -> Result<Submitted, Error> {
        let mut c = self.db.conn().await?;
        let vm = match &p.vm_uuid {
            Some(u) => Some(self.vm_get_for(&mut c, caller, "virtualmachineid", u).await?),
            None => None,
        };
        let snapshot = match &p.snapshot_uuid {
            Some(u) => {
                let s = self.snapshot_get_for(&mut c, caller, "snapshotid", u).await?;
                if !s.state.usable() {
                    return Err(Error::invalid(format!(
                        "Snapshot {} is {}: volumes are made from BackedUp snapshots",
                        s.name, s.state
                    )));
                }
                Some(s)
            }
            None => None,
        };
        let zone = match (&p.zone_uuid, &vm, &snapshot) {
            (Some(z), _, _) => self.zone_get_for(&mut c, "zoneid", z).await?,
            (None, Some(v), _) => self.zone_get_for(&mut c, "zoneid", &v.zone_uuid).await?,
            (None, None, Some(s)) => self.zone_get_for(&mut c, "zoneid", &s.zone_uuid).await?,
            (None, None, None) => {
                return Err(Error::invalid(
                    "Give zoneid: the zone to create the volume in (or virtualmachineid to create it beside a VM)",
                ))
            }
        };
        if let Some(v) = &vm {
            if v.zone_id != zone.id {
                return Err(Error::invalid(format!(
                    "VM {} is in zone {}, not {}: create the volume in the VM's zone",
                    v.name, v.zone_name, zone.name
                )));
            }
        }
        if let Some(s) = &snapshot {
            if s.zone_id != zone.id {
                return Err(Error::invalid(format!(
                    "Snapshot {} is in zone {}, not {}: create the volume in the snapshot's zone",
                    s.name, s.zone_name, zone.name
                )));
            }
        }
        let (offering_id, size) = match (&snapshot, p.disk_offering_uuid.as_deref()) {
            (Some(s), given) => {
                // The snapshot's size; the offering given, else its volume's.
                let offering = match given {
                    Some(u) => Some(self.disk_offering_for(&mut c, caller, u).await?.id),
                    None => vol_db::disk_offering_of(&mut c, s.volume_id).await?,
                };
                if let Some(gb) = p.size_gb {
                    return Err(Error::invalid(format!(
                        "A volume from snapshot {} takes its size ({} bytes); leave size ({gb}) out and resize it afterwards",
                        s.name, s.size
                    )));
                }
                (offering, s.size)
            }
            (None, Some(u)) => {
                let offering = self.disk_offering_for(&mut c, caller, u).await?;
                (Some(offering.id), offering_size(&offering, p.size_gb)?)
            }
            (None, None) => {
                return Err(Error::invalid(
                    "Give diskofferingid (see listDiskOfferings) or snapshotid: what the new volume is made from",
                ))
            }
        };
        let owner = match (&p.account, &vm) {
            (Some(name), _) => {
                let d = match &p.domain_uuid {
                    Some(u) => self.domain_for(&mut c, caller, "domainid", u).await?.id(),
                    None => caller.domain_id,
                };
                let a = ferrostack_db::account::by_name(&mut *c, d, name)
                    .await?
                    .ok_or_else(|| Error::invalid(format!("Unable to find account {name} in the given domain")))?;
                check_account(caller, &a)?;
                a
            }
            (None, Some(v)) => ferrostack_db::account::get(&mut *c, ferrostack_types::ids::AccountId(v.account_id))
                .await?
                .ok_or_else(|| Error::internal("the VM's account is missing"))?,
            (None, None) => ferrostack_db::account::get(&mut *c, caller.account_id)
                .await?
                .ok_or_else(|| Error::internal("caller's account missing"))?,
        };
        if let Some(v) = &vm {
            if v.account_id != owner.id {
                return Err(Error::invalid(format!(
                    "VM {} belongs to another account than the volume's owner: a volume is attached to its owner's VMs",
                    v.name
                )));
            }
            self.attach_check_vm(&mut c, v).await?;
        }
        drop(c);
        let uuid = new_uuid();
        let name = p.name.clone().unwrap_or_else(|| format!("DATA-{}", &uuid[..8]));
        let mut tx = self.db.begin().await?;
        let id = vol_db::insert(
            &mut tx,
            &vol_db::NewVolume {
                uuid: &uuid,
                name: &name,
                volume_type: "DATADISK",
                vm: None,
                zone_id: zone.id,
                size,
                account_id: owner.id,
                domain_id: owner.domain_id,
                template_id: None,
                disk_offering_id: offering_id,
                snapshot_id: snapshot.as_ref().map(|s| s.id),
                now: now_ms(),
            },
        )
        .await?;
        let params = to_params(&CreateParams {
            volume_id: id,
            vm_id: vm.as_ref().map(|v| v.id),
        })?;
        let sync_key = match &vm {
            Some(v) => format!("vm:{}", v.uuid),
            None => format!("volume:{uuid}"),
        };
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    instance: Some(("Volume", uuid.clone())),
                    sync_key,
                    params,
                    meta,
                    description: format!("Creating volume {name}"),
                    resource: Some(Resource {
                        kind: "Volume",
                        uuid: uuid.clone(),
                        name: name.clone(),
                    }),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(Submitted {
            job_uuid: sub.job_uuid,
            entity_uuid: Some(uuid),
        })
    }

    /// A VM a data disk may be attached to: Running or Stopped, with a free slot.
    async fn attach_check_vm(&self, c: &mut Conn, vm: &ferrostack_db::vm::Vm) -> Result<i64, Error> {
        vm_takes_disk_changes(&vm.name, vm.state, "attached")?;
        vol_db::free_device_id(c, vm.id, MAX_DATA_VOLUMES + 1)
            .await?
            .ok_or_else(|| {
                Error::invalid(format!(
                    "VM {} has the most data volumes it may have ({MAX_DATA_VOLUMES}): detach one first",
                    vm.name
                ))
            })
    }

    /// `attachVolume`: checks, then the job that plugs it in.
    pub async fn volume_attach(
        &self,
        caller: &Caller,
        uuid: &str,
        vm_uuid: &str,
        device_id: Option<i64>,
        meta: JobMeta,
    ) -> Result<Submitted, Error> {
        let mut c = self.db.conn().await?;
        let v = self.volume_get_for(&mut c, caller, "id", uuid).await?;
        let vm = self.vm_get_for(&mut c, caller, "virtualmachineid", vm_uuid).await?;
        if v.volume_type != "DATADISK" {
            return Err(Error::invalid(format!(
                "Volume {} is a {} volume: only data volumes are attached",
                v.name, v.volume_type
            )));
        }
        if let Some(other) = &v.vm_name {
            return Err(Error::invalid(format!(
                "Volume {} is attached to VM {other} already: detach it first",
                v.name
            )));
        }
        volume_at_rest(&v, "attached")?;
        if v.zone_id != vm.zone_id {
            return Err(Error::invalid(format!(
                "Volume {} is in zone {} and VM {} in zone {}: they must be in the same zone",
                v.name, v.zone_name, vm.name, vm.zone_name
            )));
        }
        if v.account_id != vm.account_id {
            return Err(Error::invalid(format!(
                "Volume {} and VM {} belong to different accounts: a volume is attached to its owner's VMs",
                v.name, vm.name
            )));
        }
        let free = self.attach_check_vm(&mut c, &vm).await?;
        let slot = match device_id {
            None => free,
            Some(d) if d < 1 || d == vol_db::CDROM_DEVICE_ID || d > MAX_DATA_VOLUMES + 1 => {
                return Err(Error::invalid(format!(
                    "deviceid {d} is not a data disk slot: give 1, 2 or 4 to {} (0 is the root disk, 3 the CD-ROM)",
                    MAX_DATA_VOLUMES + 1
                )))
            }
            Some(d) => {
                if vol_db::of_vms(&mut c, &[vm.id])
                    .await?
                    .iter()
                    .any(|x| x.device_id == Some(d))
                {
                    return Err(Error::invalid(format!(
                        "VM {} has a volume at deviceid {d} already: give a free slot or leave deviceid out",
                        vm.name
                    )));
                }
                d
            }
        };
        if let (Some(pool), Some(root_pool)) = (v.pool_id, vol_db::root_pool_of(&mut c, vm.id).await?) {
            if pool != root_pool.0 && v.pool_host_id.is_some() {
                return Err(Error::invalid(format!(
                    "Volume {} is on pool {}, local to another host than VM {}'s disks: volumes are not moved \
                     between pools yet; attach it to a VM on that host",
                    v.name,
                    v.pool_name.as_deref().unwrap_or("?"),
                    vm.name
                )));
            }
        }
        drop(c);
        let params = to_params(&AttachParams {
            volume_id: v.id,
            vm_id: vm.id,
            device_id: slot,
        })?;
        self.volume_job(
            caller,
            &v,
            Some(&vm.uuid),
            params,
            meta,
            format!("Attaching volume {} to VM {}", v.name, vm.name),
        )
        .await
    }

    /// `detachVolume` (by id, or by VM and slot).
    pub async fn volume_detach(
        &self,
        caller: &Caller,
        uuid: Option<&str>,
        vm_uuid: Option<&str>,
        device_id: Option<i64>,
        meta: JobMeta,
    ) -> Result<Submitted, Error> {
        let mut c = self.db.conn().await?;
        let v = match (uuid, vm_uuid, device_id) {
            (Some(u), None, None) => self.volume_get_for(&mut c, caller, "id", u).await?,
            (None, Some(vu), Some(d)) => {
                let vm = self.vm_get_for(&mut c, caller, "virtualmachineid", vu).await?;
                vol_db::of_vms(&mut c, &[vm.id])
                    .await?
                    .into_iter()
                    .find(|x| x.device_id == Some(d))
                    .ok_or_else(|| Error::invalid(format!("VM {} has no volume at deviceid {d}", vm.name)))?
            }
            _ => {
                return Err(Error::invalid(
                    "Give either id (the volume), or virtualmachineid and deviceid",
                ))
            }
        };
        let Some(vm_id) = v.vm_id else {
            return Err(Error::invalid(format!("Volume {} is not attached to any VM", v.name)));
        };
        if v.volume_type != "DATADISK" {
            return Err(Error::invalid(format!(
                "Volume {} is the root volume of VM {}: root volumes stay with their VM",
                v.name,
                v.vm_name.as_deref().unwrap_or("?")
            )));
        }
        let vm_uuid = v.vm_uuid.clone().unwrap_or_default();
        match v.vm_state {
            Some(VmState::Running | VmState::Stopped | VmState::Destroyed) => {}
            Some(s) => {
                return Err(Error::invalid(format!(
                    "VM {} is {s}: detach its volumes when it is Running or Stopped",
                    v.vm_name.as_deref().unwrap_or("?")
                )))
            }
            None => return Err(Error::internal("an attached volume's VM is missing")),
        }
        drop(c);
        let params = to_params(&DetachParams { volume_id: v.id, vm_id })?;
        let vm_name = v.vm_name.clone().unwrap_or_default();
        self.volume_job(
            caller,
            &v,
            Some(&vm_uuid),
            params,
            meta,
            format!("Detaching volume {} from VM {vm_name}", v.name),
        )
        .await
    }

    /// `resizeVolume`.
    pub async fn volume_resize(&self, caller: &Caller, r: VolumeResize, meta: JobMeta) -> Result<Submitted, Error> {
        let mut c = self.db.conn().await?;
        let v = self.volume_get_for(&mut c, caller, "id", &r.uuid).await?;
        volume_at_rest(&v, "resized")?;
        let (size, offering_id) = match (v.volume_type.as_str(), &r.disk_offering_uuid, r.size_gb) {
            ("ROOT", Some(_), _) => {
                return Err(Error::invalid(
                    "A root volume is resized with size (GB); changing its disk offering is done with the VM's service offering",
                ))
            }
            ("ROOT", None, Some(gb)) => (gb.saturating_mul(GIB), None),
            (_, None, None) => {
                return Err(Error::invalid("Give size (GB) or diskofferingid: the volume's new size"))
            }
            (_, Some(o), gb) => {
                let o = self.disk_offering_for(&mut c, caller, o).await?;
                (offering_size(&o, gb)?, Some(o.id))
            }
            (_, None, Some(gb)) => {
                let custom = match v.disk_offering_id {
                    Some(id) => ferrostack_db::offering::disk_get(&mut *c, id).await?.map(|o| o.customized != 0),
                    None => Some(true),
                };
                if custom == Some(false) {
                    return Err(Error::invalid(format!(
                        "Volume {}'s disk offering {} has a fixed size: give a customized diskofferingid with size",
                        v.name,
                        v.disk_offering_name.as_deref().unwrap_or("?")
                    )));
                }
                (gb.saturating_mul(GIB), None)
            }
        };
        if size <= 0 {
            return Err(Error::invalid("size must be a positive number of GB"));
        }
        if size < v.size && !r.shrink_ok {
            return Err(Error::invalid(format!(
                "Going from existing size of {} bytes to size of {size} bytes is a shrink: give shrinkok=true \
                 to allow it (the data past the new end is lost)",
                v.size
            )));
        }
        if v.volume_type == "ROOT" && size < v.size {
            return Err(Error::invalid(format!(
                "The root volume {} can't shrink (from {} to {} GB): the guest's file systems end past it",
                v.name,
                v.size / GIB,
                size / GIB
            )));
        }
        if let Some(st) = v.vm_state {
            vm_takes_disk_changes(v.vm_name.as_deref().unwrap_or("?"), st, "resized")?;
        }
        drop(c);
        let params = to_params(&ResizeParams {
            volume_id: v.id,
            size,
            disk_offering_id: offering_id,
        })?;
        let vm_uuid = v.vm_uuid.clone();
        self.volume_job(
            caller,
            &v,
            vm_uuid.as_deref(),
            params,
            meta,
            format!("Resizing volume {} to {} GB", v.name, size / GIB),
        )
        .await
    }

    async fn volume_job(
        &self,
        caller: &Caller,
        v: &Volume,
        vm_uuid: Option<&str>,
        params: serde_json::Value,
        meta: JobMeta,
        description: String,
    ) -> Result<Submitted, Error> {
        let sync_key = match vm_uuid {
            Some(u) => format!("vm:{u}"),
            None => format!("volume:{}", v.uuid),
        };
        let mut tx = self.db.begin().await?;
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    instance: Some(("Volume", v.uuid.clone())),
                    sync_key,
                    params,
                    meta,
                    description,
                    resource: Some(volume_resource(v)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(Submitted {
            job_uuid: sub.job_uuid,
            entity_uuid: Some(v.uuid.clone()),
        })
    }

    /// `deleteVolume`: a detached volume is expunged at once; its file (if a host made one)
    /// is removed by a follow-up, so a host that is down never holds the delete up.
    pub async fn volume_delete(&self, caller: &Caller, uuid: &str) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let v = self.volume_get_for(&mut tx, caller, "id", uuid).await?;
        vol_db::lock(&mut tx, v.id).await?;
        let v = vol_db::get(&mut tx, v.id)
            .await?
            .ok_or_else(|| Error::unknown_entity("id", uuid))?;
        if v.vm_id.is_some() {
            return Err(Error::invalid(format!(
                "Please specify a volume that is not attached to any VM: volume {} is attached to {}; detach it first",
                v.name,
                v.vm_name.as_deref().unwrap_or("a VM")
            )));
        }
        self.volume_expunge_in(&mut tx, &v).await?;
        self.event_record(
            &mut tx,
            caller,
            ferrostack_types::EventType::VolumeDelete,
            crate::event::Level::Info,
            crate::event::State::Completed,
            format!("Successfully deleted volume {}", v.name),
            Some(&volume_resource(&v)),
            None,
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    /// Expunge a detached volume in the caller's transaction: through the volume machine to
    /// Expunged, its tags forgotten, its pool space given back, its file (if a host made one)
    /// removed by a follow-up.
    async fn volume_expunge_in(&self, tx: &mut Conn, v: &Volume) -> Result<(), Error> {
        let events: &[VolumeEvent] = match v.state {
            VolumeState::Allocated | VolumeState::Ready => &[
                VolumeEvent::DestroyRequested,
                VolumeEvent::ExpungingRequested,
                VolumeEvent::OperationSucceeded,
            ],
            VolumeState::Destroy => &[VolumeEvent::ExpungingRequested, VolumeEvent::OperationSucceeded],
            VolumeState::Creating
            | VolumeState::Resizing
            | VolumeState::Migrating
            | VolumeState::Snapshotting
            | VolumeState::RevertSnapshotting
            | VolumeState::Expunging
            | VolumeState::Expunged => {
                return Err(Error::invalid(format!(
                    "Volume {} is {}: wait for the operation on it to finish, then delete it",
                    v.name, v.state
                )))
            }
        };
        let to = walk(v.state, events)?;
        if !vol_db::volume_cas(&mut *tx, v.id, v.state, to, Some(now_ms())).await? {
            return Err(Error::Conflict(format!(
                "Volume {} changed state meanwhile; retry",
                v.name
            )));
        }
        ferrostack_db::tag::forget(&mut *tx, ferrostack_db::tag::ResourceType::Volume, &[v.id]).await?;
        if let (Some(file), Some(pool_id)) = (disk_file(v), v.pool_id) {
            if let Some(host_id) = vol_db::host_for_pool(&mut *tx, pool_id).await? {
                self.followup_enqueue(&mut *tx, &FollowUp::DiskDelete { host_id, file })
                    .await?;
            }
        }
        Ok(())
    }

    /// Remove the volumes an account still has once its VMs are expunged (their data disks,
    /// detached by the expunge, and volumes never attached): an account's deletion takes them.
    pub(crate) async fn volumes_expunge_of_account(&self, account_id: i64) -> Result<(), Error> {
        let ids = {
            let mut c = self.db.conn().await?;
            vol_db::detached_ids_of_account(&mut c, account_id).await?
        };
        for id in ids {
            let mut tx = self.db.begin().await?;
            vol_db::lock(&mut tx, id).await?;
            if let Some(v) = vol_db::get(&mut tx, id).await?.filter(|v| v.vm_id.is_none()) {
                self.volume_expunge_in(&mut tx, &v).await?;
            }
            tx.commit().await.map_err(db_err)?;
        }
        Ok(())
    }

    /// The host that carries out work on a volume's file: the VM's host while it runs there,
    /// else a connected Up host that reaches the volume's pool. `None`: no file to work on
    /// (the volume is on no pool).
    pub(crate) async fn volume_worker(&self, v: &Volume) -> Result<Option<(i64, Option<String>)>, Error> {
        if let (Some(VmState::Running), Some(h)) = (v.vm_state, v.vm_host_id) {
            return Ok(Some((h, v.vm_instance_name.clone())));
        }
        let Some(pool) = v.pool_id else { return Ok(None) };
        let mut c = self.db.conn().await?;
        let hosts = vol_db::up_hosts_for_pool(&mut c, pool).await?;
        drop(c);
        match hosts.into_iter().find(|h| self.agents.get(*h).is_some()) {
            Some(h) => Ok(Some((h, None))),
            None => Err(Error::ResourceUnavailable(format!(
                "No connected host reaches pool {} of volume {}: bring one of its hosts up, then retry",
                v.pool_name.as_deref().unwrap_or("?"),
                v.name
            ))),
        }
    }

    /// The placed data disks of a VM as its host needs them at start: each on its own pool, or
    /// (not placed yet) on `root_pool`, where the root disk is.
    pub(crate) async fn vm_data_disks(
        &self,
        c: &mut Conn,
        vm_id: i64,
        root_pool: Option<&PoolSpec>,
    ) -> Result<Vec<DataDisk>, Error> {
        let vols = vol_db::of_vms(&mut *c, &[vm_id]).await?;
        Ok(vols
            .iter()
            .filter(|v| v.volume_type == "DATADISK")
            .map(|v| {
                let mut d = data_disk(v, v.device_id.unwrap_or(1));
                if v.pool_id.is_none() {
                    if let Some(p) = root_pool {
                        d.file.pool = p.clone();
                    }
                }
                d
            })
            .collect())
    }
}
