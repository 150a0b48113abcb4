//! Behaviour of the simulator through the agent contract, as the management server sees it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferrostack_agent_api::{
    Agent, AgentError, ConfigDriveImage, Connector, HostLocation, PowerState, RouterConfig, VmKind, VmSpec,
};

use crate::{MockResult, MockRule, Simulator};

fn loc(cluster: &str, host: &str) -> HostLocation {
    HostLocation {
        zone: "z1".into(),
        pod: "p1".into(),
        cluster: cluster.into(),
        host: host.into(),
    }
}

fn sim() -> (tempfile::TempDir, Arc<Simulator>) {
    let dir = tempfile::tempdir().unwrap();
    let sim = Simulator::new(dir.path().join("simulator"));
    (dir, sim)
}

async fn open(sim: &Arc<Simulator>, url: &str, host: &str) -> Arc<dyn Agent> {
    let connector: Arc<dyn Connector> = sim.clone();
    connector.open(url, &loc("c1", host), None).await.unwrap()
}

fn spec(name: &str) -> VmSpec {
    VmSpec {
        name: name.into(),
        kind: if name.starts_with("r-") {
            VmKind::DomainRouter
        } else {
            VmKind::User
        },
        cpus: 1,
        cpu_speed_mhz: 500,
        memory_bytes: 512 << 20,
        uuid: String::new(),
        root_disk: None,
        nics: vec![],
        boot_args: BTreeMap::new(),
        config_drive: None,
        data_disks: Vec::new(),
        iso: None,
    }
}

fn router_cfg(network: &str) -> RouterConfig {
    RouterConfig {
        network: network.into(),
        dhcp: true,
        dns: true,
        user_data: false,
        domain: Some("cs1cloud.internal".into()),
        dns_servers: vec!["8.8.8.8".into()],
        entries: vec![],
    }
}

fn assert_failed_with(result: Result<(), AgentError>, text: &str) {
    match result {
        Err(AgentError::Failed(msg)) => assert!(msg.contains(text), "message {msg:?} lacks {text:?}"),
        other => panic!("expected Failed containing {text:?}, got {other:?}"),
    }
}

#[tokio::test]
async fn open_validates_urls_and_connect_reports_capacity() {
    let (_d, sim) = sim();
    let connector: Arc<dyn Connector> = sim.clone();
    assert_eq!(connector.hypervisor(), "Simulator");
    let err = connector
        .open("http://10.1.1.1/c1/h1", &loc("c1", "h1"), None)
        .await
        .err()
        .unwrap();
    assert!(
        matches!(&err, AgentError::Failed(m) if m.contains("http://sim/")),
        "{err:?}"
    );

    let agent = connector
        .open("http://sim/c1/h1", &loc("c1", "h1"), None)
        .await
        .unwrap();
    let info = agent.connect().await.unwrap();
    assert_eq!(info.hypervisor, "Simulator");
    assert_eq!(info.hypervisor_version, "4.22.0.0");
    assert_eq!((info.cpu_sockets, info.cpu_cores, info.cpu_speed_mhz), (2, 16, 2000));
    assert_eq!(info.memory_bytes, 64 << 30);
    assert_eq!(info.local_storage_bytes, 1 << 40);
    assert!(info.private_ip.starts_with("172."), "{}", info.private_ip);

    let again = connector
        .open("HTTPS://SIM/c1/h1/", &loc("c1", "h1"), None)
        .await
        .unwrap();
    assert_eq!(again.connect().await.unwrap(), info, "deterministic per URL");
    let other = connector
        .open("http://sim/c1/h2", &loc("c1", "h2"), None)
        .await
        .unwrap();
    assert_ne!(other.connect().await.unwrap().private_ip, info.private_ip);
}

#[tokio::test]
async fn agents_for_the_same_url_share_the_host() {
    let (_d, sim) = sim();
    let a = open(&sim, "http://sim/c1/h1", "h1").await;
    let b = open(&sim, "https://sim/c1/h1", "h1").await;
    a.start_vm(&spec("i-2-10-VM")).await.unwrap();
    let report = b.ping().await.unwrap();
    assert_eq!(report.vms.get("i-2-10-VM"), Some(&PowerState::PowerOn));
    let other = open(&sim, "http://sim/c1/h2", "h2").await;
    assert!(other.ping().await.unwrap().vms.is_empty());
}

