//! Failure and delay injection, modelled on CloudStack's `configureSimulator`.
//!
//! A [`MockRule`] names an agent command by its CloudStack class name (`StartCommand`, …),
//! an optional scope (zone, pod, cluster, host) and what to do: answer normally, fail or
//! fault, optionally after a delay, optionally only `count` times. When a command runs on a
//! host, the rules are searched bottom-up (host, then cluster, pod, zone, global) like
//! CloudStack's `findByNameBottomUP`; among rules of the same scope the newest wins. A rule
//! applies only while its count is unlimited or above zero, and each use decrements it.

use std::collections::BTreeMap;

pub use ferrostack_agent_api::control::{MockId, MockInfo, MockResult, MockRule};
use ferrostack_agent_api::HostLocation;

/// The agent command names the simulator consults mock rules for (CloudStack's agent
/// command class names). Rules naming other commands are accepted but never match.
pub const COMMANDS: &[&str] = &[
    "ReadyCommand",
    "PingCommand",
    "StartCommand",
    "StopCommand",
    "RebootCommand",
    "DestroyCommand",
    "VmDataCommand",
    "HandleConfigDriveIsoCommand",
    "AttachCommand",
    "DettachCommand",
    "ResizeVolumeCommand",
    "DeleteCommand",
    "CreateObjectCommand",
    "RevertSnapshotCommand",
    "CopyCommand",
];

/// How specific the rule's scope is; higher wins.
fn scope_rank(r: &MockInfo) -> u8 {
    match (&r.host, &r.cluster, &r.pod, &r.zone) {
        (Some(_), _, _, _) => 4,
        (None, Some(_), _, _) => 3,
        (None, None, Some(_), _) => 2,
        (None, None, None, Some(_)) => 1,
        (None, None, None, None) => 0,
    }
}

/// Whether the rule is live and applies to `command` on a host at `location`.
fn matches(r: &MockInfo, command: &str, location: &HostLocation) -> bool {
    let field = |rule: &Option<String>, actual: &str| rule.as_deref().is_none_or(|r| r == actual);
    !r.removed
        && r.count != Some(0)
        && r.command.eq_ignore_ascii_case(command)
        && field(&r.zone, &location.zone)
        && field(&r.pod, &location.pod)
        && field(&r.cluster, &location.cluster)
        && field(&r.host, &location.host)
}

/// The rule chosen for one command execution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct MockHit {
    pub id: MockId,
    pub result: MockResult,
    pub wait_ms: u64,
}

/// All configured rules, including removed ones (kept so `query` can report them).
#[derive(Debug, Default)]
pub(crate) struct MockTable {
    last_id: MockId,
    rules: BTreeMap<MockId, MockInfo>,
}

impl MockTable {
    pub fn configure(&mut self, rule: MockRule) -> MockId {
        self.last_id += 1;
        let id = self.last_id;
        let MockRule {
            zone,
            pod,
            cluster,
            host,
            command,
            result,
            wait_ms,
            count,
        } = rule;
        let info = MockInfo {
            id,
            zone,
            pod,
            cluster,
            host,
            command,
            result,
            wait_ms,
            count,
            removed: false,
        };
        self.rules.insert(id, info);
        id
    }

    pub fn query(&self, id: MockId) -> Option<MockInfo> {
        self.rules.get(&id).cloned()
    }

    /// Mark a rule removed; `false` if no such rule was ever configured.
    pub fn cleanup(&mut self, id: MockId) -> bool {
        match self.rules.get_mut(&id) {
            Some(rule) => {
                rule.removed = true;
                true
            }
            None => false,
        }
    }

    pub fn list(&self) -> Vec<MockInfo> {
        self.rules.values().cloned().collect()
    }

