//! The kinds of entity a uuid parameter may name, and what a uuid resolves to.
//!
//! CloudStack translates every uuid parameter to its entity's internal id searching removed
//! rows too, so that an entity that existed and was removed is told apart from one that never
//! existed: a list asked for a removed entity answers an empty list, while a uuid that names
//! nothing is refused (431).

/// An entity kind a uuid parameter can name (one table, or one kind of row in a table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    Domain,
    Account,
    User,
    Role,
    Zone,
    Pod,
    Cluster,
    Host,
    Alert,
    StoragePool,
    ImageStore,
    /// Templates and ISOs (one table, as in CloudStack).
    Template,
    OsType,
    OsCategory,
    DiskOffering,
    ServiceOffering,
    PhysicalNetwork,
    TrafficType,
    NetworkServiceProvider,
    VirtualRouterElement,
    NetworkOffering,
    Network,
    VlanIpRange,
    PublicIp,
    SshKeyPair,
    UserData,
    UserVm,
    Router,
    Volume,
    Snapshot,
    InstanceGroup,
    Event,
    AsyncJob,
}

/// What a uuid resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Presence {
    /// A live row, by internal id.
    Live(i64),
    /// A row that existed and was removed (deleted, expunged, destroyed).
    Removed(i64),
    /// No row of that kind ever had this uuid.
    Unknown,
}

impl Presence {
    /// The internal id, live or removed.
    pub fn id(self) -> Option<i64> {
        match self {
            Presence::Live(id) | Presence::Removed(id) => Some(id),
            Presence::Unknown => None,
        }
    }
}
