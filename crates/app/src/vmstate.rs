//! State writes of VMs (user VMs and routers alike) and their volumes. Every write goes
//! through the machine's transition function (`ferrostack_types::state`) and a
//! compare-and-swap on the state the caller read; a lost swap is [`Error::Conflict`], which
//! callers retry, wait on, or report as a 4xx.

use ferrostack_db::vm::{self as vm_db, Vm};
use ferrostack_db::Conn;
use ferrostack_types::state::{transition_as, StateMachine, VmEvent, VmState, VmType, VolumeEvent, VolumeState};
use ferrostack_types::Error;

/// What the operator calls a VM row.
pub fn noun(t: VmType) -> &'static str {
    match t {
        VmType::User => "VM",
        VmType::DomainRouter => "router",
    }
}

/// Apply `event` to a VM read in state `vm.state`: the new state, or the machine's refusal
/// (431/432 naming where the event is accepted), or [`Error::Conflict`] when another
/// operation changed the VM since it was read.
pub async fn vm_event(c: &mut Conn, vm: &Vm, event: VmEvent) -> Result<VmState, Error> {
    let to = transition_as(noun(vm.vm_type), vm.state, event)?;
    if to == vm.state {
        // A self-loop of the table (e.g. Stopped + StopRequested): nothing to write, but the
        // VM must still be in the state it was read in.
        return match vm_db::get(&mut *c, vm.id).await?.map(|v| v.state) {
            Some(now) if now == vm.state => Ok(to),
            now => Err(conflict(vm, now)),
        };
    }
    if vm_db::cas_state(&mut *c, vm.id, vm.state, to).await? {
        Ok(to)
    } else {
        let now = vm_db::get(&mut *c, vm.id).await?.map(|v| v.state);
        Err(conflict(vm, now))
    }
}

fn conflict(vm: &Vm, now: Option<VmState>) -> Error {
    let now = now.map_or_else(|| "removed".to_string(), |s| s.to_string());
    Error::Conflict(format!(
        "{} {} is {now}, not {}: another operation changed it first; retry",
        noun(vm.vm_type),
        vm.instance_name,
        vm.state
    ))
}

/// Where a VM's volumes should end up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumeGoal {
    /// Created and usable (the VM started).
    Ready,
    /// Destroyed with the VM (recoverable).
    Destroyed,
    /// Back from Destroy with the recovered VM.
    Recovered,
    /// Gone with the expunged VM.
    Expunged,
}

/// The volume machine's events that lead from `s` towards `goal` (empty when there).
fn volume_path(s: VolumeState, goal: VolumeGoal) -> &'static [VolumeEvent] {
    use VolumeEvent as E;
    use VolumeGoal as G;
    use VolumeState as S;
    match (goal, s) {
        (G::Ready, S::Allocated) => &[E::CreateRequested, E::OperationSucceeded],
        (G::Ready, S::Creating) => &[E::OperationSucceeded],
        (G::Ready | G::Recovered, S::Ready) => &[],
        (G::Ready | G::Recovered, S::Resizing | S::Migrating | S::Snapshotting | S::RevertSnapshotting) => {
            &[E::OperationSucceeded]
        }
        (G::Destroyed, S::Allocated | S::Creating | S::Ready) => &[E::DestroyRequested],
        (G::Destroyed, S::Resizing | S::Migrating | S::Snapshotting | S::RevertSnapshotting) => {
            &[E::OperationFailed, E::DestroyRequested]
        }
        (G::Destroyed, S::Destroy) => &[],
        (G::Recovered, S::Destroy) => &[E::RecoverRequested],
        // A destroyed volume is not started: the refusal names the state.
        (G::Ready, S::Destroy) => &[E::CreateRequested],
        (G::Recovered, S::Allocated | S::Creating) => &[],
        (G::Expunged, S::Allocated | S::Creating | S::Ready) => {
            &[E::DestroyRequested, E::ExpungingRequested, E::OperationSucceeded]
        }
        (G::Expunged, S::Resizing | S::Migrating | S::Snapshotting | S::RevertSnapshotting) => &[
            E::OperationFailed,
            E::DestroyRequested,
            E::ExpungingRequested,
            E::OperationSucceeded,
        ],
        (G::Expunged, S::Destroy) => &[E::ExpungingRequested, E::OperationSucceeded],
        (G::Expunged, S::Expunging) => &[E::OperationSucceeded],
        (G::Expunged, S::Expunged) => &[],
        // A volume past its end cannot come back (the table has no exit from Expunged).
        (G::Ready | G::Destroyed | G::Recovered, S::Expunging | S::Expunged) => &[E::RecoverRequested],
    }
}

/// Move every live volume of a VM towards `goal` through the volume machine, each with a
/// compare-and-swap on the state read. `now` marks expunged volumes removed.
///
/// A start readies every volume attached to the VM; destroy, recover and expunge move its root
/// volume only. Data disks stay as they are while the VM is destroyed, and an expunge detaches
/// them (they outlive the VM, as in CloudStack).
pub async fn volumes_to(c: &mut Conn, vm_id: i64, goal: VolumeGoal, now: i64) -> Result<(), Error> {
    let root_only = match goal {
        VolumeGoal::Ready => false,
        VolumeGoal::Destroyed | VolumeGoal::Recovered => true,
        VolumeGoal::Expunged => {
            ferrostack_db::volume::detach_data_disks(c, vm_id).await?;
            true
        }
    };
    for (id, from) in vm_db::volumes_of_vm(c, vm_id, root_only).await? {
        let mut to = from;
        for e in volume_path(from, goal) {
            to = to.transition(*e)?;
        }
        if to == from {
            continue;
        }
        let removed = (to == VolumeState::Expunged).then_some(now);
        if !vm_db::volume_cas(c, id, from, to, removed).await? {
            return Err(Error::Conflict(format!(
                "volume {id} changed state while its VM was changing; retry"
            )));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_volume_path_follows_the_table() {
        for &goal in &[
            VolumeGoal::Ready,
            VolumeGoal::Destroyed,
            VolumeGoal::Recovered,
            VolumeGoal::Expunged,
        ] {
            for &s in VolumeState::ALL {
                let mut at = s;
                let walked = volume_path(s, goal).iter().try_for_each(|e| {
                    at = at.transition(*e)?;
                    Ok::<_, Error>(())
                });
                let want = match goal {
                    VolumeGoal::Ready => &[VolumeState::Ready][..],
                    VolumeGoal::Recovered => &[VolumeState::Ready, VolumeState::Allocated, VolumeState::Creating][..],
                    VolumeGoal::Destroyed => &[VolumeState::Destroy][..],
                    VolumeGoal::Expunged => &[VolumeState::Expunged][..],
                };
                match (s, goal) {
                    (VolumeState::Expunging | VolumeState::Expunged, VolumeGoal::Expunged) => {
                        assert!(walked.is_ok() && at == VolumeState::Expunged)
                    }
                    (VolumeState::Expunging | VolumeState::Expunged, _) | (VolumeState::Destroy, VolumeGoal::Ready) => {
                        assert!(walked.is_err(), "{s} {goal:?}")
                    }
                    _ => assert!(walked.is_ok() && want.contains(&at), "{s} → {goal:?} ended in {at}"),
                }
            }
        }
    }
}
