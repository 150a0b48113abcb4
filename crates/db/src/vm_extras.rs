//! The rows the VM lifecycle extras change: a VM's offering (scale / change service), its
//! default NIC, its root volume (restore).

use ferrostack_types::state::{VmState, VolumeState};
use ferrostack_types::Error;

use crate::{db_err, Conn};

/// A VM's compute size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    pub offering_id: i64,
    pub cpu: i64,
    pub cpu_speed: i64,
    pub memory_mb: i64,
}

/// Give a VM a new offering and size if it is still in `state` with the `from` offering
/// (compare-and-set); false when it moved on.
pub async fn set_size(c: &mut Conn, vm_id: i64, state: VmState, from: i64, to: Size) -> Result<bool, Error> {
    let r = sqlx::query(
        "UPDATE vm_instance SET service_offering_id = $1, cpu = $2, cpu_speed = $3, memory = $4 \
         WHERE id = $5 AND state = $6 AND service_offering_id = $7 AND removed IS NULL",
    )
    .bind(to.offering_id)
    .bind(to.cpu)
    .bind(to.cpu_speed)
    .bind(to.memory_mb)
    .bind(vm_id)
    .bind(state.as_str())
    .bind(from)
    .execute(&mut *c)
    .await
    .map_err(db_err)?;
    Ok(r.rows_affected() == 1)
}

/// Make `nic_id` the VM's only default NIC; false when that NIC is not a live NIC of the VM.
pub async fn set_default_nic(c: &mut Conn, vm_id: i64, nic_id: i64) -> Result<bool, Error> {
    let r = sqlx::query("UPDATE nic SET is_default = 1 WHERE id = $1 AND vm_id = $2 AND removed IS NULL")
        .bind(nic_id)
        .bind(vm_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    if r.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query("UPDATE nic SET is_default = 0 WHERE vm_id = $1 AND id <> $2 AND removed IS NULL")
        .bind(vm_id)
        .bind(nic_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(true)
}

/// The next free NIC device number of a VM (removed NICs' numbers are not reused).
pub async fn next_nic_device(c: &mut Conn, vm_id: i64) -> Result<i64, Error> {
    let (n,): (Option<i64>,) = sqlx::query_as("SELECT MAX(device_id) FROM nic WHERE vm_id = $1")
        .bind(vm_id)
        .fetch_one(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(n.map_or(0, |d| d + 1))
}

/// A VM's live root volume: (id, uuid, state).
pub async fn root_volume(c: &mut Conn, vm_id: i64) -> Result<Option<(i64, String, VolumeState)>, Error> {
    let row: Option<(i64, String, String)> = sqlx::query_as(
        "SELECT id, uuid, state FROM volume WHERE vm_id = $1 AND volume_type = 'ROOT' AND removed IS NULL \
         ORDER BY id LIMIT 1",
    )
    .bind(vm_id)
    .fetch_optional(&mut *c)
    .await
    .map_err(db_err)?;
    match row {
        None => Ok(None),
        Some((id, uuid, s)) => {
            let st = VolumeState::parse(&s)
                .ok_or_else(|| Error::internal(format!("volume {id} has an unknown state {s:?}")))?;
            Ok(Some((id, uuid, st)))
        }
    }
}

/// Whether a volume row with this uuid exists (removed ones included).
pub async fn volume_exists(c: &mut Conn, uuid: &str) -> Result<bool, Error> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM volume WHERE uuid = $1")
        .bind(uuid)
        .fetch_optional(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(row.is_some())
}

/// Point a VM at another template.
pub async fn set_template(c: &mut Conn, vm_id: i64, template_id: i64) -> Result<(), Error> {
    sqlx::query("UPDATE vm_instance SET template_id = $1 WHERE id = $2")
        .bind(template_id)
        .bind(vm_id)
        .execute(&mut *c)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Candidate hosts a running VM can move to: Up and Enabled in its zone, of its hypervisor,
/// in enabled pods and clusters, with room, other than `from`; hosts of `from`'s cluster
/// first, then the least loaded. (id, cluster id).
pub async fn migration_candidates(
    c: &mut Conn,
    zone_id: i64,
    from: i64,
    cpu_mhz: i64,
    memory_bytes: i64,
    hypervisor: Option<&str>,
) -> Result<Vec<(i64, i64)>, Error> {
    sqlx::query_as(
        "SELECT h.id, h.cluster_id FROM host h JOIN cluster cl ON cl.id = h.cluster_id JOIN pod p ON p.id = h.pod_id \
         WHERE h.zone_id = $1 AND h.id <> $2 AND h.removed IS NULL AND ($5 = '' OR h.hypervisor = $5) \
         AND h.status = 'Up' AND h.resource_state = 'Enabled' \
         AND cl.allocation_state = 'Enabled' AND p.allocation_state = 'Enabled' \
         AND h.cpu_allocated + $3 <= h.cpu_cores * h.cpu_speed AND h.memory_allocated + $4 <= h.memory_total \
         ORDER BY CASE WHEN h.cluster_id = (SELECT f.cluster_id FROM host f WHERE f.id = $2) THEN 0 ELSE 1 END, \
         h.memory_allocated, h.id LIMIT 50",
    )
    .bind(zone_id)
    .bind(from)
    .bind(cpu_mhz)
    .bind(memory_bytes)
    .bind(hypervisor.unwrap_or(""))
    .fetch_all(&mut *c)
    .await
    .map_err(db_err)
}
