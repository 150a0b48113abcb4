//! Control of a simulated hypervisor, for CloudStack's `configureSimulator` family:
//! failure and delay injection rules, host outages. The simulator implements
//! [`SimulatorControl`]; `server` injects it into the application next to the connectors,
//! so nothing above the agent contract names the simulator.

use serde::{Deserialize, Serialize};

/// Identifies a configured mock rule.
pub type MockId = u64;

/// What a matching rule makes the command answer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum MockResult {
    /// Answer normally (after the rule's wait).
    #[default]
    Ok,
    /// Answer `AgentError::Failed("Simulated failure")` (CloudStack `result=fail`).
    Fail,
    /// Answer `AgentError::Failed("Simulated fault: …")` (CloudStack `result=fault`).
    Fault,
}

/// A rule to configure. All scope fields `None` makes a global rule; otherwise every given
/// field must equal the host's location (`host` is the host uuid).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MockRule {
    pub zone: Option<String>,
    pub pod: Option<String>,
    pub cluster: Option<String>,
    pub host: Option<String>,
    /// CloudStack agent command class name, e.g. `StartCommand` (compared ignoring ASCII case).
    pub command: String,
    pub result: MockResult,
    /// Milliseconds to wait before answering.
    pub wait_ms: u64,
    /// How many times the rule applies; `None` is unlimited.
    pub count: Option<u32>,
}

impl MockRule {
    /// A global, unlimited rule without delay.
    pub fn new(command: impl Into<String>, result: MockResult) -> Self {
        MockRule {
            command: command.into(),
            result,
            ..MockRule::default()
        }
    }
    /// Scope the rule to a zone.
    pub fn zone(mut self, zone: impl Into<String>) -> Self {
        self.zone = Some(zone.into());
        self
    }
    /// Scope the rule to a pod.
    pub fn pod(mut self, pod: impl Into<String>) -> Self {
        self.pod = Some(pod.into());
        self
    }
    /// Scope the rule to a cluster.
    pub fn cluster(mut self, cluster: impl Into<String>) -> Self {
        self.cluster = Some(cluster.into());
        self
    }
    /// Scope the rule to a host (by host uuid).
    pub fn host(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }
    /// Wait this long before answering.
    pub fn wait_ms(mut self, wait_ms: u64) -> Self {
        self.wait_ms = wait_ms;
        self
    }
    /// Apply only `count` times.
    pub fn count(mut self, count: u32) -> Self {
        self.count = Some(count);
        self
    }
}

/// A configured rule as `querySimulatorMock` shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MockInfo {
    pub id: MockId,
    pub zone: Option<String>,
    pub pod: Option<String>,
    pub cluster: Option<String>,
    pub host: Option<String>,
    pub command: String,
    pub result: MockResult,
    pub wait_ms: u64,
    /// Remaining uses; `None` is unlimited, `Some(0)` is exhausted.
    pub count: Option<u32>,
    /// Set by `cleanup`; a removed rule never matches.
    pub removed: bool,
}

/// What the simulator-control commands need from a simulated hypervisor.
pub trait SimulatorControl: Send + Sync {
    /// The hypervisor type name of the hosts it simulates (`Simulator`).
    fn hypervisor(&self) -> &'static str;
    /// The agent command names mock rules are consulted for.
    fn commands(&self) -> &'static [&'static str];
    /// Add a mock rule; returns its id.
    fn configure(&self, rule: MockRule) -> MockId;
    /// A rule by id, including removed ones.
    fn query(&self, id: MockId) -> Option<MockInfo>;
    /// Remove a rule; `false` if no rule has this id.
    fn cleanup(&self, id: MockId) -> bool;
    /// Take a host down or bring it back, by URL or host uuid; `false` if none matched.
    fn set_host_up(&self, url_or_host_uuid: &str, up: bool) -> bool;
    /// Power off every VM on a host (a crash); returns how many.
    fn power_off_all(&self, url_or_host_uuid: &str) -> usize;
}