#[tokio::test]
async fn vm_lifecycle_is_idempotent_and_bumps_generations() {
    let (_d, sim) = sim();
    let agent = open(&sim, "http://sim/c1/h1", "h1").await;
    let g0 = agent.ping().await.unwrap().generation;
    assert_eq!(agent.ping().await.unwrap().generation, g0, "ping alone changes nothing");

    agent.start_vm(&spec("i-2-10-VM")).await.unwrap();
    let g1 = agent.ping().await.unwrap().generation;
    assert!(g1 > g0);
    assert_eq!(sim.vm_spec("i-2-10-VM"), Some(spec("i-2-10-VM")));
    agent.start_vm(&spec("i-2-10-VM")).await.unwrap();
    assert_eq!(
        agent.ping().await.unwrap().generation,
        g1,
        "starting a running VM is no change"
    );

    agent.reboot_vm("i-2-10-VM").await.unwrap();
    agent.stop_vm("i-2-10-VM", false).await.unwrap();
    let r = agent.ping().await.unwrap();
    assert!(r.generation > g1);
    assert_eq!(r.vms.get("i-2-10-VM"), Some(&PowerState::PowerOff));
    agent.stop_vm("i-2-10-VM", true).await.unwrap();
    agent.stop_vm("i-unknown", true).await.unwrap();
    assert_eq!(agent.ping().await.unwrap().generation, r.generation);

    assert_failed_with(agent.reboot_vm("i-2-10-VM").await, "not running");
    assert_failed_with(agent.reboot_vm("i-unknown").await, "not running");

    agent.destroy_vm("i-2-10-VM").await.unwrap();
    let gone = agent.ping().await.unwrap();
    assert!(gone.generation > r.generation);
    assert!(gone.vms.is_empty());
    agent.destroy_vm("i-2-10-VM").await.unwrap();
    assert_eq!(sim.vm_power("i-2-10-VM"), None);
}

#[tokio::test]
async fn a_vm_started_elsewhere_moves() {
    let (_d, sim) = sim();
    let h1 = open(&sim, "http://sim/c1/h1", "h1").await;
    let h2 = open(&sim, "http://sim/c1/h2", "h2").await;
    h1.start_vm(&spec("i-2-10-VM")).await.unwrap();
    let g1 = h1.ping().await.unwrap().generation;
    h2.start_vm(&spec("i-2-10-VM")).await.unwrap();
    let r1 = h1.ping().await.unwrap();
    assert!(r1.vms.is_empty());
    assert!(r1.generation > g1);
    assert_eq!(h2.ping().await.unwrap().vms.len(), 1);
    assert_eq!(sim.vm_host("i-2-10-VM").as_deref(), Some("http://sim/c1/h2"));
}

#[tokio::test]
async fn out_of_band_power_changes_and_crashes() {
    let (_d, sim) = sim();
    let agent = open(&sim, "http://sim/c1/h1", "h1").await;
    agent.start_vm(&spec("i-1")).await.unwrap();
    agent.start_vm(&spec("i-2")).await.unwrap();
    let g = agent.ping().await.unwrap().generation;
    assert!(sim.set_vm_power("i-1", PowerState::PowerOff));
    assert!(!sim.set_vm_power("i-none", PowerState::PowerOff));
    let r = agent.ping().await.unwrap();
    assert!(r.generation > g);
    assert_eq!(r.vms.get("i-1"), Some(&PowerState::PowerOff));
    assert_eq!(sim.power_off_all("h1"), 1);
    assert_eq!(sim.vm_power("i-2"), Some(PowerState::PowerOff));
    assert!(agent.ping().await.unwrap().generation > r.generation);
    assert_eq!(sim.power_off_all("no-such-host"), 0);
}

