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

/// Declared parameters accepted on purpose without code reading them, because every value
/// already gets what it asks for: (parameter, why).
#[cfg(test)]
const MOOT: &[(&str, &str)] = &[
    (
        "asyncbackup",
        "a snapshot job answers once the snapshot is backed up, asked to or not",
    ),
    (
        "available",
        "listZones answers every zone the caller may use, as available=true asks",
    ),
    ("fetchlatest", "host capacities are always current"),
    (
        "forced",
        "updateNetwork changes nothing that would need forcing (offering and CIDR changes are refused)",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::Support;

    fn sources(dir: &std::path::Path, out: &mut String) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                sources(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push_str(&std::fs::read_to_string(&p).unwrap());
            }
        }
    }

    /// Nothing silently ignored: every parameter a command declares as working is read
    /// somewhere beyond its declaration (or is moot, with the reason); the rest are declared
    /// `only`/`refused`, which validation enforces.
    #[test]
    fn every_declared_parameter_is_read_or_refused() {
        let mut src = String::new();
        sources(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut src);
        let mut unread = std::collections::BTreeSet::new();
        for c in all() {
            for p in &c.params {
                if p.support != Support::Full || MOOT.iter().any(|(m, _)| *m == p.name) {
                    continue;
                }
                // Parameter names are case-insensitive (`domainId` is read as `domainid`).
                let declared = format!("Param::new(\"{}\"", p.name);
                let quoted = format!("\"{}\"", p.name.to_lowercase());
                if src.matches(&quoted).count() <= src.matches(&declared).count() {
                    unread.insert(format!("{}.{}", c.name, p.name));
                }
            }
        }
        assert!(
            unread.is_empty(),
            "declared but never read (implement them, or declare them .only(..)/.refused(..)): {unread:?}"
        );
    }
}