    /// Pick the rule for `command` on a host at `location` (most specific scope, then newest)
    /// and consume one use of it.
    pub fn select(&mut self, command: &str, location: &HostLocation) -> Option<MockHit> {
        let rule = self
            .rules
            .values_mut()
            .filter(|r| matches(r, command, location))
            .max_by_key(|r| (scope_rank(r), r.id))?;
        if let Some(n) = rule.count.as_mut() {
            *n -= 1;
        }
        Some(MockHit {
            id: rule.id,
            result: rule.result,
            wait_ms: rule.wait_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn loc(host: &str) -> HostLocation {
        HostLocation {
            zone: "z1".into(),
            pod: "p1".into(),
            cluster: "c1".into(),
            host: host.into(),
        }
    }

    #[test]
    fn precedence_is_host_cluster_pod_zone_global_then_newest() {
        let mut t = MockTable::default();
        let global = t.configure(MockRule::new("StartCommand", MockResult::Ok));
        let zone = t.configure(MockRule::new("StartCommand", MockResult::Ok).zone("z1"));
        let pod = t.configure(MockRule::new("StartCommand", MockResult::Ok).pod("p1"));
        let cluster = t.configure(MockRule::new("StartCommand", MockResult::Ok).cluster("c1"));
        let host = t.configure(MockRule::new("StartCommand", MockResult::Ok).host("h1"));
        let newer_global = t.configure(MockRule::new("StartCommand", MockResult::Ok));
        let pick = |t: &mut MockTable, h: &str| t.select("StartCommand", &loc(h)).map(|hit| hit.id);
        assert_eq!(pick(&mut t, "h1"), Some(host));
        assert_eq!(pick(&mut t, "h2"), Some(cluster));
        t.cleanup(cluster);
        assert_eq!(pick(&mut t, "h2"), Some(pod));
        t.cleanup(pod);
        assert_eq!(pick(&mut t, "h2"), Some(zone));
        t.cleanup(zone);
        assert_eq!(pick(&mut t, "h2"), Some(newer_global));
        t.cleanup(newer_global);
        assert_eq!(pick(&mut t, "h2"), Some(global));
        assert_eq!(t.select("StopCommand", &loc("h1")), None);
    }

    #[test]
    fn scope_fields_must_all_match() {
        let mut t = MockTable::default();
        t.configure(MockRule::new("PingCommand", MockResult::Fail).zone("z2").host("h1"));
        t.configure(MockRule::new("PingCommand", MockResult::Fail).cluster("c9"));
        assert_eq!(t.select("PingCommand", &loc("h1")), None);
    }

    #[test]
    fn command_names_ignore_ascii_case() {
        let mut t = MockTable::default();
        let id = t.configure(MockRule::new("startcommand", MockResult::Fail));
        assert_eq!(t.select("StartCommand", &loc("h1")).map(|h| h.id), Some(id));
    }

    #[test]
    fn count_is_consumed_and_exhausted_rules_fall_through() {
        let mut t = MockTable::default();
        let broad = t.configure(MockRule::new("StopCommand", MockResult::Ok).wait_ms(5));
        let once = t.configure(MockRule::new("StopCommand", MockResult::Fail).host("h1").count(2));
        let hit = t.select("StopCommand", &loc("h1")).unwrap();
        assert_eq!(
            hit,
            MockHit {
                id: once,
                result: MockResult::Fail,
                wait_ms: 0
            }
        );
        assert_eq!(t.query(once).unwrap().count, Some(1));
        assert_eq!(t.select("StopCommand", &loc("h1")).unwrap().id, once);
        assert_eq!(t.query(once).unwrap().count, Some(0));
        assert_eq!(t.select("StopCommand", &loc("h1")).unwrap().id, broad);
        assert_eq!(t.query(broad).unwrap().count, None);
    }

    #[test]
    fn query_cleanup_list() {
        let mut t = MockTable::default();
        let a = t.configure(
            MockRule::new("StartCommand", MockResult::Fault)
                .zone("z1")
                .wait_ms(7)
                .count(3),
        );
        let b = t.configure(MockRule::new("StopCommand", MockResult::Fail));
        assert_ne!(a, b);
        let info = t.query(a).unwrap();
        assert_eq!(info.zone.as_deref(), Some("z1"));
        assert_eq!(
            (info.result, info.wait_ms, info.count, info.removed),
            (MockResult::Fault, 7, Some(3), false)
        );
        assert!(t.cleanup(a));
        assert!(t.cleanup(a), "cleanup is idempotent");
        assert!(!t.cleanup(999));
        assert!(t.query(a).unwrap().removed);
        assert_eq!(t.query(999), None);
        assert_eq!(t.select("StartCommand", &loc("h1")), None);
        let ids: Vec<_> = t.list().iter().map(|m| (m.id, m.removed)).collect();
        assert_eq!(ids, vec![(a, true), (b, false)]);
    }
}