#[tokio::test]
async fn routers_must_run_to_be_programmed_and_configs_are_kept() {
    let (_d, sim) = sim();
    let h1 = open(&sim, "http://sim/c1/h1", "h1").await;
    let h2 = open(&sim, "http://sim/c1/h2", "h2").await;
    assert_failed_with(
        h1.program_router("r-11-VM", &router_cfg("net-a")).await,
        "router r-11-VM is not running",
    );
    h1.start_vm(&spec("r-11-VM")).await.unwrap();
    assert_failed_with(
        h2.program_router("r-11-VM", &router_cfg("net-a")).await,
        "not running on host h2",
    );
    assert_eq!(sim.router_program_count("r-11-VM"), 0);

    h1.program_router("r-11-VM", &router_cfg("net-a")).await.unwrap();
    h1.program_router("r-11-VM", &router_cfg("net-b")).await.unwrap();
    assert_eq!(sim.router_config("r-11-VM", "net-a"), Some(router_cfg("net-a")));
    assert_eq!(sim.router_config("r-11-VM", "net-b"), Some(router_cfg("net-b")));
    assert_eq!(sim.router_config("r-11-VM", "net-c"), None);
    assert_eq!(sim.router_program_count("r-11-VM"), 2);

    h1.stop_vm("r-11-VM", false).await.unwrap();
    assert_failed_with(h1.program_router("r-11-VM", &router_cfg("net-a")).await, "not running");
    h1.destroy_vm("r-11-VM").await.unwrap();
    assert_eq!(sim.router_config("r-11-VM", "net-a"), None);
    assert_eq!(sim.router_program_count("r-11-VM"), 2);
}

#[tokio::test]
async fn config_drives_are_written_and_deleted() {
    let (dir, sim) = sim();
    let agent = open(&sim, "http://sim/c1/h1", "h1").await;
    let image = ConfigDriveImage {
        vm_name: "i-2-10-VM".into(),
        file_name: "i-2-10-VM.iso".into(),
        iso: vec![1, 2, 3],
    };
    agent.put_config_drive(&image).await.unwrap();
    let path = dir.path().join("simulator/configdrive/i-2-10-VM.iso");
    assert_eq!(sim.config_drive_path("i-2-10-VM"), Some(path.clone()));
    assert_eq!(sim.config_drive_host("i-2-10-VM").as_deref(), Some("http://sim/c1/h1"));
    assert_eq!(std::fs::read(&path).unwrap(), vec![1, 2, 3]);

    let replaced = ConfigDriveImage {
        iso: vec![9; 10],
        ..image.clone()
    };
    agent.put_config_drive(&replaced).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), vec![9; 10]);

    agent.delete_config_drive("i-2-10-VM").await.unwrap();
    assert!(!path.exists());
    assert_eq!(sim.config_drive_path("i-2-10-VM"), None);
    agent.delete_config_drive("i-2-10-VM").await.unwrap();
    agent.delete_config_drive("i-never").await.unwrap();

    // A file removed behind the simulator's back still deletes cleanly.
    agent.put_config_drive(&image).await.unwrap();
    std::fs::remove_file(&path).unwrap();
    agent.delete_config_drive("i-2-10-VM").await.unwrap();

    let evil = ConfigDriveImage {
        file_name: "../escape.iso".into(),
        ..image
    };
    assert_failed_with(agent.put_config_drive(&evil).await, "invalid config drive file name");
}

