//! The uuid filters of list commands, resolved once for every list as CloudStack's API layer
//! resolves them: each uuid parameter naming an entity (its `related` list) is looked up among
//! that entity's rows, removed ones included, before the handler runs.
//!
//! - a uuid no such entity ever had is refused (431, CloudStack's wording);
//! - an entity that existed and was removed answers the empty list (nothing live matches it)
//!   when it is an optional filter (a required one, and a removed domain or account, are left
//!   to the handler, which refuses them as CloudStack's service layer does), except for the
//!   filters whose removed entity live rows may still point at (a deleted
//!   volume's snapshots, a deleted template's VMs, a deleted offering's volumes): those go to
//!   the handler, which filters by the internal id;
//! - `ids` items are resolved the same way; removed ones simply match nothing;
//! - a removed entity of an account the caller may not see is unknown to it (431): its id
//!   tells nothing about another account.

use ferrostack_app::{App, Caller};
use ferrostack_types::entity::{Entity, Presence};
use ferrostack_types::ids::parse_uuid;
use ferrostack_types::Error;

use crate::args::Args;
use crate::registry::{Command, PType};

/// What the handler should do after resolution.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    Run,
    /// A filter names a removed entity: the answer is the empty list.
    Empty,
}

/// The entity a parameter's `related` list command lists.
pub fn entity_of(related: &str) -> Option<Entity> {
    Some(match related {
        "listDomains" => Entity::Domain,
        "listAccounts" => Entity::Account,
        "listUsers" => Entity::User,
        "listRoles" => Entity::Role,
        "listZones" => Entity::Zone,
        "listPods" => Entity::Pod,
        "listClusters" => Entity::Cluster,
        "listHosts" => Entity::Host,
        "listAlerts" => Entity::Alert,
        "listStoragePools" => Entity::StoragePool,
        "listImageStores" => Entity::ImageStore,
        "listTemplates" | "listIsos" => Entity::Template,
        "listOsTypes" => Entity::OsType,
        "listOsCategories" => Entity::OsCategory,
        "listDiskOfferings" => Entity::DiskOffering,
        "listServiceOfferings" => Entity::ServiceOffering,
        "listPhysicalNetworks" => Entity::PhysicalNetwork,
        "listTrafficTypes" => Entity::TrafficType,
        "listNetworkServiceProviders" => Entity::NetworkServiceProvider,
        "listVirtualRouterElements" => Entity::VirtualRouterElement,
        "listNetworkOfferings" => Entity::NetworkOffering,
        "listNetworks" => Entity::Network,
        "listVlanIpRanges" => Entity::VlanIpRange,
        "listPublicIpAddresses" => Entity::PublicIp,
        "listSSHKeyPairs" => Entity::SshKeyPair,
        "listUserData" => Entity::UserData,
        "listVirtualMachines" => Entity::UserVm,
        "listRouters" => Entity::Router,
        "listVolumes" => Entity::Volume,
        "listSnapshots" => Entity::Snapshot,
        "listInstanceGroups" => Entity::InstanceGroup,
        "listEvents" => Entity::Event,
        "listAsyncJobs" => Entity::AsyncJob,
        _ => return None,
    })
}

/// CloudStack's refusal of `id` and `ids` together (`getIdsListFromCmd`).
pub const IDS_AND_ID: &str = "Specify either id or ids but not both parameters";

/// (command, parameter) filters a removed entity still filters by: live rows may point at it.
const KEEPS_REMOVED: &[(&str, &str)] = &[
    ("listSnapshots", "volumeid"),
    ("listVirtualMachines", "templateid"),
    ("listVolumes", "diskofferingid"),
];

