//! One load client: its own signed client (admin keys or one plain user's), its own VMs, a
//! recorder, and a loop that draws operations from the mix until the deadline. Async
//! commands are followed with queryAsyncJobResult every 100 ms.

use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::Value;

use super::mix::{Mix, Op};
use super::record::{JobEnd, Recorder};
use crate::client::{Answer, Client};

const POLL: Duration = Duration::from_millis(100);

/// What the clients act on.
#[derive(Debug)]
pub struct Target {
    pub zone: String,
    pub offering: String,
    pub template: String,
    /// Networks the admin deploys on (the shared one, and the isolated one with --isolated).
    pub admin_networks: Vec<String>,
    /// Networks plain users deploy on (the shared one).
    pub user_networks: Vec<String>,
}

#[derive(Debug)]
struct OwnVm {
    id: String,
    running: bool,
}

pub struct Worker {
    pub id: usize,
    pub admin: bool,
    c: Client,
    mix: Mix,
    rng: StdRng,
    target: Arc<Target>,
    vms: Vec<OwnVm>,
    routers: Vec<String>,
    list_turn: usize,
    seq: usize,
    job_timeout: Duration,
    pub rec: Recorder,
}

const ADMIN_LISTS: [&str; 5] = [
    "listVirtualMachines",
    "listNetworks",
    "listRouters",
    "listZones",
    "listHosts",
];
const USER_LISTS: [&str; 3] = ["listVirtualMachines", "listNetworks", "listZones"];

impl Worker {
    pub fn new(
        id: usize,
        admin: bool,
        c: Client,
        mix: Mix,
        rng: StdRng,
        target: Arc<Target>,
        job_timeout: Duration,
    ) -> Worker {
        Worker {
            id,
            admin,
            c,
            mix,
            rng,
            target,
            vms: Vec::new(),
            routers: Vec::new(),
            list_turn: 0,
            seq: 0,
            job_timeout,
            rec: Recorder::default(),
        }
    }

    pub fn own_vms(&self) -> usize {
        self.vms.len()
    }

    /// Draw and run operations until `deadline`; the one under way then is finished.
    pub async fn run_until(&mut self, deadline: Instant) {
        while Instant::now() < deadline {
            let op = self.mix.pick(self.rng.gen_range(0..self.mix.total()));
            self.run_op(op).await;
        }
    }

    /// Deploy `n` VMs of this client's own, one after the other (the pre-population).
    pub async fn deploy_n(&mut self, n: usize) -> usize {
        let mut ok = 0;
        for _ in 0..n {
            if self.deploy().await {
                ok += 1;
            }
        }
        ok
    }

    async fn run_op(&mut self, op: Op) {
        match op {
            Op::List => {
                self.rec.op("list");
                self.list().await;
            }
            Op::Deploy => {
                self.rec.op("deploy");
                self.deploy().await;
            }
            Op::StopStart => {
                if self.vms.is_empty() {
                    self.rec.op("deploy (stopstart: no VM of its own)");
                    self.deploy().await;
                } else {
                    self.rec.op("stopstart");
                    self.stop_start().await;
                }
            }
            Op::RebootRouter => {
                if self.routers.is_empty() {
                    self.routers = self.routers_now().await;
                }
                if self.routers.is_empty() {
                    self.rec.op("deploy (reboot-router: no router yet)");
                    self.deploy().await;
                } else {
                    self.rec.op("reboot-router");
                    let r = self.routers[self.rng.gen_range(0..self.routers.len())].clone();
                    self.job("rebootRouter", &[("id", &r)], false).await;
                }
            }
            Op::Destroy => {
                if self.vms.is_empty() {
                    self.rec.op("deploy (destroy: no VM of its own)");
                    self.deploy().await;
                } else {
                    self.rec.op("destroy");
                    let vm = self.vms.swap_remove(self.rng.gen_range(0..self.vms.len()));
                    self.job("destroyVirtualMachine", &[("id", &vm.id), ("expunge", "true")], false)
                        .await;
                }
            }
        }
    }

    /// One signed request, timed and recorded under `command`.
    async fn call(&mut self, command: &'static str, params: &[(&str, &str)], post: bool) -> Option<Answer> {
        let t = Instant::now();
        let r = if post {
            self.c.post(command, params).await
        } else {
            self.c.get(command, params).await
        };
        self.rec.request(command, t.elapsed(), &r);
        r.ok().filter(|a| a.status == 200)
    }