#[tokio::test]
async fn mock_results_fail_fault_and_ok() {
    let (_d, sim) = sim();
    let agent = open(&sim, "http://sim/c1/h1", "h1").await;
    let fail = sim.configure(MockRule::new("StartCommand", MockResult::Fail));
    let err = agent.start_vm(&spec("i-1")).await.unwrap_err();
    assert_eq!(err, AgentError::Failed("Simulated failure".into()));
    assert_eq!(sim.vm_power("i-1"), None, "a failed start leaves no VM");
    sim.cleanup(fail);

    sim.configure(MockRule::new("PingCommand", MockResult::Fault));
    match agent.ping().await {
        Err(AgentError::Failed(m)) => assert!(m.starts_with("Simulated fault: PingCommand"), "{m}"),
        other => panic!("{other:?}"),
    }

    sim.configure(MockRule::new("StartCommand", MockResult::Ok));
    agent.start_vm(&spec("i-1")).await.unwrap();
    assert_eq!(sim.vm_power("i-1"), Some(PowerState::PowerOn));

    for command in [
        "StopCommand",
        "RebootCommand",
        "DestroyCommand",
        "ReadyCommand",
        "VmDataCommand",
    ] {
        sim.configure(MockRule::new(command, MockResult::Fail));
    }
    sim.configure(MockRule::new("HandleConfigDriveIsoCommand", MockResult::Fail));
    assert_failed_with(agent.stop_vm("i-1", false).await, "Simulated failure");
    assert_failed_with(agent.reboot_vm("i-1").await, "Simulated failure");
    assert_failed_with(agent.destroy_vm("i-1").await, "Simulated failure");
    assert_failed_with(agent.connect().await.map(|_| ()), "Simulated failure");
    assert_failed_with(agent.program_router("i-1", &router_cfg("n")).await, "Simulated failure");
    assert_failed_with(agent.delete_config_drive("i-1").await, "Simulated failure");
    assert_eq!(sim.vm_power("i-1"), Some(PowerState::PowerOn));
}

#[tokio::test]
async fn scope_precedence_host_over_cluster_over_zone_over_global() {
    let (_d, sim) = sim();
    let connector: Arc<dyn Connector> = sim.clone();
    let h1 = connector
        .open("http://sim/c1/h1", &loc("c1", "h1"), None)
        .await
        .unwrap();
    let h2 = connector
        .open("http://sim/c1/h2", &loc("c1", "h2"), None)
        .await
        .unwrap();
    let h3 = connector
        .open("http://sim/c2/h3", &loc("c2", "h3"), None)
        .await
        .unwrap();
    let h4 = HostLocation {
        zone: "z2".into(),
        pod: "p9".into(),
        cluster: "c9".into(),
        host: "h4".into(),
    };
    let h4 = connector.open("http://sim/z2/h4", &h4, None).await.unwrap();

    sim.configure(MockRule::new("StartCommand", MockResult::Fail));
    sim.configure(MockRule::new("StartCommand", MockResult::Fault).zone("z1"));
    sim.configure(MockRule::new("StartCommand", MockResult::Fail).cluster("c1"));
    sim.configure(MockRule::new("StartCommand", MockResult::Ok).host("h1"));

    h1.start_vm(&spec("i-1")).await.unwrap(); // host rule: Ok
    assert_failed_with(h2.start_vm(&spec("i-2")).await, "Simulated failure"); // cluster rule
    assert_failed_with(h3.start_vm(&spec("i-3")).await, "Simulated fault"); // zone rule
    assert_failed_with(h4.start_vm(&spec("i-4")).await, "Simulated failure"); // global rule
}

#[tokio::test]
async fn count_limits_how_often_a_rule_applies() {
    let (_d, sim) = sim();
    let agent = open(&sim, "http://sim/c1/h1", "h1").await;
    let id = sim.configure(MockRule::new("StartCommand", MockResult::Fail).host("h1").count(2));
    assert_failed_with(agent.start_vm(&spec("i-1")).await, "Simulated failure");
    assert_eq!(sim.query(id).unwrap().count, Some(1));
    assert_failed_with(agent.start_vm(&spec("i-1")).await, "Simulated failure");
    agent.start_vm(&spec("i-1")).await.unwrap();
    let info = sim.query(id).unwrap();
    assert_eq!((info.count, info.removed), (Some(0), false));
}

#[tokio::test]
async fn waits_delay_the_answer() {
    let (_d, sim) = sim();
    let agent = open(&sim, "http://sim/c1/h1", "h1").await;
    sim.configure(MockRule::new("StartCommand", MockResult::Ok).wait_ms(60).count(1));
    sim.configure(MockRule::new("StopCommand", MockResult::Fail).wait_ms(40));
    let t = Instant::now();
    agent.start_vm(&spec("i-1")).await.unwrap();
    assert!(t.elapsed() >= Duration::from_millis(60));
    let t = Instant::now();
    assert_failed_with(agent.stop_vm("i-1", false).await, "Simulated failure");
    assert!(t.elapsed() >= Duration::from_millis(40));
}

