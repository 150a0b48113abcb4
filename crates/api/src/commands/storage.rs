use std::collections::BTreeMap;

use ferrostack_app::model::{PoolFilter, PoolUpdate, StoreFilter};
use ferrostack_app::storage::PoolCreate;
use ferrostack_types::Error;

use crate::args::Args;
use crate::commands::items;
use crate::registry::{list_params, Access, Command, PType, Param, Shape, SUCCESS_FIELDS};
use crate::reply::Reply;
use crate::views::storage::{self as views, IMAGE_STORE_FIELDS, STORAGE_POOL_FIELDS, STORAGE_PROVIDER_FIELDS};
use crate::Ctx;

/// A `details` map in either of CloudStack's encodings — `details[0].key=k&details[0].value=v`
/// or `details[0].k=v` — as one flat key → value map.
pub(crate) fn flat_map(a: &Args, name: &str) -> Result<BTreeMap<String, String>, Error> {
    let mut out = BTreeMap::new();
    for (_, entry) in a.map(name)? {
        match (entry.get("key"), entry.get("value")) {
            (Some(k), Some(v)) if entry.len() == 2 => {
                out.insert(k.clone(), v.clone());
            }
            _ => out.extend(entry),
        }
    }
    Ok(out)
}

pub fn commands() -> Vec<Command> {
    vec![
        Command {
            name: "createStoragePool",
            description: "Creates a storage pool.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                Param::new("name", PType::String, "the name for the storage pool").required(),
                Param::new("url", PType::String, "the URL of the storage pool: nfs://<server>/<path>, or local:///<path> for host-local storage").required(),
                Param::new("zoneid", PType::Uuid, "the Zone ID for the storage pool").required().related("listZones"),
                Param::new("podid", PType::Uuid, "the Pod ID for the storage pool").related("listPods"),
                Param::new("clusterid", PType::Uuid, "the cluster ID for the storage pool").related("listClusters"),
                Param::new("hostid", PType::Uuid, "ferrostack: the host that host-local storage (scope host) belongs to").related("listHosts"),
                Param::new("scope", PType::String, "the scope of the storage: cluster, zone or host"),
                Param::new("hypervisor", PType::String, "hypervisor type of the hosts in zone that will be attached to this storage pool. KVM and Simulator are supported."),
                Param::new("provider", PType::String, "the storage provider name"),
                Param::new("tags", PType::String, "the tags for the storage pool"),
                Param::new("capacitybytes", PType::Long, "bytes CloudStack can provision from this storage pool"),
                Param::new("capacityiops", PType::Long, "IOPS CloudStack can provision from this storage pool"),
                Param::new("managed", PType::Boolean, "whether the storage should be managed by CloudStack").only("false", "managed storage (one volume per LUN) is not supported"),
                Param::new("istagarule", PType::Boolean, "Whether the informed tag is a JS interpretable rule or not."),
                Param::new("details", PType::Map, "the details for the storage pool"),
            ],
            shape: Shape::Object("storagepool"),
            response: STORAGE_POOL_FIELDS,
            job: None,
            handler: |c, a| Box::pin(create_pool(c, a)),
        },
        Command {
            name: "listStoragePools",
            description: "Lists storage pools.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: [
                list_params(),
                vec![
                    Param::new("id", PType::Uuid, "the ID of the storage pool").related("listStoragePools"),
                    Param::new("name", PType::String, "the name of the storage pool"),
                    Param::new("zoneid", PType::Uuid, "the Zone ID for the storage pool").related("listZones"),
                    Param::new("podid", PType::Uuid, "the Pod ID for the storage pool").related("listPods"),
                    Param::new("clusterid", PType::Uuid, "list storage pools belongig to the specific cluster").related("listClusters"),
                    Param::new("hostid", PType::Uuid, "host ID of the storage pools").related("listHosts"),
                    Param::new("ipaddress", PType::String, "the IP address for the storage pool"),
                    Param::new("path", PType::String, "the storage pool path"),
                    Param::new("scope", PType::String, "the scope of the storage pool"),
                    Param::new("status", PType::String, "the status of the storage pool"),
                ],
            ]
            .concat(),
            shape: Shape::List("storagepool"),
            response: STORAGE_POOL_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list_pools(c, a)),
        },
        Command {
            name: "updateStoragePool",
            description: "Updates a storage pool.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                Param::new("id", PType::Uuid, "the Id of the storage pool").required().related("listStoragePools"),
                Param::new("name", PType::String, "Change the name of the storage pool"),
                Param::new("tags", PType::List, "comma-separated list of tags for the storage pool"),
                Param::new("capacitybytes", PType::Long, "bytes CloudStack can provision from this storage pool"),
                Param::new("capacityiops", PType::Long, "IOPS CloudStack can provision from this storage pool"),
                Param::new("enabled", PType::Boolean, "false to disable the pool for allocation of new volumes, true to enable it back."),
                Param::new("istagarule", PType::Boolean, "Whether the informed tag is a JS interpretable rule or not."),
            ],
            shape: Shape::Object("storagepool"),
            response: STORAGE_POOL_FIELDS,
            job: None,
            handler: |c, a| Box::pin(update_pool(c, a)),
        },
        Command {
            name: "deleteStoragePool",
            description: "Deletes a storage pool.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: vec![
                Param::new("id", PType::Uuid, "Storage pool id").required().related("listStoragePools"),
                Param::new("forced", PType::Boolean, "Force destroy storage pool (force expunge volumes in Destroyed state as a part of pool removal)"),
            ],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(delete_pool(c, a)),
        },
        Command {
            name: "addImageStore",
            description: "Adds backup image store.",
            is_async: false,
            since: Some("4.2.0"),
            access: Access::Admin,
            params: vec![
                Param::new("name", PType::String, "the name for the image store"),
                Param::new("url", PType::String, "the URL for the image store").len(2048),
                Param::new("zoneid", PType::Uuid, "the Zone ID for the image store").related("listZones"),
                Param::new("provider", PType::String, "the image store provider name").required(),
                Param::new("details", PType::Map, "the details for the image store. Example: details[0].key=accesskey&details[0].value=s389ddssaa&details[1].key=secretkey&details[1].value=8dshfsss"),
            ],
            shape: Shape::Object("imagestore"),
            response: IMAGE_STORE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(add_store(c, a)),
        },
        Command {
            name: "listImageStores",
            description: "Lists image stores.",
            is_async: false,
            since: Some("4.2.0"),
            access: Access::Admin,
            params: [
                list_params(),
                vec![
                    Param::new("id", PType::Uuid, "the ID of the storage pool").related("listImageStores"),
                    Param::new("name", PType::String, "the name of the image store"),
                    Param::new("protocol", PType::String, "the image store protocol"),
                    Param::new("provider", PType::String, "the image store provider"),
                    Param::new("zoneid", PType::Uuid, "the Zone ID for the image store").related("listZones"),
                    Param::new("readonly", PType::Boolean, "read-only status of the image store").since("4.15.0"),
                ],
            ]
            .concat(),
            shape: Shape::List("imagestore"),
            response: IMAGE_STORE_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list_stores(c, a)),
        },
        Command {
            name: "listStorageProviders",
            description: "Lists storage providers.",
            is_async: false,
            since: None,
            access: Access::Admin,
            params: [
                list_params(),
                vec![Param::new(
                    "type",
                    PType::String,
                    "the type of storage provider: either primary or image",
                )
                .required()],
            ]
            .concat(),
            shape: Shape::List("dataStoreProvider"),
            response: STORAGE_PROVIDER_FIELDS,
            job: None,
            handler: |c, a| Box::pin(list_providers(c, a)),
        },
        Command {
            name: "deleteImageStore",
            description: "Deletes an image store or Secondary Storage.",
            is_async: false,
            since: Some("4.2.0"),
            access: Access::Admin,
            params: vec![Param::new("id", PType::Uuid, "The image store ID or Secondary Storage ID.").required().related("listImageStores")],
            shape: Shape::Success,
            response: SUCCESS_FIELDS,
            job: None,
            handler: |c, a| Box::pin(delete_store(c, a)),
        },
    ]
}

