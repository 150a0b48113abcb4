//! Primary storage pools (`createStoragePool` …) and image stores (`addImageStore` …).
//! Pools are cluster-wide (NFS in a pod's cluster), zone-wide (one hypervisor type) or
//! host-local (`local:///path`, the usual storage of an edge zone). Image stores are NFS
//! secondary storage, which edge zones do not have.

use ferrostack_types::EventType;
use std::collections::BTreeMap;

use ferrostack_db::host::{self as host_db, Host, HostFilter};
use ferrostack_db::storage::{self as storage_db, ImageStore, PoolFilter, PoolUpdate, StoragePool, StoreFilter};
use ferrostack_db::zone::{self as zone_db, Zone};
use ferrostack_db::{db_err, Conn};
use ferrostack_types::ids::new_uuid;
use ferrostack_types::state::StoragePoolState;
use ferrostack_types::time::now_ms;
use ferrostack_types::{Error, Page};

use crate::event::Resource;
use crate::{App, Caller};

/// Capacity reported for shared pools and image stores when the operator gives none (the
/// simulator has no real export to measure): 2 TiB.
pub const DEFAULT_CAPACITY_BYTES: i64 = 2 * 1024 * 1024 * 1024 * 1024;

/// The storage providers this management server has, by CloudStack's provider type
/// (`listStorageProviders type=…`): primary pools are the default provider's, image stores
/// (and their caches) NFS.
pub const PRIMARY_PROVIDER: &str = "DefaultPrimary";
pub const IMAGE_PROVIDER: &str = "NFS";

/// One storage provider: its name and CloudStack's type name (`PRIMARY`, `IMAGE`, `ImageCache`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StorageProvider {
    pub name: &'static str,
    pub kind: &'static str,
}

/// `listStorageProviders`: the providers of one type (`primary`, `image` or `imagecache`, any
/// case, as CloudStack compares them).
pub fn storage_providers(kind: &str) -> Result<Vec<StorageProvider>, Error> {
    let one = |name, kind| vec![StorageProvider { name, kind }];
    if kind.eq_ignore_ascii_case("primary") {
        Ok(one(PRIMARY_PROVIDER, "PRIMARY"))
    } else if kind.eq_ignore_ascii_case("image") {
        Ok(one(IMAGE_PROVIDER, "IMAGE"))
    } else if kind.eq_ignore_ascii_case("imagecache") {
        Ok(one(IMAGE_PROVIDER, "ImageCache"))
    } else {
        Err(Error::invalid(format!(
            "Invalid parameter: {kind}; the type of storage provider is primary, image or imagecache"
        )))
    }
}

/// Hypervisors a zone-wide pool may serve.
pub const ZONE_WIDE_HYPERVISORS: &[&str] = &["KVM", "Simulator"];

/// A parsed storage URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageUrl {
    /// CloudStack's pool type: `NetworkFilesystem`, `Filesystem`, `SharedMountPoint`, `RBD`.
    pub pool_type: &'static str,
    pub host: String,
    pub path: String,
    pub is_local: bool,
}

fn bad_url(url: &str) -> Error {
    Error::invalid(format!(
        "The url {url} is not a valid storage URL; use nfs://<server>/<export path> for shared storage, \
         local:///<path> for host-local storage, sharedmountpoint:///<path> or rbd://<monitor>/<pool>"
    ))
}

/// Parse `scheme://host/path` the way pool creation needs it.
pub fn parse_storage_url(url: &str) -> Result<StorageUrl, Error> {
    let Some((scheme, rest)) = url.trim().split_once("://") else {
        return Err(bad_url(url));
    };
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let path = path.trim_end_matches('/');
    let path = if path.is_empty() { "/" } else { path };
    let (pool_type, needs_host, is_local) = match scheme.to_ascii_lowercase().as_str() {
        "nfs" => ("NetworkFilesystem", true, false),
        "local" | "file" => ("Filesystem", false, true),
        "sharedmountpoint" => ("SharedMountPoint", false, false),
        "rbd" => ("RBD", true, false),
        _ => return Err(bad_url(url)),
    };
    if needs_host && host.is_empty() {
        return Err(bad_url(url));
    }
    if needs_host && path == "/" {
        return Err(bad_url(url));
    }
    if host.chars().any(|c| c.is_whitespace()) || path.chars().any(char::is_whitespace) {
        return Err(bad_url(url));
    }
    Ok(StorageUrl {
        pool_type,
        host: if host.is_empty() {
            "localhost".into()
        } else {
            host.to_string()
        },
        path: path.to_string(),
        is_local,
    })
}

