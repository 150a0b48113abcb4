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
mod isos;
mod jobs;
#[cfg(feature = "kvm")]
mod kvm;
mod kvmhost;
mod lists;
mod model;
mod network;
mod physnet;
mod registry;
mod restart;
mod setup;
mod snapshots;
mod tags;
mod userdata;
mod vm;
mod vm_extras;
mod volumes;
mod wire;