async fn create_pool(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let p = PoolCreate {
        name: a.req("name")?,
        url: a.req("url")?,
        zone_uuid: a.req_uuid("zoneid")?,
        pod_uuid: a.uuid("podid"),
        cluster_uuid: a.uuid("clusterid"),
        host_uuid: a.uuid("hostid"),
        scope: a.str("scope"),
        hypervisor: a.str("hypervisor"),
        provider: a.str("provider"),
        tags: a.str("tags"),
        capacity_bytes: a.i64("capacitybytes"),
        capacity_iops: a.i64("capacityiops"),
        details: flat_map(&a, "details")?,
    };
    let pool = c.app.storage_pool_create(&c.caller, p).await?;
    Ok(Reply::object("storagepool", views::storage_pool(&pool)))
}

async fn list_pools(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let f = PoolFilter {
        name: a.str("name"),
        scope: a.str("scope"),
        state: a
            .str("status")
            .map(|s| ferrostack_types::state::StoragePoolState::parse_param("status", &s))
            .transpose()?,
        ip_address: a.str("ipaddress"),
        path: a.str("path"),
        keyword: a.str("keyword"),
        ..PoolFilter::default()
    };
    let f = c
        .app
        .storage_pool_filter(
            f,
            [
                ("id", a.uuid("id")),
                ("zoneid", a.uuid("zoneid")),
                ("podid", a.uuid("podid")),
                ("clusterid", a.uuid("clusterid")),
                ("hostid", a.uuid("hostid")),
            ],
        )
        .await?;
    let (total, rows) = c.app.storage_pool_list(&f, a.page()?).await?;
    Ok(Reply::list("storagepool", total, items(&rows, views::storage_pool)))
}

