//! Guest addresses, public IP ranges and public IPs of networks.

use super::*;

impl App {
    /// Hand out an address (and MAC) on a guest network; `requested` must be free and in
    /// range. Never the same address twice: the unique index decides races.
    pub async fn guest_ip_allocate(
        &self,
        c: &mut Conn,
        n: &Network,
        owner_kind: &str,
        owner_uuid: &str,
        requested: Option<&str>,
    ) -> Result<(Option<String>, String), Error> {
        let guest = GuestType::parse(&n.guest_type).ok_or_else(|| Error::internal("bad guest type"))?;
        let pool: Vec<IpRange> = match guest {
            GuestType::L2 => Vec::new(),
            GuestType::Shared => net_db::ranges(&mut *c, n.zone_id, Some(n.id))
                .await?
                .iter()
                .filter_map(range_of)
                .collect(),
            GuestType::Isolated => match n.cidr.as_deref().map(Cidr::parse) {
                Some(Ok(cidr)) => vec![cidr.hosts()],
                Some(Err(_)) | None => Vec::new(),
            },
        };
        let gateway = n.gateway.as_deref().and_then(|g| g.parse::<Ipv4Addr>().ok());
        for _attempt in 0..20 {
            let mac = ipam::mac_from_sequence(net_db::next_mac_seq(&mut *c).await? as u64)?;
            let ip = if guest == GuestType::L2 {
                if requested.is_some() {
                    return Err(Error::invalid(format!(
                        "Network {} is an L2 network; it assigns no IP addresses",
                        n.name
                    )));
                }
                None
            } else {
                match requested {
                    Some(r) => {
                        let ip = ipam::parse_ipv4("ipaddress", r)?;
                        if !pool.iter().any(|p| p.contains(ip)) || Some(ip) == gateway {
                            return Err(Error::invalid(format!(
                                "IP address {r} is not in the address range of network {}; pick one from its range",
                                n.name
                            )));
                        }
                        if net_db::ip_in_use(&mut *c, n.id, ip_num(ip)).await? {
                            return Err(Error::invalid(format!(
                                "IP address {r} is already in use in network {}; pick another",
                                n.name
                            )));
                        }
                        Some(ip)
                    }
                    None => match lowest_free(c, n.id, &pool, gateway).await? {
                        Some(ip) => Some(ip),
                        None => {
                            return Err(Error::InsufficientCapacity(format!(
                                "Insufficient address capacity: every address of network {} is in use; add an IP range or free addresses",
                                n.name
                            )))
                        }
                    },
                }
            };
            let inserted = net_db::insert_guest_ip(
                &mut *c,
                n.id,
                ip.map(|i| i.to_string()).as_deref(),
                ip.map(ip_num),
                &mac,
                owner_kind,
                owner_uuid,
                now_ms(),
            )
            .await?;
            if inserted.is_some() {
                return Ok((ip.map(|i| i.to_string()), mac));
            }
            if requested.is_some() {
                return Err(Error::invalid(format!(
                    "IP address {} was just taken in network {}; pick another",
                    requested.unwrap_or_default(),
                    n.name
                )));
            }
        }
        Err(Error::ResourceAllocation(format!(
            "Could not allocate an address in network {} after several attempts; retry",
            n.name
        )))
    }

