//! Resolve uuids of one entity kind to internal ids, removed rows included, in one query
//! (the uuid columns are unique, hence indexed).

use std::collections::HashMap;

use ferrostack_types::entity::{Entity, Presence};
use ferrostack_types::Error;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::sql::Sql;

/// The table of an entity kind, whether its rows are soft-deleted (`removed`), and the
/// condition selecting that kind's rows when the table holds several kinds.
fn table(e: Entity) -> (&'static str, bool, Option<&'static str>) {
    match e {
        Entity::Domain => ("domain", true, None),
        Entity::Account => ("account", true, None),
        Entity::User => ("app_user", true, None),
        Entity::Role => ("role", false, None),
        Entity::Zone => ("zone", true, None),
        Entity::Pod => ("pod", true, None),
        Entity::Cluster => ("cluster", true, None),
        Entity::Host => ("host", true, None),
        Entity::Alert => ("alert", false, None),
        Entity::StoragePool => ("storage_pool", true, None),
        Entity::ImageStore => ("image_store", true, None),
        Entity::Template => ("vm_template", true, None),
        Entity::OsType => ("guest_os", false, None),
        Entity::OsCategory => ("guest_os_category", false, None),
        Entity::DiskOffering => ("disk_offering", true, None),
        Entity::ServiceOffering => ("service_offering", true, None),
        Entity::PhysicalNetwork => ("physical_network", true, None),
        Entity::TrafficType => ("physical_network_traffic_type", true, None),
        Entity::NetworkServiceProvider => ("physical_network_service_provider", true, None),
        Entity::VirtualRouterElement => ("virtual_router_element", true, None),
        Entity::NetworkOffering => ("network_offering", true, None),
        Entity::Network => ("network", true, None),
        Entity::VlanIpRange => ("ip_range", true, None),
        Entity::PublicIp => ("public_ip", true, None),
        Entity::SshKeyPair => ("ssh_keypair", false, None),
        Entity::UserData => ("user_data", true, None),
        Entity::UserVm => ("vm_instance", true, Some("vm_type = 'User'")),
        Entity::Router => ("vm_instance", true, Some("vm_type = 'DomainRouter'")),
        Entity::Volume => ("volume", true, None),
        Entity::Snapshot => ("snapshot", true, None),
        Entity::InstanceGroup => ("instance_group", true, None),
        Entity::Event => ("event", false, None),
        Entity::AsyncJob => ("async_job", false, None),
    }
}

/// The column naming the account that owns a row of an account-owned entity kind.
fn owner(e: Entity) -> Option<&'static str> {
    match e {
        Entity::Account => Some("id"),
        Entity::User
        | Entity::Template
        | Entity::Network
        | Entity::PublicIp
        | Entity::SshKeyPair
        | Entity::UserData
        | Entity::UserVm
        | Entity::Router
        | Entity::Volume
        | Entity::Snapshot
        | Entity::InstanceGroup => Some("account_id"),
        Entity::Domain
        | Entity::Role
        | Entity::Zone
        | Entity::Pod
        | Entity::Cluster
        | Entity::Host
        | Entity::Alert
        | Entity::StoragePool
        | Entity::ImageStore
        | Entity::OsType
        | Entity::OsCategory
        | Entity::DiskOffering
        | Entity::ServiceOffering
        | Entity::PhysicalNetwork
        | Entity::TrafficType
        | Entity::NetworkServiceProvider
        | Entity::VirtualRouterElement
        | Entity::NetworkOffering
        | Entity::VlanIpRange
        | Entity::Event
        | Entity::AsyncJob => None,
    }
}

/// What a uuid names: its presence and, for account-owned kinds, the owning account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Found {
    pub presence: Presence,
    pub owner_account: Option<i64>,
}

/// What each uuid (canonical lowercase) names among rows of kind `e`; a uuid absent from the
/// answer never named such a row.
pub async fn of(c: &mut crate::Conn, e: Entity, uuids: &[String]) -> Result<HashMap<String, Found>, Error> {
    let mut out = HashMap::new();
    if uuids.is_empty() {
        return Ok(out);
    }
    let (table, soft, kind) = table(e);
    let removed = if soft {
        "CAST(CASE WHEN removed IS NULL THEN 0 ELSE 1 END AS BIGINT)"
    } else {
        "CAST(0 AS BIGINT)"
    };
    // Typed as BIGINT on both engines (PostgreSQL types a bare NULL or 0 otherwise).
    let owner_col = owner(e).unwrap_or("CAST(NULL AS BIGINT)");
    let mut s = Sql::new(format!("SELECT uuid, id, {removed}, {owner_col} FROM {table}"));
    s.and_in_str("uuid", uuids);
    if let Some(k) = kind {
        s.and(k);
    }
    let rows: Vec<(String, i64, i64, Option<i64>)> = s
        .query()
        .try_map(|r: AnyRow| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get(3)?)))
        .fetch_all(&mut *c)
        .await
        .map_err(crate::db_err)?;
    for (uuid, id, removed, owner_account) in rows {
        let presence = if removed == 0 {
            Presence::Live(id)
        } else {
            Presence::Removed(id)
        };
        out.insert(
            uuid,
            Found {
                presence,
                owner_account,
            },
        );
    }
    Ok(out)
}
