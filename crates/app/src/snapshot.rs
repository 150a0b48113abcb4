//! Volume snapshots: `createSnapshot`, `listSnapshots`, `deleteSnapshot`, `revertSnapshot`, and
//! `createTemplate` from a snapshot or a stopped VM's root volume ([`template`]).
//!
//! A snapshot belongs to its volume's owner and moves through the typed Snapshot machine
//! (`Allocated → Creating → CreatedOnPrimary → BackingUp → BackedUp`, then `Destroying →
//! Destroyed` on delete); the volume goes `Ready → Snapshotting → Ready` while it is taken and
//! `Ready → RevertSnapshotting → Ready` while it is reverted, each write a compare-and-swap on
//! the state read. On KVM a snapshot is a standalone qcow2 copy of the volume on the volume's
//! pool (`<pool>/snapshots/<uuid>.qcow2`), sized as the host reports it; a running guest is
//! paused for the copy (see [`host`]). A revert copies it back over the volume (VM stopped, as
//! CloudStack requires on KVM); a delete removes the file by a follow-up. On the simulator a
//! snapshot of a volume on no pool is a recorded artefact: its row, sized as the volume was.
//! As in CloudStack, snapshots outlive their volume (a destroyed or expunged VM keeps them); an
//! account's deletion removes them.

use ferrostack_db::account::OwnerScope;
use ferrostack_db::snapshot::{self as snap_db, NewSnapshot, Snapshot, SnapshotFilter, VolumeSource};
use ferrostack_db::tag::{self as tag_db, NewTag, ResourceType};
use ferrostack_db::{db_err, Conn};
use ferrostack_types::ids::{new_uuid, AccountId};
use ferrostack_types::state::{SnapshotEvent, SnapshotState, StateMachine, VmState, VolumeState};
use ferrostack_types::time::{format_ms, now_ms};
use ferrostack_types::{Error, Page};

use crate::access::{check_account, ListScope};
use crate::event::Resource;
use crate::job::{JobMeta, JobRequest, Submitted};
use crate::saga::to_params;
use crate::{App, Caller};

mod host;
mod sagas;
pub mod template;

pub use sagas::{SnapshotCreateSaga, SnapshotDeleteSaga, SnapshotRevertSaga};

/// Remove a snapshot whose account is being deleted, whatever its state (idempotent).
pub(crate) async fn snapshot_destroy_for_cleanup(app: &App, id: i64) -> Result<(), Error> {
    sagas::snapshot_destroy(app, id, true).await
}
pub use template::{TemplateCreate, TemplateCreateSaga};

/// Hypervisors whose volumes can be snapshotted here: KVM hosts copy the volume to a standalone
/// qcow2 on its pool; the simulator records them (its volumes on no pool have no file).
const SNAPSHOT_HYPERVISORS: &[&str] = &["Simulator", "KVM"];

pub fn resource(s: &Snapshot) -> Resource {
    Resource {
        kind: "Snapshot",
        uuid: s.uuid.clone(),
        name: s.name.clone(),
    }
}

/// `createSnapshot`.
#[derive(Debug, Clone, Default)]
pub struct SnapshotCreate {
    pub volume_uuid: String,
    pub name: Option<String>,
    pub quiesce_vm: bool,
    /// `tags[N].key/value`, in request order.
    pub tags: Vec<(String, String)>,
}

/// The uuids `listSnapshots` resolves: `id`, `volumeid`, `zoneid`.
#[derive(Debug, Clone, Default)]
pub struct SnapshotLookup {
    pub id: Option<String>,
    pub volume: Option<String>,
    pub zone: Option<String>,
}

/// The name CloudStack gives a snapshot nobody named: `<vm>_<volume>_<yyyyMMddHHmmss>`
/// (`detached` for a volume attached to no VM), in UTC.
pub fn default_name(vm: Option<&str>, volume: &str, now: i64) -> String {
    let stamp: String = format_ms(now).chars().take(19).filter(char::is_ascii_digit).collect();
    format!("{}_{volume}_{stamp}", vm.unwrap_or("detached"))
}

