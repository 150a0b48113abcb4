//! Every command, grouped by resource. Each module returns its `Command` declarations; the
//! handlers beside them are thin: read args, call one app function, build the reply.

pub mod account;
pub mod config;
pub mod discovery;
pub mod domain;
pub mod event;
pub mod followup;
pub mod group;
pub mod host;
pub mod iso;
pub mod job;
pub mod netoffering;
pub mod network;
pub mod offering;
pub mod physnet;
pub mod router;
pub mod simulator;
pub mod snapshot;
pub mod sshkey;
pub mod storage;
pub mod tag;
pub mod template;
pub mod template_copy;
pub mod user;
pub mod userdata;
pub mod vm;
pub mod vm_extras;
pub mod volume;
pub mod zone;

use crate::registry::Command;

pub fn all() -> Vec<Command> {
    let mut v = Vec::new();
    v.extend(discovery::commands());
    v.extend(domain::commands());
    v.extend(account::commands());
    v.extend(user::commands());
    v.extend(event::commands());
    v.extend(job::commands());
    v.extend(zone::commands());
    v.extend(host::commands());
    v.extend(config::commands());
    v.extend(simulator::commands());
    v.extend(vm::commands());
    v.extend(volume::commands());
    v.extend(vm_extras::commands());
    v.extend(group::commands());
    v.extend(router::commands());
    v.extend(storage::commands());
    v.extend(template::commands());
    v.extend(template_copy::commands());
    v.extend(iso::commands());
    v.extend(snapshot::commands());
    v.extend(offering::commands());
    v.extend(physnet::commands());
    v.extend(netoffering::commands());
    v.extend(network::commands());
    v.extend(sshkey::commands());
    v.extend(userdata::commands());
    v.extend(tag::commands());
    v.extend(followup::commands());
    v
}

/// Items of a list answer.
pub fn items<T>(rows: &[T], f: impl Fn(&T) -> serde_json::Value) -> Vec<serde_json::Value> {
    rows.iter().map(f).collect()
}
