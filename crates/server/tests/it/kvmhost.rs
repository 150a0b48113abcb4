//! Bring-up for tests with `ferrostack agent` hosts: the agent as a child process of its own
//! (killed by pid when the test ends, pass or fail), and an edge zone whose cluster is KVM.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use crate::common::Client;
use crate::setup::{cloud, Cloud};

/// A running `ferrostack agent`.
pub struct AgentProcess {
    pub child: Child,
    pub url: String,
    pub data_dir: PathBuf,
    pub args: Vec<String>,
}

impl AgentProcess {
    /// Start `ferrostack agent` with credentials `root:<password>` and `args`; waits for the
    /// line saying where it listens.
    pub fn start(dir: &Path, password: &str, args: &[&str]) -> AgentProcess {
        let creds = dir.join("agent-credentials");
        std::fs::write(&creds, format!("root:{password}\n")).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&creds, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
        let data_dir = dir.join("agent-data");
        let mut all: Vec<String> = vec![
            "agent".into(),
            "--credentials".into(),
            creds.display().to_string(),
            "--data-dir".into(),
            data_dir.display().to_string(),
        ];
        all.extend(args.iter().map(|s| s.to_string()));
        if !args.contains(&"--listen") {
            all.extend(["--listen".to_string(), "127.0.0.1:0".to_string()]);
        }
        AgentProcess::spawn(all, data_dir)
    }

    fn spawn(args: Vec<String>, data_dir: PathBuf) -> AgentProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ferrostack"))
            .args(&args)
            .env(
                "FERROSTACK_LOG",
                std::env::var("FERROSTACK_AGENT_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start ferrostack agent");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let url = line
            .trim()
            .strip_prefix("ferrostack agent listening on ")
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!("the agent did not start: {line:?}")
            })
            .to_string();
        AgentProcess {
            child,
            url,
            data_dir,
            args,
        }
    }

    /// Kill -9 (as a crash would) and wait for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Start again on the same address and data directory.
    pub fn restart(&mut self) {
        self.kill();
        let mut args = self.args.clone();
        let addr = self.url.rsplit("://").next().unwrap().to_string();
        if let Some(i) = args.iter().position(|a| a == "--listen") {
            args[i + 1] = addr;
        }
        let data_dir = self.data_dir.clone();
        let fresh = AgentProcess::spawn(args, data_dir);
        *self = fresh;
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// An edge zone (physical network, providers) whose cluster `kvm1` is KVM, with the agent at
/// `url` added as its host and a host-local pool at `pool_dir`. Returns the cloud (its
/// `zone.hosts` holds the KVM host) — the zone's simulator cluster stays empty.
pub async fn kvm_edge(c: &Client, name: &str, url: &str, password: &str, pool_dir: &Path) -> Cloud {
    let mut edge = cloud(c, name, true, 0).await;
    let cl = c
        .get(
            "addCluster",
            &[
                ("clustername", "kvm1"),
                ("clustertype", "CloudManaged"),
                ("hypervisor", "KVM"),
                ("podid", &edge.zone.pod),
                ("zoneid", &edge.zone.zone),
            ],
        )
        .await;
    let cluster = cl.ok()["cluster"][0]["id"].as_str().unwrap().to_string();
    let h = add_host(c, &edge, &cluster, url, "root", password).await;
    assert_eq!(h.status, 200, "addHost: {}", h.text);
    let host = h.ok()["host"][0].clone();
    assert_eq!(host["state"], "Up", "{host}");
    assert_eq!(host["hypervisor"], "KVM");
    let host_id = host["id"].as_str().unwrap().to_string();
    std::fs::create_dir_all(pool_dir).unwrap();
    let pool = c
        .get(
            "createStoragePool",
            &[
                ("name", &format!("{name}-local")),
                ("zoneid", &edge.zone.zone),
                ("podid", &edge.zone.pod),
                ("clusterid", &cluster),
                ("hostid", &host_id),
                ("scope", "host"),
                ("url", &format!("local://{}", pool_dir.display())),
            ],
        )
        .await;
    assert_eq!(pool.status, 200, "createStoragePool: {}", pool.text);
    edge.zone.cluster = cluster;
    edge.zone.hosts = vec![host_id];
    edge
}

pub async fn add_host(
    c: &Client,
    cloud: &Cloud,
    cluster: &str,
    url: &str,
    user: &str,
    password: &str,
) -> crate::common::Answer {
    let mut p = vec![
        ("hypervisor", "KVM"),
        ("podid", cloud.zone.pod.as_str()),
        ("zoneid", cloud.zone.zone.as_str()),
        ("clusterid", cluster),
        ("url", url),
    ];
    if !user.is_empty() {
        p.push(("username", user));
    }
    if !password.is_empty() {
        p.push(("password", password));
    }
    c.get("addHost", &p).await
}

/// Register a direct-download KVM QCOW2 template (`system`: a routing template) and return
/// its id; ready at once in an edge zone.
pub async fn kvm_template(
    c: &Client,
    cloud: &Cloud,
    name: &str,
    url: &str,
    checksum: Option<&str>,
    system: bool,
) -> String {
    let mut p = vec![
        ("name", name),
        ("displaytext", name),
        ("url", url),
        ("format", "QCOW2"),
        ("hypervisor", "KVM"),
        ("ostypeid", cloud.ostype.as_str()),
        ("zoneid", cloud.zone.zone.as_str()),
        ("ispublic", "true"),
        ("directdownload", "true"),
    ];
    if let Some(cs) = checksum {
        p.push(("checksum", cs));
    }
    if system {
        p.push(("isrouting", "true"));
    }
    let r = c.get("registerTemplate", &p).await;
    r.ok()["template"][0]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("registerTemplate: {}", r.text))
        .to_string()
}

pub async fn vm(c: &Client, id: &str) -> Value {
    c.get("listVirtualMachines", &[("id", id)])
        .await
        .items("virtualmachine")[0]
        .clone()
}

/// A shared network offering served by ConfigDrive alone (Dhcp, Dns and UserData): no router;
/// the guest takes its address from the drive's network_data.json.
pub async fn configdrive_only_offering(c: &Client, name: &str) -> String {
    let r = c
        .post(
            "createNetworkOffering",
            &[
                ("name", name),
                ("displaytext", name),
                ("guestiptype", "Shared"),
                ("traffictype", "GUEST"),
                ("supportedservices", "Dhcp,Dns,UserData"),
                ("serviceproviderlist[0].service", "Dhcp"),
                ("serviceproviderlist[0].provider", "ConfigDrive"),
                ("serviceproviderlist[1].service", "Dns"),
                ("serviceproviderlist[1].provider", "ConfigDrive"),
                ("serviceproviderlist[2].service", "UserData"),
                ("serviceproviderlist[2].provider", "ConfigDrive"),
                ("specifyvlan", "true"),
                ("specifyipranges", "true"),
                ("enable", "true"),
            ],
        )
        .await;
    let id = r.ok()["networkoffering"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("createNetworkOffering: {}", r.text))
        .to_string();
    c.get("updateNetworkOffering", &[("id", &id), ("state", "Enabled")])
        .await
        .ok();
    id
}