/// Resolve the uuid filters of a list command; the internal ids found are kept in `a`.
pub async fn list_filters(app: &App, caller: &Caller, cmd: &Command, a: &mut Args) -> Result<Outcome, Error> {
    let id_entity = cmd
        .params
        .iter()
        .find(|p| p.name == "id")
        .and_then(|p| p.related)
        .and_then(entity_of);
    if cmd.params.iter().any(|p| p.name == "ids") && a.str("id").is_some() && !a.list("ids").is_empty() {
        return Err(Error::invalid(IDS_AND_ID));
    }
    for p in &cmd.params {
        match p.ty {
            PType::Uuid => {
                let Some(entity) = p.related.and_then(entity_of) else {
                    continue;
                };
                let Some(raw) = a.str(p.name).filter(|v| v != "-1") else {
                    continue;
                };
                let uuid = parse_uuid(&raw)
                    .map(|u| u.to_string())
                    .ok_or_else(|| Error::unknown_entity(p.name, &raw))?;
                match app.presence(caller, entity, std::slice::from_ref(&uuid)).await?[0] {
                    Presence::Unknown => return Err(Error::unknown_entity(p.name, &raw)),
                    Presence::Removed(id) if KEEPS_REMOVED.contains(&(cmd.name, p.name)) => a.resolved(p.name, id),
                    // A required uuid is what the command lists within (listNics' VM,
                    // listTrafficTypes' physical network), not a filter: the handler refuses a
                    // removed one as CloudStack's service layer does.
                    Presence::Removed(_) if p.required => {}
                    // CloudStack's service layer refuses a removed domain or account by id
                    // wherever one is named (`Domain id=… doesn't exist`, `Unable to find
                    // account by id …`): the handler's lookup refuses it the same way.
                    Presence::Removed(_) if matches!(entity, Entity::Domain | Entity::Account) => {}
                    Presence::Removed(_) => return Ok(Outcome::Empty),
                    Presence::Live(id) => a.resolved(p.name, id),
                }
            }
            PType::List if p.name == "ids" => {
                let (Some(entity), items) = (id_entity, a.list("ids")) else {
                    continue;
                };
                if items.is_empty() {
                    continue;
                }
                let mut uuids = Vec::with_capacity(items.len());
                for raw in &items {
                    let u = parse_uuid(raw).ok_or_else(|| Error::unknown_entity("ids", raw))?;
                    uuids.push(u.to_string());
                }
                let found = app.presence(caller, entity, &uuids).await?;
                if let Some(i) = found.iter().position(|f| *f == Presence::Unknown) {
                    return Err(Error::unknown_entity("ids", &items[i]));
                }
                if found.iter().all(|f| matches!(f, Presence::Removed(_))) {
                    return Ok(Outcome::Empty);
                }
            }
            PType::List
            | PType::String
            | PType::Boolean
            | PType::Integer
            | PType::Long
            | PType::Short
            | PType::Map
            | PType::Date
            | PType::TzDate => {}
        }
    }
    Ok(Outcome::Run)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Shape;

    /// Every uuid filter of a list command that names a listable entity resolves to a kind,
    /// and every `ids` has an `id` beside it naming the same kind.
    #[test]
    fn list_filters_name_known_entities() {
        let reg = crate::registry();
        for c in reg.all().iter().filter(|c| matches!(c.shape, Shape::List(_))) {
            for p in &c.params {
                if p.ty == PType::Uuid {
                    if let Some(r) = p.related {
                        let known =
                            entity_of(r).is_some() || matches!(r, "listProjects" | "listFollowUps" | "listNics");
                        assert!(known, "{}: {} related {r} maps to no entity", c.name, p.name);
                    }
                }
                if p.name == "ids" {
                    let id = c.params.iter().find(|x| x.name == "id").and_then(|x| x.related);
                    assert!(
                        id.and_then(entity_of).is_some(),
                        "{}: ids without a resolvable id",
                        c.name
                    );
                }
            }
        }
        for (cmd, param) in KEEPS_REMOVED {
            let c = reg.get(cmd).expect("registered");
            assert!(c.params.iter().any(|p| p.name == *param), "{cmd} has no {param}");
        }
    }
}