/// The canonical spelling of a hypervisor name, if ferrostack knows it.
pub fn canonical_hypervisor(h: &str) -> Option<&'static str> {
    ZONE_WIDE_HYPERVISORS
        .iter()
        .copied()
        .find(|k| k.eq_ignore_ascii_case(h.trim()))
}

pub fn pool_resource(p: &StoragePool) -> Resource {
    Resource {
        kind: "StoragePool",
        uuid: p.uuid.clone(),
        name: p.name.clone(),
    }
}

pub fn store_resource(s: &ImageStore) -> Resource {
    Resource {
        kind: "ImageStore",
        uuid: s.uuid.clone(),
        name: s.name.clone(),
    }
}

pub struct PoolCreate {
    pub name: String,
    pub url: String,
    pub zone_uuid: String,
    pub pod_uuid: Option<String>,
    pub cluster_uuid: Option<String>,
    pub host_uuid: Option<String>,
    pub scope: Option<String>,
    pub hypervisor: Option<String>,
    pub provider: Option<String>,
    pub tags: Option<String>,
    pub capacity_bytes: Option<i64>,
    pub capacity_iops: Option<i64>,
    pub details: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scope {
    Cluster,
    Zone,
    Host,
}

impl Scope {
    fn as_str(self) -> &'static str {
        match self {
            Scope::Cluster => "CLUSTER",
            Scope::Zone => "ZONE",
            Scope::Host => "HOST",
        }
    }
}

fn parse_scope(v: &str) -> Result<Scope, Error> {
    match v.trim().to_ascii_lowercase().as_str() {
        "cluster" => Ok(Scope::Cluster),
        "zone" => Ok(Scope::Zone),
        "host" => Ok(Scope::Host),
        _ => Err(Error::invalid(format!(
            "Invalid scope {v} for the storage pool; use cluster (with podid and clusterid), zone (with hypervisor) \
             or host (host-local storage)"
        ))),
    }
}

pub(crate) async fn zone_for(c: &mut Conn, param: &str, uuid: &str) -> Result<Zone, Error> {
    zone_db::by_uuid(&mut *c, uuid)
        .await?
        .ok_or_else(|| Error::unknown_entity(param, uuid))
}

/// What uses a storage pool and so prevents its deletion, one phrase per kind ("3 volumes").
/// Empty while nothing does. Volumes (and later snapshots on primary storage) add their
/// counts here.
pub async fn storage_pool_dependents(c: &mut Conn, pool: &StoragePool) -> Result<Vec<String>, Error> {
    let n = ferrostack_db::vm::volumes_on_pool(c, pool.id).await?;
    Ok(if n > 0 {
        vec![format!("{n} volume(s); destroy and expunge the VMs using them first")]
    } else {
        Vec::new()
    })
}

/// The host a host-local pool belongs to: the one given, or the only host in reach.
async fn local_pool_host(
    c: &mut Conn,
    zone: &Zone,
    cluster_id: Option<i64>,
    host_uuid: Option<&str>,
) -> Result<Host, Error> {
    if let Some(uuid) = host_uuid {
        let h = host_db::by_uuid(&mut *c, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("hostid", uuid))?;
        if h.zone_id != zone.id {
            return Err(Error::invalid(format!(
                "Host {} is in zone {}, not in zone {}; give a host of the pool's zone",
                h.name, h.zone_name, zone.name
            )));
        }
        return Ok(h);
    }
    let f = HostFilter {
        zone_id: Some(zone.id),
        cluster_id,
        ..HostFilter::default()
    };
    let (_, mut hosts) = host_db::list(
        c,
        &f,
        Page {
            offset: 0,
            limit: Some(2),
        },
    )
    .await?;
    match hosts.len() {
        0 => Err(Error::invalid(format!(
            "Host-local storage belongs to a host, and zone {} has no host yet; add the host first (addHost), \
             then create the local pool with hostid",
            zone.name
        ))),
        1 => Ok(hosts.remove(0)),
        _ => Err(Error::invalid(format!(
            "Zone {} has several hosts; give hostid to say which host this local storage belongs to",
            zone.name
        ))),
    }
}

