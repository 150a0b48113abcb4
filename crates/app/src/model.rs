//! The data the api layer renders and the filters it fills: row structs and list filters
//! re-exported from the persistence layer, and nothing else. The api crate sees data, never
//! queries: every read and write goes through an `App` function.

pub use ferrostack_agent_api::control::{MockId, MockInfo, MockResult, MockRule};
pub use ferrostack_db::account::{Account, AccountFilter};
pub use ferrostack_db::alert::{Alert, AlertFilter};
pub use ferrostack_db::domain::{display_path, Domain, DomainFilter};
pub use ferrostack_db::event::{Event, EventFilter};
pub use ferrostack_db::group::{GroupFilter, InstanceGroup};
pub use ferrostack_db::host::{Host, HostFilter};
pub use ferrostack_db::job::{JobFilter, JobView};
pub use ferrostack_db::netoffering::OfferingFilter;
pub use ferrostack_db::network::{IpRange, Network, NetworkFilter, PublicIp, PublicIpFilter, RangeFilter};
pub use ferrostack_db::offering::{DiskFilter, DiskOffering, ServiceFilter, ServiceOffering};
pub use ferrostack_db::physnet::{
    Labels, NspFilter, PhysicalNetwork, PhysnetFilter, ServiceProvider, TrafficType, VrElement, VrFilter,
};
pub use ferrostack_db::role::{Role, RoleFilter};
pub use ferrostack_db::snapshot::{Snapshot, SnapshotFilter};
pub use ferrostack_db::sshkey::{KeyPairFilter, SshKeyPair};
pub use ferrostack_db::storage::{ImageStore, PoolFilter, PoolUpdate, StoragePool, StoreFilter};
pub use ferrostack_db::tag::{Detail, Tag, TagFilter, TagMatch};
pub use ferrostack_db::template::{
    CategoryFilter, GuestOs, GuestOsCategory, OsFilter, Template, TemplateInZone, TemplateUpdate, TemplateZone,
};
pub use ferrostack_db::user::{User, UserFilter};
pub use ferrostack_db::userdata::{UserData, UserDataFilter};
pub use ferrostack_db::vm::{Nic, Vm, VmFilter, Volume, VolumeFilter};
pub use ferrostack_db::zone::{Cluster, ClusterFilter, Pod, PodFilter, Zone, ZoneFilter};