impl App {
    /// A live volume the caller may use, as the source of a snapshot or template; one it may
    /// not see is "not found" (431 naming `param`), as the VM lookups answer.
    pub(crate) async fn volume_source_for(
        &self,
        c: &mut Conn,
        caller: &Caller,
        param: &str,
        uuid: &str,
    ) -> Result<VolumeSource, Error> {
        let v = snap_db::volume_source(c, Some(uuid), None)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        let owner = ferrostack_db::account::get(&mut *c, AccountId(v.account_id))
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        check_account(caller, &owner).map_err(|_| Error::unknown_entity(param, uuid))?;
        Ok(v)
    }

    /// A live snapshot the caller may use; one it may not see is "not found".
    pub(crate) async fn snapshot_get_for(
        &self,
        c: &mut Conn,
        caller: &Caller,
        param: &str,
        uuid: &str,
    ) -> Result<Snapshot, Error> {
        let s = snap_db::by_uuid(c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        let owner = ferrostack_db::account::get(&mut *c, AccountId(s.account_id))
            .await?
            .ok_or_else(|| Error::unknown_entity(param, uuid))?;
        check_account(caller, &owner).map_err(|_| Error::unknown_entity(param, uuid))?;
        Ok(s)
    }

    /// `createSnapshot`: check the volume, record the snapshot (`Allocated`) with its tags, and
    /// submit the job that takes it. Answers the job and the snapshot's id.
    pub async fn snapshot_create(&self, caller: &Caller, p: SnapshotCreate, meta: JobMeta) -> Result<Submitted, Error> {
        if p.quiesce_vm {
            return Err(Error::invalid(
                "quiescevm=true is not supported: the hosts of this server cannot quiesce a VM; leave quiescevm out \
                 (or false), or stop the VM first for a consistent snapshot",
            ));
        }
        for (k, v) in &p.tags {
            crate::tag::check_pair("tags", k, v)?;
        }
        crate::tag::check_unique_keys("tags", p.tags.iter().map(|(k, _)| k.as_str()))?;
        let name = match p.name.as_deref().map(str::trim) {
            Some("") => {
                return Err(Error::invalid(
                    "The snapshot name can't be empty; give a name or leave it out",
                ))
            }
            Some(n) if n.chars().count() > 255 => {
                return Err(Error::invalid("A snapshot name is at most 255 characters"))
            }
            Some(n) => Some(n.to_string()),
            None => None,
        };
        let mut tx = self.db.begin().await?;
        let v = self
            .volume_source_for(&mut tx, caller, "volumeid", &p.volume_uuid)
            .await?;
        let hypervisor = snapshot_hypervisor(&v)?;
        if v.state != VolumeState::Ready {
            return Err(Error::invalid(format!(
                "Volume {} ({}) is {}, not Ready: only a Ready volume can be snapshotted{}",
                v.name,
                v.uuid,
                v.state,
                match v.state {
                    VolumeState::Allocated | VolumeState::Creating =>
                        "; a VM's volumes become Ready when the VM first starts",
                    VolumeState::Snapshotting
                    | VolumeState::RevertSnapshotting
                    | VolumeState::Resizing
                    | VolumeState::Migrating => "; wait for the running operation to finish and retry",
                    VolumeState::Ready | VolumeState::Destroy | VolumeState::Expunging | VolumeState::Expunged => "",
                }
            )));
        }
        let now = now_ms();
        let uuid = new_uuid();
        let name = name.unwrap_or_else(|| default_name(v.vm_name.as_deref(), &v.name, now));
        let id = snap_db::insert(
            &mut tx,
            &NewSnapshot {
                uuid: &uuid,
                name: &name,
                volume: &v,
                hypervisor,
                now,
            },
        )
        .await?;
        if !p.tags.is_empty() {
            let target = tag_db::Target {
                id,
                uuid: uuid.clone(),
                account_id: Some(v.account_id),
                domain_id: Some(v.domain_id),
                shared: 0,
            };
            for (k, val) in &p.tags {
                let tag_uuid = new_uuid();
                tag_db::insert(
                    &mut tx,
                    &NewTag {
                        uuid: &tag_uuid,
                        resource_type: ResourceType::Snapshot,
                        target: &target,
                        key: k,
                        value: val,
                        customer: None,
                        account_id: v.account_id,
                        domain_id: v.domain_id,
                        now,
                    },
                )
                .await?;
            }
        }
        let s = snap_db::get(&mut tx, id)
            .await?
            .ok_or_else(|| Error::internal("new snapshot vanished"))?;
        let mut sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    meta,
                    instance: Some(("Snapshot", uuid.clone())),
                    sync_key: format!("volume:{}", v.uuid),
                    params: to_params(&sagas::SnapshotParams { snapshot_id: id })?,
                    description: format!("creating snapshot {name} of volume {}", v.name),
                    resource: Some(resource(&s)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        sub.entity_uuid = Some(uuid);
        Ok(sub)
    }

    /// `listSnapshots`: `volumeid` and `zoneid` must name what exists; a removed snapshot's id
    /// answers an empty list, one that never existed a 431.
    pub async fn snapshot_list(
        &self,
        caller: &Caller,
        scope: &ListScope,
        mut f: SnapshotFilter,
        by: &SnapshotLookup,
        page: Page,
    ) -> Result<(i64, Vec<Snapshot>), Error> {
        let (id, volume, zone) = (by.id.as_deref(), by.volume.as_deref(), by.zone.as_deref());
        let mut c = self.db.conn().await?;
        if let Some(u) = id {
            match snap_db::by_uuid_including_removed(&mut c, u).await? {
                Some((sid, _, false)) => f.id = Some(sid),
                Some((_, _, true)) => return Ok((0, Vec::new())),
                None => return Err(Error::unknown_entity("id", u)),
            }
        }
        if let Some(z) = zone {
            f.zone_id = Some(self.zone_get_for(&mut c, "zoneid", z).await?.id);
        }
        if let Some(u) = volume {
            // Snapshots outlive their volume: a removed volume's id still lists them.
            match ferrostack_db::volume::volume_by_uuid_including_removed(&mut c, u).await? {
                Some((vid, _)) => f.volume_id = Some(vid),
                None => return Err(Error::unknown_entity("volumeid", u)),
            }
        }
        let owner: OwnerScope = self.owner_scope(&mut c, caller, scope).await?;
        snap_db::list(&mut c, &owner, &f, page).await
    }

    /// A snapshot by uuid for rendering a job's result (no access check: the job's owner
    /// asked for it).
    pub async fn snapshot_view(&self, uuid: &str) -> Result<Option<Snapshot>, Error> {
        let mut c = self.db.conn().await?;
        snap_db::by_uuid(&mut c, uuid).await
    }

    /// `deleteSnapshot`: a BackedUp (or failed) snapshot, as a job. `zoneid`, when given, must
    /// be the snapshot's zone (a snapshot is kept in one zone here).
    pub async fn snapshot_delete(
        &self,
        caller: &Caller,
        uuid: &str,
        zone: Option<&str>,
        meta: JobMeta,
    ) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let s = self.snapshot_get_for(&mut tx, caller, "id", uuid).await?;
        if let Some(z) = zone {
            let z = self.zone_get_for(&mut tx, "zoneid", z).await?;
            if z.id != s.zone_id {
                return Err(Error::invalid(format!(
                    "Snapshot {} is not in zone {} (it is in zone {}); leave zoneid out to delete it",
                    s.name, z.name, s.zone_name
                )));
            }
        }
        // The machine says where a delete is accepted; a snapshot being taken is refused.
        s.state.transition(SnapshotEvent::DestroyRequested)?;
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    meta,
                    instance: Some(("Snapshot", s.uuid.clone())),
                    sync_key: format!("volume:{}", s.volume_uuid),
                    params: to_params(&sagas::SnapshotParams { snapshot_id: s.id })?,
                    description: format!("deleting snapshot {}", s.name),
                    resource: Some(resource(&s)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }

    /// `revertSnapshot`: the volume goes back to the snapshot. As CloudStack requires on KVM
    /// (and the simulator), the snapshot must be BackedUp, its volume Ready and, when the
    /// volume is attached, its VM stopped.
    pub async fn snapshot_revert(&self, caller: &Caller, uuid: &str, meta: JobMeta) -> Result<Submitted, Error> {
        let mut tx = self.db.begin().await?;
        let s = self.snapshot_get_for(&mut tx, caller, "id", uuid).await?;
        let v = revert_check(&mut tx, &s).await?;
        let sub = self
            .job_submit(
                &mut tx,
                caller,
                JobRequest {
                    meta,
                    instance: Some(("Snapshot", s.uuid.clone())),
                    // A start of the VM queues behind the revert (it needs the VM stopped).
                    sync_key: v.vm_sync_key(),
                    params: to_params(&sagas::SnapshotParams { snapshot_id: s.id })?,
                    description: format!("reverting volume {} to snapshot {}", s.volume_name, s.name),
                    resource: Some(resource(&s)),
                },
            )
            .await?;
        tx.commit().await.map_err(db_err)?;
        self.jobs.wake();
        Ok(sub)
    }
}

/// The hypervisor a snapshot of `v` is taken on, or why it cannot be.
fn snapshot_hypervisor(v: &VolumeSource) -> Result<&'static str, Error> {
    if v.vm_type.as_deref().is_some_and(|t| t != "User") {
        return Err(Error::invalid(format!(
            "Snapshots of volumes attached to system VMs or routers are not allowed (volume {})",
            v.name
        )));
    }
    let Some(h) = v.hypervisor.as_deref() else {
        return Err(Error::unsupported(format!(
            "Volume {} is attached to no VM, was made from no template and its zone has hosts of several (or no) \
             hypervisors, so its hypervisor is unknown; attach it to a VM before snapshotting it",
            v.name
        )));
    };
    SNAPSHOT_HYPERVISORS
        .iter()
        .copied()
        .find(|x| x.eq_ignore_ascii_case(h))
        .ok_or_else(|| {
            Error::unsupported(format!(
                "Volume snapshots on {h} hosts are not supported by this management server yet (volume {}); \
                 snapshots work on KVM and simulator hosts",
                v.name
            ))
        })
}

/// `revertSnapshot`'s preconditions (checked at submission and again in the job).
pub(crate) async fn revert_check(c: &mut Conn, s: &Snapshot) -> Result<VolumeSource, Error> {
    if s.state != SnapshotState::BackedUp {
        return Err(Error::invalid(format!(
            "Snapshot {} is {}, not BackedUp: only a backed-up snapshot can be reverted to",
            s.name, s.state
        )));
    }
    let v = snap_db::volume_source(c, None, Some(s.volume_id))
        .await?
        .ok_or_else(|| {
            Error::invalid(format!(
                "The volume of snapshot {} ({}) was deleted; a snapshot of a deleted volume can't be reverted to \
             (make a template from it with createTemplate snapshotid=…)",
                s.name, s.volume_name
            ))
        })?;
    if v.state != VolumeState::Ready {
        return Err(Error::invalid(format!(
            "Volume {} is {}, not Ready: it can be reverted to a snapshot only when Ready",
            v.name, v.state
        )));
    }
    if let Some(st) = v.vm_state {
        if st != VmState::Stopped {
            return Err(Error::invalid(format!(
                "The VM {} the volume {} is attached to is {}: stop it (stopVirtualMachine) before reverting the \
                 volume to a snapshot",
                v.vm_name.as_deref().unwrap_or("?"),
                v.name,
                st
            )));
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_names_follow_cloudstack() {
        // 2024-03-05 06:07:08 UTC
        let ms = 1_709_618_828_000;
        assert_eq!(default_name(Some("web1"), "ROOT-7", ms), "web1_ROOT-7_20240305060708");
        assert_eq!(default_name(None, "DATA-2", ms), "detached_DATA-2_20240305060708");
    }
}