impl App {
    /// `createStoragePool` (root admin).
    pub async fn storage_pool_create(&self, caller: &Caller, p: PoolCreate) -> Result<StoragePool, Error> {
        let name = p.name.trim().to_string();
        if name.is_empty() {
            return Err(Error::invalid("The storage pool name can't be empty"));
        }
        let url = parse_storage_url(&p.url)?;
        let scope = match &p.scope {
            Some(s) => parse_scope(s)?,
            None if url.is_local || p.host_uuid.is_some() => Scope::Host,
            None if p.cluster_uuid.is_none() && p.pod_uuid.is_none() && p.hypervisor.is_some() => Scope::Zone,
            None => Scope::Cluster,
        };
        if url.is_local && scope != Scope::Host {
            return Err(Error::invalid(format!(
                "A local:// URL is host-local storage; use scope=host (not {}) or an nfs:// URL for shared storage",
                scope.as_str().to_lowercase()
            )));
        }
        if scope == Scope::Host && !url.is_local && url.pool_type != "SharedMountPoint" {
            return Err(Error::invalid(
                "Host-scoped storage must be local to the host; give a local:///<path> URL",
            ));
        }
        if let Some(c) = p.capacity_bytes {
            if c <= 0 {
                return Err(Error::invalid("capacitybytes must be a positive number of bytes"));
            }
        }
        if let Some(i) = p.capacity_iops {
            if i <= 0 {
                return Err(Error::invalid("capacityiops must be a positive number"));
            }
        }
        let provider = p.provider.clone().unwrap_or_else(|| PRIMARY_PROVIDER.into());
        if !provider.eq_ignore_ascii_case(PRIMARY_PROVIDER) {
            return Err(Error::invalid(format!(
                "Storage provider {provider} is not supported; omit provider or use {PRIMARY_PROVIDER} \
                 (listStorageProviders type=primary)"
            )));
        }
        let details = serde_json::to_string(&p.details).map_err(Error::internal)?;
        let mut tx = self.db.begin().await?;
        let zone = zone_for(&mut tx, "zoneid", &p.zone_uuid).await?;
        let pod = match &p.pod_uuid {
            Some(u) => {
                let pod = zone_db::pod_by_uuid(&mut *tx, u)
                    .await?
                    .ok_or_else(|| Error::unknown_entity("podid", u))?;
                if pod.zone_id != zone.id {
                    return Err(Error::invalid(format!(
                        "Pod {} is in zone {}, not in zone {}; give a pod of the pool's zone",
                        pod.name, pod.zone_name, zone.name
                    )));
                }
                Some(pod)
            }
            None => None,
        };
        let cluster = match &p.cluster_uuid {
            Some(u) => {
                let cl = zone_db::cluster_by_uuid(&mut *tx, u)
                    .await?
                    .ok_or_else(|| Error::unknown_entity("clusterid", u))?;
                if cl.zone_id != zone.id {
                    return Err(Error::invalid(format!(
                        "Cluster {} is in zone {}, not in zone {}; give a cluster of the pool's zone",
                        cl.name, cl.zone_name, zone.name
                    )));
                }
                if let Some(pod) = &pod {
                    if cl.pod_id != pod.id {
                        return Err(Error::invalid(format!(
                            "Cluster {} is in pod {}, not in pod {}; give the cluster's own pod",
                            cl.name, cl.pod_name, pod.name
                        )));
                    }
                }
                Some(cl)
            }
            None => None,
        };
        let (pod_id, cluster_id, host_id, hypervisor, capacity) = match scope {
            Scope::Cluster => {
                let (Some(pod), Some(cl)) = (&pod, &cluster) else {
                    return Err(Error::invalid(
                        "Cluster-wide storage needs both podid and clusterid; give them, or use scope=zone with \
                         hypervisor for zone-wide storage",
                    ));
                };
                (
                    Some(pod.id),
                    Some(cl.id),
                    None,
                    Some(cl.hypervisor.clone()),
                    p.capacity_bytes,
                )
            }
            Scope::Zone => {
                let Some(h) = &p.hypervisor else {
                    return Err(Error::invalid(format!(
                        "Zone-wide storage needs hypervisor; give one of {}",
                        ZONE_WIDE_HYPERVISORS.join(", ")
                    )));
                };
                let h = canonical_hypervisor(h).ok_or_else(|| {
                    Error::invalid(format!(
                        "Zone-wide storage is not supported for hypervisor {h}; use one of {}",
                        ZONE_WIDE_HYPERVISORS.join(", ")
                    ))
                })?;
                (None, None, None, Some(h.to_string()), p.capacity_bytes)
            }
            Scope::Host => {
                let host =
                    local_pool_host(&mut tx, &zone, cluster.as_ref().map(|c| c.id), p.host_uuid.as_deref()).await?;
                let cap = p.capacity_bytes.or(Some(host.local_storage_total).filter(|c| *c > 0));
                (
                    Some(host.pod_id),
                    Some(host.cluster_id),
                    Some(host.id),
                    Some(host.hypervisor),
                    cap,
                )
            }
        };
        let uuid = new_uuid();
        let id = storage_db::insert_pool(
            &mut tx,
            storage_db::NewPool {
                uuid: &uuid,
                name: &name,
                zone_id: zone.id,
                pod_id,
                cluster_id,
                host_id,
                scope: scope.as_str(),
                pool_type: url.pool_type,
                url: p.url.trim(),
                host_address: &url.host,
                path: &url.path,
                hypervisor: hypervisor.as_deref(),
                provider: PRIMARY_PROVIDER,
                tags: p.tags.as_deref(),
                capacity_bytes: capacity.unwrap_or(DEFAULT_CAPACITY_BYTES),
                capacity_iops: p.capacity_iops,
                details: &details,
                now: now_ms(),
            },
        )
        .await?;
        let pool = storage_db::pool_get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("storage pool vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::CreatePs,
            format!(
                "Created {} storage pool {} in zone {}",
                scope.as_str().to_lowercase(),
                pool.name,
                zone.name
            ),
            Some(&pool_resource(&pool)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(pool)
    }

    pub async fn storage_pool_list(&self, f: &PoolFilter, page: Page) -> Result<(i64, Vec<StoragePool>), Error> {
        let mut c = self.db.conn().await?;
        storage_db::list_pools(&mut c, f, page).await
    }

    /// Resolve the optional uuid filters of `listStoragePools` to ids.
    pub async fn storage_pool_filter(
        &self,
        mut f: PoolFilter,
        ids: [(&str, Option<String>); 5],
    ) -> Result<PoolFilter, Error> {
        let mut c = self.db.conn().await?;
        for (param, uuid) in ids {
            let Some(uuid) = uuid else { continue };
            let id = match param {
                "id" => storage_db::pool_by_uuid(&mut *c, &uuid).await?.map(|p| p.id),
                "zoneid" => zone_db::by_uuid(&mut *c, &uuid).await?.map(|z| z.id),
                "podid" => zone_db::pod_by_uuid(&mut *c, &uuid).await?.map(|p| p.id),
                "clusterid" => zone_db::cluster_by_uuid(&mut *c, &uuid).await?.map(|c| c.id),
                _ => host_db::by_uuid(&mut *c, &uuid).await?.map(|h| h.id),
            }
            .ok_or_else(|| Error::unknown_entity(param, &uuid))?;
            match param {
                "id" => f.id = Some(id),
                "zoneid" => f.zone_id = Some(id),
                "podid" => f.pod_id = Some(id),
                "clusterid" => f.cluster_id = Some(id),
                _ => f.host_id = Some(id),
            }
        }
        Ok(f)
    }

    pub async fn storage_pool_get(&self, uuid: &str) -> Result<Option<StoragePool>, Error> {
        storage_db::pool_by_uuid(self.db.read(), uuid).await
    }

    /// `updateStoragePool`: name, tags, capacity, enable/disable.
    pub async fn storage_pool_update(
        &self,
        caller: &Caller,
        uuid: &str,
        mut u: PoolUpdate,
        enabled: Option<bool>,
    ) -> Result<StoragePool, Error> {
        if let Some(n) = &u.name {
            if n.trim().is_empty() {
                return Err(Error::invalid("The storage pool name can't be empty"));
            }
            u.name = Some(n.trim().to_string());
        }
        if u.capacity_bytes.is_some_and(|c| c <= 0) {
            return Err(Error::invalid("capacitybytes must be a positive number of bytes"));
        }
        if u.capacity_iops.is_some_and(|c| c <= 0) {
            return Err(Error::invalid("capacityiops must be a positive number"));
        }
        let mut tx = self.db.begin().await?;
        let pool = storage_db::pool_by_uuid(&mut *tx, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("id", uuid))?;
        if let Some(c) = u.capacity_bytes {
            if c < pool.allocated_bytes {
                return Err(Error::invalid(format!(
                    "capacitybytes {c} is below the {} bytes already allocated in pool {}; give a larger value",
                    pool.allocated_bytes, pool.name
                )));
            }
        }
        u.state = enabled.map(|e| {
            if e {
                StoragePoolState::Up
            } else {
                StoragePoolState::Disabled
            }
        });
        storage_db::update_pool(&mut tx, pool.id, &u).await?;
        let pool = storage_db::pool_get(&mut *tx, pool.id)
            .await?
            .ok_or_else(|| Error::internal("storage pool vanished"))?;
        let event = match enabled {
            Some(true) => EventType::EnablePs,
            Some(false) => EventType::DisablePs,
            None => EventType::UpdatePs,
        };
        self.event_done(
            &mut tx,
            caller,
            event,
            format!("Updated storage pool {}", pool.name),
            Some(&pool_resource(&pool)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(pool)
    }

    /// `deleteStoragePool`: refused while anything still lives on the pool.
    pub async fn storage_pool_delete(&self, caller: &Caller, uuid: &str) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let pool = storage_db::pool_by_uuid(&mut *tx, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("id", uuid))?;
        let users = storage_pool_dependents(&mut tx, &pool).await?;
        if !users.is_empty() {
            return Err(Error::in_use(format!(
                "Storage pool {} is still used by {}; delete or migrate them first",
                pool.name,
                users.join(", ")
            )));
        }
        zone_db::mark_removed(&mut tx, "storage_pool", pool.id, now_ms()).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::DeletePs,
            format!("Deleted storage pool {} from zone {}", pool.name, pool.zone_name),
            Some(&pool_resource(&pool)),
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    /// `addImageStore` (root admin): NFS secondary storage for a core zone. Templates waiting
    /// for an image store in that zone start downloading.
    pub async fn image_store_add(
        &self,
        caller: &Caller,
        name: Option<String>,
        url: Option<String>,
        provider: &str,
        zone_uuid: Option<String>,
        details: BTreeMap<String, String>,
    ) -> Result<ImageStore, Error> {
        if !provider.eq_ignore_ascii_case(IMAGE_PROVIDER) {
            return Err(Error::invalid(format!(
                "Image store provider {provider} is not supported; use provider={IMAGE_PROVIDER} with an nfs:// url \
                 (listStorageProviders type=image)"
            )));
        }
        let Some(url) = url else {
            return Err(Error::invalid(
                "An NFS image store needs url, e.g. nfs://10.1.1.1/export/secondary",
            ));
        };
        let parsed = parse_storage_url(&url)?;
        if parsed.pool_type != "NetworkFilesystem" {
            return Err(Error::invalid(format!(
                "The url {url} is not an NFS URL; an NFS image store needs nfs://<server>/<export path>"
            )));
        }
        let Some(zone_uuid) = zone_uuid else {
            return Err(Error::invalid("An NFS image store belongs to one zone; give zoneid"));
        };
        let name = name
            .map(|n| n.trim().to_string())
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| url.trim().to_string());
        let details = serde_json::to_string(&details).map_err(Error::internal)?;
        let mut tx = self.db.begin().await?;
        let zone = zone_for(&mut tx, "zoneid", &zone_uuid).await?;
        if zone.is_edge() {
            return Err(Error::invalid(format!(
                "Zone {} is an edge zone, and edge zones have no secondary storage: image stores can't be added \
                 there. Register templates for it with directdownload=true instead",
                zone.name
            )));
        }
        let id = storage_db::insert_store(
            &mut tx,
            storage_db::NewStore {
                uuid: &new_uuid(),
                name: &name,
                zone_id: zone.id,
                url: url.trim(),
                protocol: "nfs",
                provider: IMAGE_PROVIDER,
                capacity_bytes: DEFAULT_CAPACITY_BYTES,
                details: &details,
                now: now_ms(),
            },
        )
        .await?;
        crate::template::template_zone_added(&mut tx, zone.id, false).await?;
        let store = storage_db::store_get(&mut *tx, id)
            .await?
            .ok_or_else(|| Error::internal("image store vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::ImageStoreCreate,
            format!("Added image store {} to zone {}", store.name, zone.name),
            Some(&store_resource(&store)),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(store)
    }

    pub async fn image_store_list(
        &self,
        mut f: StoreFilter,
        id: Option<&str>,
        zone_uuid: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<ImageStore>), Error> {
        let mut c = self.db.conn().await?;
        if let Some(uuid) = id {
            let s = storage_db::store_by_uuid(&mut *c, uuid)
                .await?
                .ok_or_else(|| Error::unknown_entity("id", uuid))?;
            f.id = Some(s.id);
        }
        if let Some(uuid) = zone_uuid {
            f.zone_id = Some(zone_for(&mut c, "zoneid", uuid).await?.id);
        }
        storage_db::list_stores(&mut c, &f, page).await
    }

    /// `deleteImageStore`: refused while templates are stored there.
    pub async fn image_store_delete(&self, caller: &Caller, uuid: &str) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let store = storage_db::store_by_uuid(&mut *tx, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("id", uuid))?;
        let n = ferrostack_db::template::count_in_store(&mut tx, store.id).await?;
        if n > 0 {
            return Err(Error::in_use(format!(
                "Image store {} still holds {n} template(s); delete them (deleteTemplate with zoneid) before \
                 removing the store",
                store.name
            )));
        }
        zone_db::mark_removed(&mut tx, "image_store", store.id, now_ms()).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::ImageStoreDelete,
            format!("Deleted image store {} from zone {}", store.name, store.zone_name),
            Some(&store_resource(&store)),
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_urls() {
        let u = parse_storage_url("nfs://10.1.1.1/export/primary/").unwrap();
        assert_eq!(
            (u.pool_type, u.host.as_str(), u.path.as_str()),
            ("NetworkFilesystem", "10.1.1.1", "/export/primary")
        );
        let l = parse_storage_url("local:///var/lib/libvirt/images").unwrap();
        assert!(l.is_local);
        assert_eq!(
            (l.pool_type, l.path.as_str()),
            ("Filesystem", "/var/lib/libvirt/images")
        );
        for bad in [
            "not a url",
            "nfs://",
            "nfs://host",
            "ftp://h/p",
            "nfs:///export",
            "nfs://a b/c",
        ] {
            assert!(parse_storage_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn hypervisor_names() {
        assert_eq!(canonical_hypervisor("kvm"), Some("KVM"));
        assert_eq!(canonical_hypervisor("simulator"), Some("Simulator"));
        assert_eq!(canonical_hypervisor("XenServer"), None);
    }
}