#[tokio::test]
async fn query_cleanup_and_list() {
    let (_d, sim) = sim();
    let agent = open(&sim, "http://sim/c1/h1", "h1").await;
    let a = sim.configure(
        MockRule::new("PingCommand", MockResult::Fail)
            .cluster("c1")
            .wait_ms(5)
            .count(4),
    );
    let b = sim.configure(MockRule::new("StopCommand", MockResult::Fault));
    let info = sim.query(a).unwrap();
    assert_eq!(info.id, a);
    assert_eq!(info.cluster.as_deref(), Some("c1"));
    assert_eq!((info.zone, info.pod, info.host), (None, None, None));
    assert_eq!(info.command, "PingCommand");
    assert_eq!(
        (info.result, info.wait_ms, info.count, info.removed),
        (MockResult::Fail, 5, Some(4), false)
    );
    assert!(agent.ping().await.is_err());

    assert!(sim.cleanup(a));
    assert!(sim.query(a).unwrap().removed);
    assert!(agent.ping().await.is_ok(), "a removed rule no longer applies");
    assert!(!sim.cleanup(12345));
    assert_eq!(sim.query(12345), None);
    let listed: Vec<_> = sim.list().into_iter().map(|m| (m.id, m.removed)).collect();
    assert_eq!(listed, vec![(a, true), (b, false)]);
}

#[tokio::test]
async fn a_down_host_is_unreachable_and_keeps_its_vms() {
    let (_d, sim) = sim();
    let agent = open(&sim, "http://sim/c1/h1", "host-uuid-1").await;
    agent.start_vm(&spec("i-1")).await.unwrap();
    let before = agent.ping().await.unwrap();

    assert!(sim.set_host_up("host-uuid-1", false));
    assert_eq!(sim.is_host_up("http://sim/c1/h1"), Some(false));
    assert!(matches!(agent.ping().await, Err(AgentError::Unreachable(_))));
    assert!(matches!(agent.connect().await, Err(AgentError::Unreachable(_))));
    assert!(matches!(
        agent.start_vm(&spec("i-2")).await,
        Err(AgentError::Unreachable(_))
    ));
    assert!(matches!(
        agent.stop_vm("i-1", true).await,
        Err(AgentError::Unreachable(_))
    ));
    assert!(matches!(agent.destroy_vm("i-1").await, Err(AgentError::Unreachable(_))));
    assert!(matches!(
        agent.delete_config_drive("i-1").await,
        Err(AgentError::Unreachable(_))
    ));
    // Mock rules are not consumed while the host is down.
    let id = sim.configure(MockRule::new("PingCommand", MockResult::Ok).count(1));
    assert!(agent.ping().await.is_err());
    assert_eq!(sim.query(id).unwrap().count, Some(1));

    assert!(sim.set_host_up("http://sim/c1/h1", true));
    assert_eq!(agent.ping().await.unwrap(), before);
    assert!(!sim.set_host_up("no-such-host", false));
    assert_eq!(sim.is_host_up("no-such-host"), None);
}

#[tokio::test]
async fn a_host_going_down_during_a_wait_is_unreachable() {
    let (_d, sim) = sim();
    let agent = open(&sim, "http://sim/c1/h1", "h1").await;
    let id = sim.configure(MockRule::new("StartCommand", MockResult::Ok).wait_ms(50).count(1));
    let pending = {
        let agent = agent.clone();
        tokio::spawn(async move { agent.start_vm(&spec("i-1")).await })
    };
    // The test runtime is single-threaded: once the rule is consumed the start is asleep in
    // its wait, and it cannot resume before the host is taken down below.
    while sim.query(id).unwrap().count != Some(0) {
        tokio::task::yield_now().await;
    }
    sim.set_host_up("h1", false);
    assert!(matches!(pending.await.unwrap(), Err(AgentError::Unreachable(_))));
    assert_eq!(sim.vm_power("i-1"), None);
}
