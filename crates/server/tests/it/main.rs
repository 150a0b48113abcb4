//! Integration tests: the whole server on port 0, driven through the real HTTP API.

mod abuse;
mod agent_link;
mod catalog;
mod common;
mod concurrency;
mod diskfull;
mod faults;
mod followup;
mod founding;
mod identity;
mod identity_undo;
mod infra;
mod iso_deploy;
mod isos;
mod jobs;
#[cfg(feature = "kvm")]
mod kvm;
#[cfg(feature = "kvm")]
mod kvm_iso;
#[cfg(feature = "kvm")]
mod kvm_snapshots;
mod kvmhost;
mod lists;
mod model;
mod network;
mod physnet;
mod registry;
mod restart;
mod setup;
mod snapshot_hosts;
mod snapshots;
mod tags;
mod template_copy;
mod userdata;
mod vm;
mod vm_extras;
mod volumes;
mod wire;
