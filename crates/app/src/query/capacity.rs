//! `listCapacity`: host capacity aggregated per zone.

use std::collections::BTreeMap;

use ferrostack_db::zone::{self as zone_db, Zone};
use ferrostack_types::Error;

use crate::App;

/// One zone's capacity totals.
#[derive(Debug, Clone)]
pub struct ZoneCapacity {
    pub zone: Zone,
    pub memory_total: i64,
    pub memory_allocated: i64,
    pub cpu_total: i64,
    pub cpu_allocated: i64,
    pub local_total: i64,
}

impl App {
    /// Capacity per zone, optionally narrowed to a zone, pod or cluster (uuids).
    pub async fn capacity_list(
        &self,
        zone: Option<&str>,
        pod: Option<&str>,
        cluster: Option<&str>,
    ) -> Result<Vec<ZoneCapacity>, Error> {
        let rows = self.capacity_rows().await?;
        let zone = match zone {
            Some(u) => Some(self.zone_find("zoneid", u).await?.id),
            None => None,
        };
        let pod = match pod {
            Some(u) => Some(self.pod_id_find("podid", u).await?),
            None => None,
        };
        let cluster = match cluster {
            Some(u) => Some(self.cluster_id_find("clusterid", u).await?),
            None => None,
        };
        let mut per_zone: BTreeMap<i64, [i64; 5]> = BTreeMap::new();
        for r in rows {
            if zone.is_some_and(|z| z != r.zone_id)
                || pod.is_some_and(|p| p != r.pod_id)
                || cluster.is_some_and(|cl| cl != r.cluster_id)
            {
                continue;
            }
            let e = per_zone.entry(r.zone_id).or_insert([0; 5]);
            e[0] += r.memory_total;
            e[1] += r.memory_allocated;
            e[2] += r.cpu_total;
            e[3] += r.cpu_allocated;
            e[4] += r.local_total;
        }
        let mut out = Vec::with_capacity(per_zone.len());
        for (zone_id, t) in per_zone {
            let Some(zone) = zone_db::get(self.db.read(), zone_id).await? else {
                continue;
            };
            out.push(ZoneCapacity {
                zone,
                memory_total: t[0],
                memory_allocated: t[1],
                cpu_total: t[2],
                cpu_allocated: t[3],
                local_total: t[4],
            });
        }
        Ok(out)
    }
}