    /// Add a range: public (forvirtualnetwork, zone-wide) or a shared network's guest range.
    pub async fn range_create(&self, caller: &Caller, p: RangeCreate) -> Result<RangeRow, Error> {
        let gw = ipam::parse_ipv4("gateway", &p.gateway)?;
        let mask = ipam::parse_netmask("netmask", &p.netmask)?;
        let start = ipam::parse_ipv4("startip", &p.start_ip)?;
        let end = match &p.end_ip {
            Some(e) => ipam::parse_ipv4("endip", e)?,
            None => start,
        };
        let range = ipam::validate_range(start, end, gw, mask)?;
        let mut tx = self.db.begin().await?;
        let network = match &p.network_uuid {
            Some(u) => Some(self.network_get_for(&mut tx, caller, "networkid", u).await?),
            None => None,
        };
        let zone = match (&p.zone_uuid, &network) {
            (Some(z), _) => self.zone_get_for(&mut tx, "zoneid", z).await?,
            (None, Some(n)) => self.zone_get_for(&mut tx, "zoneid", &n.zone_uuid).await?,
            (None, None) => {
                return Err(Error::invalid(
                    "Give zoneid (public range) or networkid (shared network range)",
                ))
            }
        };
        if p.for_virtual_network && zone.is_edge() {
            return Err(Error::invalid(format!(
                "Zone {} is an edge zone: it has no public network; add guest ranges to shared networks instead",
                zone.name
            )));
        }
        if let Some(n) = &network {
            if n.guest_type != "Shared" {
                return Err(Error::invalid(format!(
                    "Network {} is {}; only shared networks take IP ranges",
                    n.name, n.guest_type
                )));
            }
            if n.gateway.as_deref() != Some(p.gateway.as_str()) || n.netmask.as_deref() != Some(p.netmask.as_str()) {
                return Err(Error::invalid(format!(
                    "The range's gateway/netmask must match network {} ({}/{})",
                    n.name,
                    n.gateway.clone().unwrap_or_default(),
                    n.netmask.clone().unwrap_or_default()
                )));
            }
        }
        let vlan = match (&p.vlan, &network) {
            (Some(v), _) => Some(broadcast_uri(v)?),
            (None, Some(n)) => n.broadcast_uri.clone(),
            (None, None) => None,
        };
        let existing: Vec<IpRange> = net_db::ranges(&mut tx, zone.id, None)
            .await?
            .iter()
            .filter(|x| x.vlan == vlan)
            .filter_map(range_of)
            .collect();
        ipam::check_no_overlap(&range, &existing)?;
        let physnet = self.physnet_for_zone(&mut tx, zone.id).await?;
        let uuid = new_uuid();
        let id = net_db::insert_range(
            &mut tx,
            net_db::NewRange {
                uuid: &uuid,
                zone_id: zone.id,
                physical_network_id: physnet.map(|p| p.id),
                network_id: network.as_ref().map(|n| n.id),
                vlan: vlan.as_deref(),
                gateway: &gw.to_string(),
                netmask: &mask.to_string(),
                start_ip: &range.start().to_string(),
                end_ip: &range.end().to_string(),
                start_num: ip_num(range.start()),
                end_num: ip_num(range.end()),
                for_virtual_network: p.for_virtual_network,
                account_id: None,
                domain_id: None,
                now: now_ms(),
            },
        )
        .await?;
        if p.for_virtual_network {
            let addrs: Vec<(String, i64)> = range.iter().map(|ip| (ip.to_string(), ip_num(ip))).collect();
            net_db::insert_public_ips(&mut tx, zone.id, id, &addrs).await?;
        }
        let r = net_db::range_by_uuid(&mut tx, &uuid)
            .await?
            .ok_or_else(|| Error::internal("range vanished"))?;
        self.event_done(
            &mut tx,
            caller,
            EventType::VlanIpRangeCreate,
            format!("Created IP range {}-{} in zone {}", r.start_ip, r.end_ip, zone.name),
            Some(&Resource {
                kind: "Vlan",
                uuid: r.uuid.clone(),
                name: format!("{}-{}", r.start_ip, r.end_ip),
            }),
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        Ok(r)
    }

    pub async fn range_list(
        &self,
        mut f: RangeFilter,
        zone: Option<&str>,
        network: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<RangeRow>), Error> {
        let mut c = self.db.conn().await?;
        if let Some(z) = zone {
            f.zone_id = Some(self.zone_get_for(&mut c, "zoneid", z).await?.id);
        }
        if let Some(n) = network {
            f.network_id = Some(
                net_db::by_uuid(&mut *c, n)
                    .await?
                    .ok_or_else(|| Error::unknown_entity("networkid", n))?
                    .id,
            );
        }
        net_db::list_ranges(&mut c, &f, page).await
    }

    pub async fn range_delete(&self, caller: &Caller, uuid: &str) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let r = net_db::range_by_uuid(&mut tx, uuid)
            .await?
            .ok_or_else(|| Error::unknown_entity("id", uuid))?;
        let in_use = if r.for_virtual_network == 1 {
            net_db::public_ips_in_use(&mut tx, r.id).await?
        } else if let Some(nid) = r.network_id {
            let range = range_of(&r);
            net_db::guest_ips_of_network(&mut *tx, nid)
                .await?
                .iter()
                .filter(|g| {
                    g.ip.as_deref()
                        .and_then(|i| i.parse::<Ipv4Addr>().ok())
                        .is_some_and(|ip| range.as_ref().is_some_and(|rg| rg.contains(ip)))
                })
                .count() as i64
        } else {
            0
        };
        if in_use > 0 {
            return Err(Error::in_use(format!(
                "IP range {}-{} has {in_use} address(es) in use; release them before deleting the range",
                r.start_ip, r.end_ip
            )));
        }
        ferrostack_db::tag::forget_public_ips_of_range(&mut tx, r.id).await?;
        net_db::remove_range(&mut tx, r.id, now_ms()).await?;
        self.event_done(
            &mut tx,
            caller,
            EventType::VlanIpRangeDelete,
            format!("Deleted IP range {}-{}", r.start_ip, r.end_ip),
            Some(&Resource {
                kind: "Vlan",
                uuid: r.uuid.clone(),
                name: format!("{}-{}", r.start_ip, r.end_ip),
            }),
        )
        .await?;
        tx.commit().await.map_err(db_err)
    }

    pub async fn public_ip_list(
        &self,
        caller: &Caller,
        scope: &ListScope,
        mut f: PublicIpFilter,
        zone: Option<&str>,
        network: Option<&str>,
        page: Page,
    ) -> Result<(i64, Vec<PublicIp>), Error> {
        let mut c = self.db.conn().await?;
        if let Some(z) = zone {
            f.zone_id = Some(self.zone_get_for(&mut c, "zoneid", z).await?.id);
        }
        if let Some(n) = network {
            f.network_id = Some(self.network_get_for(&mut c, caller, "associatednetworkid", n).await?.id);
        }
        // Free addresses are infrastructure: only root admins see them.
        let owner = if caller.is_root_admin() && !f.allocated_only {
            OwnerScope::All
        } else {
            f.allocated_only = true;
            self.owner_scope(&mut c, caller, scope).await?
        };
        net_db::list_public_ips(&mut c, &owner, &f, page).await
    }
}

/// The lowest free address of the pool (ranges in order), the gateway excepted: one statement
/// per range, the search done by the database over its index.
async fn lowest_free(
    c: &mut Conn,
    network_id: i64,
    pool: &[IpRange],
    gateway: Option<Ipv4Addr>,
) -> Result<Option<Ipv4Addr>, Error> {
    for r in pool {
        let (mut lo, hi) = (ip_num(r.start()), ip_num(r.end()));
        while let Some(num) = net_db::lowest_free_ip(&mut *c, network_id, lo, hi).await? {
            if num > hi {
                break;
            }
            let ip = Ipv4Addr::from(u32::try_from(num).map_err(|_| Error::internal("address out of range"))?);
            if Some(ip) != gateway {
                return Ok(Some(ip));
            }
            lo = num + 1;
        }
    }
    Ok(None)
}