    async fn list(&mut self) {
        let lists: &[&'static str] = if self.admin { &ADMIN_LISTS } else { &USER_LISTS };
        let command = lists[self.list_turn % lists.len()];
        self.list_turn += 1;
        let mut p = vec![("page", "1"), ("pagesize", "500")];
        if matches!(command, "listVirtualMachines" | "listNetworks" | "listRouters") {
            p.push(("listall", "true"));
        }
        self.call(command, &p, false).await;
    }

    /// Submit an async command and follow its job; returns the answer's `id` (if any) and
    /// whether the job succeeded.
    async fn job(&mut self, command: &'static str, params: &[(&str, &str)], post: bool) -> (Option<String>, bool) {
        let t = Instant::now();
        let Some(a) = self.call(command, params, post).await else {
            return (None, false);
        };
        let id = a.str_at("/id");
        let Some(job) = a.str_at("/jobid") else {
            // A 200 without a job id: nothing to follow.
            return (id, true);
        };
        let end = self.follow(&job, t).await;
        self.rec.job(command, t.elapsed(), &end);
        (id, matches!(end, JobEnd::Succeeded))
    }

    async fn follow(&mut self, job: &str, since: Instant) -> JobEnd {
        loop {
            tokio::time::sleep(POLL).await;
            if let Some(a) = self.call("queryAsyncJobResult", &[("jobid", job)], false).await {
                let j = a.inner();
                match j.get("jobstatus").and_then(Value::as_i64) {
                    Some(0) => {}
                    Some(1) => return JobEnd::Succeeded,
                    Some(_) | None => {
                        let r = j.get("jobresult").cloned().unwrap_or(Value::Null);
                        let code = r
                            .get("errorcode")
                            .and_then(Value::as_i64)
                            .or_else(|| j.get("jobresultcode").and_then(Value::as_i64))
                            .unwrap_or(0);
                        let text = r
                            .get("errortext")
                            .and_then(Value::as_str)
                            .map(str::to_string)
                            .unwrap_or_else(|| r.to_string());
                        return JobEnd::Failed { code, text };
                    }
                }
            }
            if since.elapsed() > self.job_timeout {
                return JobEnd::TimedOut;
            }
        }
    }

    async fn deploy(&mut self) -> bool {
        self.seq += 1;
        let name = format!("load-c{}-{}", self.id, self.seq);
        let target = self.target.clone();
        let nets = if self.admin {
            &target.admin_networks
        } else {
            &target.user_networks
        };
        let net = &nets[self.seq % nets.len()];
        let (id, ok) = self
            .job(
                "deployVirtualMachine",
                &[
                    ("zoneid", &target.zone),
                    ("serviceofferingid", &target.offering),
                    ("templateid", &target.template),
                    ("networkids", net),
                    ("name", &name),
                ],
                true,
            )
            .await;
        match (id, ok) {
            (Some(id), true) => {
                self.vms.push(OwnVm { id, running: true });
                true
            }
            (Some(_) | None, _) => false,
        }
    }

    /// Stop (when it is running) then start one of the client's own VMs. A VM whose job failed
    /// is left alone from then on (its state is no longer known).
    async fn stop_start(&mut self) {
        let i = self.rng.gen_range(0..self.vms.len());
        let id = self.vms[i].id.clone();
        if self.vms[i].running {
            let (_, ok) = self.job("stopVirtualMachine", &[("id", &id)], false).await;
            if !ok {
                self.vms.swap_remove(i);
                return;
            }
            self.vms[i].running = false;
        }
        let (_, ok) = self.job("startVirtualMachine", &[("id", &id)], false).await;
        if ok {
            self.vms[i].running = true;
        } else {
            self.vms.swap_remove(i);
        }
    }

    /// The routers of the load zone (any state).
    async fn routers_now(&mut self) -> Vec<String> {
        let zone = self.target.zone.clone();
        let Some(a) = self
            .call(
                "listRouters",
                &[
                    ("zoneid", &zone),
                    ("listall", "true"),
                    ("page", "1"),
                    ("pagesize", "500"),
                ],
                false,
            )
            .await
        else {
            return Vec::new();
        };
        a.inner()
            .get("router")
            .and_then(Value::as_array)
            .map(|rs| {
                rs.iter()
                    .filter_map(|r| r.get("id").and_then(Value::as_str).map(str::to_string))
                    .collect()
            })
            .unwrap_or_default()
    }
}
