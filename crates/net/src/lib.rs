//! ferrostack-net: the network model and the provider plugin interface.
//!
//! - [`model`]: services, providers, guest/traffic types, which provider delivers which
//!   service, validation of service→provider maps, the providers a physical network starts with.
//! - [`offerings`]: CloudStack's seeded default network offerings, exactly.
//! - [`element`]: the [`NetworkElement`] trait (one element per [`Provider`]), the
//!   [`UserDataServiceProvider`] capability, the plain-data contexts they take, and the
//!   [`ProviderRegistry`] that resolves a network's own service→provider map to elements.
//! - [`ipam`]: pure IPv4 helpers (CIDRs, gateways, ranges, overlap, iteration, MACs).
//! - `testing` (tests, or the `testing` feature): `RecordingElement` and sample contexts.
//!
//! Which services a network has comes only from its own service map: no provider for a
//! service means there is nothing to do, and elements never read the database, so cleanup of a
//! network whose row is gone still has what it needs.

pub mod element;
pub mod ipam;
pub mod model;
pub mod offerings;
#[cfg(any(test, feature = "testing"))]
pub mod testing;

pub use element::{
    NetworkCtx, NetworkElement, NicCtx, Password, ProviderRegistry, UserDataServiceProvider, VmCtx, VmKind,
};
pub use ipam::{Cidr, IpRange};
pub use model::{
    default_physical_network_providers, provider_for, provider_supports, validate_service_providers, GuestType,
    NspSeed, Provider, ProviderState, Service, TrafficType, ZoneNetworkType, ZoneType,
};
pub use offerings::{seeded_network_offerings, seeded_offering, Availability, OfferingSeed, SourceNatType};