async fn update_pool(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let u = PoolUpdate {
        name: a.str("name"),
        tags: a.str("tags"),
        capacity_bytes: a.i64("capacitybytes"),
        capacity_iops: a.i64("capacityiops"),
        state: None,
    };
    let pool = c
        .app
        .storage_pool_update(&c.caller, &a.req_uuid("id")?, u, a.opt_bool("enabled"))
        .await?;
    Ok(Reply::object("storagepool", views::storage_pool(&pool)))
}

async fn delete_pool(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app.storage_pool_delete(&c.caller, &a.req_uuid("id")?).await?;
    Ok(Reply::Success)
}

async fn add_store(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let s = c
        .app
        .image_store_add(
            &c.caller,
            a.str("name"),
            a.str("url"),
            &a.req("provider")?,
            a.uuid("zoneid"),
            flat_map(&a, "details")?,
        )
        .await?;
    Ok(Reply::object("imagestore", views::image_store(&s)))
}

async fn list_stores(c: &Ctx, a: Args) -> Result<Reply, Error> {
    let f = StoreFilter {
        name: a.str("name"),
        protocol: a.str("protocol"),
        provider: a.str("provider"),
        read_only: a.opt_bool("readonly"),
        keyword: a.str("keyword"),
        ..StoreFilter::default()
    };
    let (total, rows) = c
        .app
        .image_store_list(f, a.uuid("id").as_deref(), a.uuid("zoneid").as_deref(), a.page()?)
        .await?;
    Ok(Reply::list("imagestore", total, items(&rows, views::image_store)))
}

async fn delete_store(c: &Ctx, a: Args) -> Result<Reply, Error> {
    c.app.image_store_delete(&c.caller, &a.req_uuid("id")?).await?;
    Ok(Reply::Success)
}

async fn list_providers(_c: &Ctx, a: Args) -> Result<Reply, Error> {
    let rows = ferrostack_app::storage::storage_providers(&a.req("type")?)?;
    let page = a.page()?;
    let total = rows.len() as i64;
    let shown: Vec<_> = rows
        .iter()
        .skip(page.offset as usize)
        .take(page.limit.map_or(usize::MAX, |l| l as usize))
        .map(views::storage_provider)
        .collect();
    Ok(Reply::list("dataStoreProvider", total, shown))
}
