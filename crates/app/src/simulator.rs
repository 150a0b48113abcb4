//! The simulator-control commands (`configureSimulator`, `querySimulatorMock`,
//! `cleanupSimulatorMock`, `updateSimulatorHost`) through the control handle `server`
//! injected. Without one every command answers 432.

use std::sync::Arc;

use ferrostack_agent_api::control::{MockId, MockInfo, MockRule, SimulatorControl};
use ferrostack_types::Error;

use crate::App;

pub use ferrostack_agent_api::control::MockResult;

impl App {
    fn simulator(&self) -> Result<&Arc<dyn SimulatorControl>, Error> {
        self.simulator.as_ref().ok_or_else(|| {
            Error::unsupported(
                "This management server runs without a simulated hypervisor; the simulator commands are unavailable",
            )
        })
    }

    /// `configureSimulator`: the rule's scope fields hold the zone, pod, cluster and host
    /// uuids as given; each is checked to exist.
    pub async fn simulator_configure(&self, mut rule: MockRule) -> Result<MockInfo, Error> {
        let sim = self.simulator()?;
        if !sim.commands().iter().any(|k| k.eq_ignore_ascii_case(&rule.command)) {
            return Err(Error::invalid(format!(
                "Unknown simulator command {}; use one of {}",
                rule.command,
                sim.commands().join(", ")
            )));
        }
        let mut conn = self.db.conn().await?;
        if let Some(z) = rule.zone.take() {
            rule.zone = Some(self.zone_get_for(&mut conn, "zoneid", &z).await?.uuid);
        }
        if let Some(p) = rule.pod.take() {
            rule.pod = Some(self.pod_get_for(&mut conn, "podid", &p).await?.uuid);
        }
        if let Some(c) = rule.cluster.take() {
            rule.cluster = Some(self.cluster_get_for(&mut conn, "clusterid", &c).await?.uuid);
        }
        if let Some(h) = rule.host.take() {
            rule.host = Some(self.host_get_for(&mut conn, "hostid", &h).await?.uuid);
        }
        drop(conn);
        let id = sim.configure(rule);
        sim.query(id).ok_or_else(|| Error::internal("mock vanished"))
    }

    /// `querySimulatorMock`.
    pub async fn simulator_query(&self, id: MockId) -> Result<MockInfo, Error> {
        self.simulator()?
            .query(id)
            .ok_or_else(|| Error::unknown_entity("id", id))
    }

    /// `cleanupSimulatorMock`.
    pub async fn simulator_cleanup(&self, id: MockId) -> Result<(), Error> {
        if !self.simulator()?.cleanup(id) {
            return Err(Error::unknown_entity("id", id));
        }
        Ok(())
    }

    /// `updateSimulatorHost`: take a simulated host down (optionally powering off its VMs,
    /// as a crash would) or bring it back.
    pub async fn simulator_host_update(&self, host_uuid: &str, up: bool, power_off_vms: bool) -> Result<(), Error> {
        let sim = self.simulator()?;
        let mut conn = self.db.conn().await?;
        let h = self.host_get_for(&mut conn, "id", host_uuid).await?;
        drop(conn);
        if h.hypervisor != sim.hypervisor() {
            return Err(Error::invalid(format!("Host {} is not a simulated host", h.name)));
        }
        if !up && power_off_vms {
            sim.power_off_all(&h.uuid);
        }
        if !sim.set_host_up(&h.uuid, up) {
            sim.set_host_up(&h.url, up);
        }
        Ok(())
    }
}
