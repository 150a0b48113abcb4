//! The lifecycle flows of every VM row — user VMs and virtual routers alike: start, stop,
//! reboot, destroy, expunge. One machine (`VmState`), one path per operation; what differs by
//! kind (a router's template check and configuration, a user VM's networks and config drive)
//! is a hook matched on [`VmType`], never a copy of the flow.
//!
//! Start is a sequence of named steps with an undo each ([`StartStep`]); the start, deploy and
//! router-start jobs run them as saga steps, and a network that starts its router inline runs
//! the same steps with the same undos ([`App::vm_start_flow`]).

use ferrostack_db::vm::{self as vm_db, Vm};
use ferrostack_db::{db_err, network as net_db};
use ferrostack_net::Provider;
use ferrostack_types::state::{PowerState, VmEvent, VmState, VmType};
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::vmstart::Begun;
use crate::vmstate::{noun, vm_event, volumes_to, VolumeGoal};
use crate::App;

ferrostack_types::cloudstack_enum! {
    /// The steps of a start, in order.
    pub enum StartStep {
        /// Kind checks (a router's template), then Stopped → Starting.
        Begin => "begin",
        /// Implement the NICs' networks and prepare their elements (user VMs).
        PrepareNics => "prepare_nics",
        /// Reserve capacity on a host, put the config drive there, start the VM; routers are
        /// programmed on that host before the start counts.
        StartOnHost => "start_on_host",
        /// Starting → Running with the host, power state and volumes, in one transaction.
        Commit => "commit",
    }
}
crate::saga_steps!(StartStep);

/// What a start records for its undos (the saga's scratch data).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct StartData {
    /// The VM was already running (or the deploy asked not to start it): nothing to undo.
    #[serde(default)]
    pub skip: bool,
    /// The host the VM was started on.
    #[serde(default)]
    pub host_id: Option<i64>,
}

impl StartData {
    pub fn read(v: &Value) -> Result<Self, Error> {
        if v.is_null() {
            return Ok(StartData::default());
        }
        serde_json::from_value(v.clone()).map_err(|e| Error::internal(format!("start step data does not parse: {e}")))
    }
    fn write(&self, v: &mut Value) -> Result<(), Error> {
        *v = serde_json::to_value(self).map_err(|e| Error::internal(format!("start step data: {e}")))?;
        Ok(())
    }
}

/// How an expunge treats a VM that is still running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpungeMode {
    /// Destroy it first (stopped, forced); a stop the host refuses fails the expunge with the
    /// host's reason. User VMs.
    AfterDestroy,
    /// Try a forced stop and expunge whatever it answers: the host-side removal is a durable
    /// follow-up. Routers: destroying a router always converges.
    Converge,
}

impl App {
    pub async fn vm_load(&self, vm_id: i64) -> Result<Vm, Error> {
        vm_db::get(self.db.read(), vm_id)
            .await?
            .ok_or_else(|| Error::invalid(format!("VM {vm_id} no longer exists")))
    }

    /// Start a VM or router inline: the steps of the start job, and on failure the undos of the
    /// completed ones, newest first. A VM that another operation is starting is waited for.
    pub async fn vm_start_flow(&self, vm_id: i64, preferred_host: Option<i64>) -> Result<(), Error> {
        let mut data = Value::Null;
        let mut done: Vec<StartStep> = Vec::new();
        for &step in StartStep::ALL {
            match self.vm_start_step(vm_id, preferred_host, step, &mut data).await {
                Ok(()) => done.push(step),
                Err(e) => {
                    for &d in done.iter().rev() {
                        if let Err(ue) = self.vm_start_undo(vm_id, d, &data).await {
                            tracing::warn!(vm = vm_id, step = d.as_str(), error = %ue, "undoing a start step failed");
                        }
                    }
                    return Err(e);
                }
            }
        }
        Ok(())
    }

    /// Run one start step.
    pub async fn vm_start_step(
        &self,
        vm_id: i64,
        preferred_host: Option<i64>,
        step: StartStep,
        data: &mut Value,
    ) -> Result<(), Error> {
        let mut d = StartData::read(data)?;
        if d.skip {
            return Ok(());
        }
        match step {
            StartStep::Begin => {
                if self.vm_start_begin(vm_id).await? == Begun::AlreadyRunning {
                    d.skip = true;
                    d.write(data)?;
                }
                Ok(())
            }
            StartStep::PrepareNics => {
                let vm = self.vm_load(vm_id).await?;
                self.vm_prepare_nics(&vm).await
            }
            StartStep::StartOnHost => {
                let vm = self.vm_load(vm_id).await?;
                let host = self.vm_place_and_start(&vm, preferred_host).await?;
                d.host_id = Some(host);
                d.write(data)?;
                if let Err(e) = self.vm_after_host_start(&vm, host).await {
                    // The step failed as a whole: take back what it did before reporting.
                    self.vm_start_undo(vm_id, StartStep::StartOnHost, data).await?;
                    return Err(e);
                }
                Ok(())
            }
            StartStep::Commit => {
                let host = d
                    .host_id
                    .ok_or_else(|| Error::internal("start commit without a host"))?;
                let mut tx = self.db.begin().await?;
                let vm = vm_db::get(&mut *tx, vm_id)
                    .await?
                    .ok_or_else(|| Error::invalid("The VM was removed while starting"))?;
                use ferrostack_db::sql::Arg;
                vm_db::set_cols(
                    &mut tx,
                    vm_id,
                    &[
                        ("host_id", Arg::I64(host)),
                        ("last_host_id", Arg::I64(host)),
                        ("power_state", Arg::Str(PowerState::PowerOn.as_str().into())),
                        ("power_generation", Arg::I64(0)),
                    ],
                )
                .await?;
                vm_event(&mut tx, &vm, VmEvent::OperationSucceeded).await?;
                volumes_to(&mut tx, vm_id, VolumeGoal::Ready, now_ms()).await?;
                vm_db::place_volumes(&mut tx, vm_id, host).await?;
                tx.commit().await.map_err(db_err)
            }
        }
    }

    /// Undo a completed start step. Idempotent; a VM that is gone is done.
    pub async fn vm_start_undo(&self, vm_id: i64, step: StartStep, data: &Value) -> Result<(), Error> {
        let d = StartData::read(data)?;
        if d.skip {
            return Ok(());
        }
        let Some(vm) = vm_db::get(self.db.read(), vm_id).await? else {
            return Ok(());
        };
        match step {
            // Running → Stopping: the host-side stop is the next undo.
            StartStep::Commit => {
                if vm.state == VmState::Running {
                    let mut c = self.db.write_conn().await?;
                    vm_event(&mut c, &vm, VmEvent::StopRequested).await?;
                }
                Ok(())
            }
            StartStep::StartOnHost => {
                let host = d.host_id.or(vm.host_id).or(vm.capacity_host_id);
                if let Some(h) = host {
                    if let Err(e) = self.vm_stop_on(&vm, h, true).await {
                        tracing::info!(vm = %vm.instance_name, error = %e, "stopping a failed start on its host failed; removing it there later");
                        let mut c = self.db.write_conn().await?;
                        self.followup_host_destroy_enqueue(&mut c, h, &vm.instance_name).await?;
                    }
                }
                let mut tx = self.db.begin().await?;
                if let Some(fresh) = vm_db::get(&mut *tx, vm_id).await? {
                    self.vm_release_capacity(&mut tx, &fresh).await?;
                    if let Some(h) = host {
                        // The host knows the VM now: an expunge removes it from there.
                        vm_db::set_cols(&mut tx, vm_id, &[("last_host_id", ferrostack_db::sql::Arg::I64(h))]).await?;
                    }
                }
                tx.commit().await.map_err(db_err)
            }
            // The networks stay implemented and the elements keep the NIC's entries: they
            // belong to the VM while it exists, started or not (released at expunge).
            StartStep::PrepareNics => Ok(()),
            // Back to Stopped with nothing held: no capacity, no host, no config drive.
            StartStep::Begin => {
                let mut tx = self.db.begin().await?;
                let Some(fresh) = vm_db::get(&mut *tx, vm_id).await? else {
                    return Ok(());
                };
                self.vm_release_capacity(&mut tx, &fresh).await?;
                match fresh.state {
                    VmState::Starting => {
                        vm_event(&mut tx, &fresh, VmEvent::OperationFailed).await?;
                    }
                    VmState::Stopping => {
                        vm_event(&mut tx, &fresh, VmEvent::OperationSucceeded).await?;
                    }
                    VmState::Stopped
                    | VmState::Running
                    | VmState::Destroyed
                    | VmState::Expunging
                    | VmState::Migrating
                    | VmState::Error
                    | VmState::Unknown
                    | VmState::Shutdown => {}
                }
                vm_db::set_cols(&mut tx, vm_id, &[("host_id", ferrostack_db::sql::Arg::OptI64(None))]).await?;
                let nics = vm_db::nics_of(&mut tx, &[vm_id]).await?;
                self.enqueue_releases_for(&mut tx, &fresh, &nics, released_on_stop(fresh.vm_type))
                    .await?;
                tx.commit().await.map_err(db_err)
            }
        }
    }

    /// Kind hook before a start: routers take the zone's current router template and check
    /// that it can run there.
    pub(crate) async fn vm_before_start(&self, vm: &Vm) -> Result<Vm, Error> {
        match vm.vm_type {
            VmType::User => Ok(vm.clone()),
            VmType::DomainRouter => self.router_before_start(vm).await,
        }
    }

    /// Kind hook: implement a user VM's networks and prepare their elements for its NICs. A
    /// router is what implements its network, so it has nothing to prepare.
    async fn vm_prepare_nics(&self, vm: &Vm) -> Result<(), Error> {
        match vm.vm_type {
            VmType::DomainRouter => Ok(()),
            VmType::User => {
                let mut c = self.db.conn().await?;
                let nics = vm_db::nics_of(&mut c, &[vm.id]).await?;
                drop(c);
                for nic in &nics {
                    self.network_implement(nic.network_id).await?;
                }
                let mut c = self.db.conn().await?;
                let mut work = Vec::new();
                for nic in &nics {
                    if let Some(n) = net_db::get(&mut *c, nic.network_id).await? {
                        work.push((self.network_ctx(&mut c, &n).await?, Self::nic_ctx(vm, nic)));
                    }
                }
                drop(c);
                for (ctx, nic) in &work {
                    for el in self.elements().elements_for(&ctx.services) {
                        el.prepare(ctx, nic).await?;
                    }
                }
                Ok(())
            }
        }
    }

    /// Kind hook once the VM runs on `host`: a router is programmed there before its start
    /// counts (a router without its configuration serves nothing).
    async fn vm_after_host_start(&self, vm: &Vm, host: i64) -> Result<(), Error> {
        match vm.vm_type {
            VmType::User => Ok(()),
            VmType::DomainRouter => self.router_program_on(vm, host).await,
        }
    }

    /// Stop: → Stopping, the host stops it, → Stopped with its capacity released and the
    /// config drive's removal recorded as a follow-up. A stopped VM is done; a stop the host
    /// refuses puts the VM back where it was.
    pub async fn vm_stop_flow(&self, vm_id: i64, forced: bool) -> Result<(), Error> {
        let mut vm = self.vm_load(vm_id).await?;
        match vm.state {
            VmState::Stopped => return Ok(()),
            VmState::Stopping => {} // resumed
            VmState::Starting
            | VmState::Running
            | VmState::Destroyed
            | VmState::Expunging
            | VmState::Migrating
            | VmState::Error
            | VmState::Unknown
            | VmState::Shutdown => {
                let mut c = self.db.write_conn().await?;
                vm.state = vm_event(&mut c, &vm, VmEvent::StopRequested).await?;
            }
        }
        if let Err(e) = self.vm_stop_on_host(&vm, forced).await {
            let mut c = self.db.write_conn().await?;
            vm_event(&mut c, &vm, VmEvent::OperationFailed).await?;
            return Err(e);
        }
        let mut tx = self.db.begin().await?;
        let fresh = vm_db::get(&mut *tx, vm_id)
            .await?
            .ok_or_else(|| Error::invalid("The VM was removed while stopping"))?;
        self.vm_release_capacity(&mut tx, &fresh).await?;
        let nics = vm_db::nics_of(&mut tx, &[vm_id]).await?;
        self.enqueue_releases_for(&mut tx, &fresh, &nics, released_on_stop(fresh.vm_type))
            .await?;
        vm_db::set_cols(&mut tx, vm_id, &[("host_id", ferrostack_db::sql::Arg::OptI64(None))]).await?;
        vm_event(&mut tx, &fresh, VmEvent::OperationSucceeded).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Reboot on the host; a router is programmed again afterwards.
    pub async fn vm_reboot_flow(&self, vm_id: i64) -> Result<(), Error> {
        let vm = self.vm_load(vm_id).await?;
        if vm.state != VmState::Running {
            return Err(Error::invalid(format!(
                "{} {} is {}; only a Running {} can be rebooted",
                noun(vm.vm_type),
                vm.name,
                vm.state,
                noun(vm.vm_type)
            )));
        }
        let host = vm.host_id.ok_or_else(|| Error::internal("running VM without host"))?;
        let agent = self
            .agents
            .get(host)
            .ok_or_else(|| Error::ResourceUnavailable(format!("The host of {} is not connected", vm.instance_name)))?;
        agent
            .reboot_vm(&vm.instance_name)
            .await
            .map_err(|e| crate::vmops::agent_err(&format!("Rebooting {}", vm.instance_name), e))?;
        match vm.vm_type {
            VmType::User => Ok(()),
            VmType::DomainRouter => self.router_program_on(&vm, host).await,
        }
    }

    /// Destroy a user VM: stop it (forced), → Destroyed with its volumes. Addresses stay until
    /// expunge so the VM can be recovered. A VM in Error has nothing to keep: it is expunged.
    pub async fn vm_destroy_flow(&self, vm_id: i64) -> Result<(), Error> {
        let vm = self.vm_load(vm_id).await?;
        match vm.state {
            VmState::Destroyed | VmState::Expunging => return Ok(()),
            VmState::Stopped | VmState::Error => {}
            VmState::Starting
            | VmState::Running
            | VmState::Stopping
            | VmState::Migrating
            | VmState::Unknown
            | VmState::Shutdown => self.vm_stop_flow(vm_id, true).await?,
        }
        let mut tx = self.db.begin().await?;
        let fresh = vm_db::get(&mut *tx, vm_id)
            .await?
            .ok_or_else(|| Error::invalid("The VM was removed meanwhile"))?;
        let to = vm_event(&mut tx, &fresh, VmEvent::DestroyRequested).await?;
        vm_db::set_cols(
            &mut tx,
            vm_id,
            &[("destroyed_at", ferrostack_db::sql::Arg::I64(now_ms()))],
        )
        .await?;
        volumes_to(&mut tx, vm_id, VolumeGoal::Destroyed, now_ms()).await?;
        tx.commit().await.map_err(db_err)?;
        if to == VmState::Expunging {
            self.vm_expunge_commit(vm_id).await?;
        }
        Ok(())
    }

    /// Expunge a user VM (destroying it first if needed).
    pub async fn vm_expunge_flow(&self, vm_id: i64) -> Result<(), Error> {
        self.vm_expunge(vm_id, ExpungeMode::AfterDestroy).await
    }

    /// Expunge: → Expunging → removed, in one transaction with everything that is
    /// database-only (addresses, NICs, volumes, capacity) and with the follow-ups that reach
    /// outside (element entries, config drive, the host's copy). Converges: a VM already gone
    /// is done; with [`ExpungeMode::Converge`] a host that cannot stop it does not block.
    pub async fn vm_expunge(&self, vm_id: i64, mode: ExpungeMode) -> Result<(), Error> {
        let Some(vm) = vm_db::get(self.db.read(), vm_id).await? else {
            return Ok(());
        };
        if vm.vm_type == VmType::DomainRouter {
            self.router_rounds.forget(vm.id);
        }
        match (vm.state, mode) {
            (VmState::Expunging | VmState::Destroyed | VmState::Error, _) => {}
            (VmState::Stopped, ExpungeMode::Converge) => {}
            (
                VmState::Stopped
                | VmState::Starting
                | VmState::Running
                | VmState::Stopping
                | VmState::Migrating
                | VmState::Unknown
                | VmState::Shutdown,
                ExpungeMode::AfterDestroy,
            ) => self.vm_destroy_flow(vm_id).await?,
            (VmState::Running | VmState::Stopping | VmState::Unknown | VmState::Shutdown, ExpungeMode::Converge) => {
                if let Err(e) = self.vm_stop_flow(vm_id, true).await {
                    tracing::info!(vm = %vm.instance_name, error = %e, "stopping before expunge failed; expunging anyway");
                }
            }
            // Nothing to ask the host yet: the in-flight operation's host copy is removed by
            // the host-side follow-up below.
            (VmState::Starting | VmState::Migrating, ExpungeMode::Converge) => {}
        }
        self.vm_expunge_commit(vm_id).await
    }

    /// The expunge transaction: → Expunging (through the machine, from wherever the VM is),
    /// everything released, the row removed.
    async fn vm_expunge_commit(&self, vm_id: i64) -> Result<(), Error> {
        let mut tx = self.db.begin().await?;
        let Some(vm) = vm_db::get(&mut *tx, vm_id).await? else {
            return Ok(());
        };
        if vm.state != VmState::Expunging {
            vm_event(&mut tx, &vm, VmEvent::ExpungeOperation).await?;
        }
        let now = now_ms();
        match vm.vm_type {
            VmType::User => {
                let nics = vm_db::nics_of(&mut tx, &[vm_id]).await?;
                self.enqueue_nic_releases(&mut tx, &vm, &nics).await?;
            }
            // A router's own NICs are no element's consumers.
            VmType::DomainRouter => {}
        }
        if let Some(h) = vm.host_id.or(vm.last_host_id).or(vm.capacity_host_id) {
            self.followup_host_destroy_enqueue(&mut tx, h, &vm.instance_name)
                .await?;
        }
        self.vm_release_capacity(&mut tx, &vm).await?;
        net_db::release_owner(&mut *tx, &vm.uuid).await?;
        vm_db::remove_nics(&mut tx, vm_id, now).await?;
        volumes_to(&mut tx, vm_id, VolumeGoal::Expunged, now).await?;
        if vm.destroyed_at.is_none() {
            vm_db::set_cols(&mut tx, vm_id, &[("destroyed_at", ferrostack_db::sql::Arg::I64(now))]).await?;
        }
        // Its tags and details (and its volumes' and NICs') go with it.
        ferrostack_db::tag::forget_vm(&mut tx, vm_id).await?;
        vm_db::mark_removed(&mut tx, vm_id, now).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Expunge VMs destroyed longer than `expunge.delay` ago (called periodically).
    pub async fn vm_expunge_tick(&self) -> Result<(), Error> {
        let delay = self.config_i64("expunge.delay", None).await?;
        let mut c = self.db.conn().await?;
        let due = vm_db::destroyed_before(&mut c, now_ms() - delay * 1000, 100).await?;
        drop(c);
        for (id, uuid) in due {
            if let Err(e) = self.vm_expunge_flow(id).await {
                tracing::warn!(vm = %uuid, error = %e, "expunging a destroyed VM failed; will retry");
            }
        }
        Ok(())
    }

    /// A new password for a password-enabled VM, handed to its user-data provider (router
    /// now; config drive at the next start or now if running). The clear text lives only in
    /// the VM row, never in job rows, events or logs.
    pub async fn vm_reset_password_flow(&self, vm_id: i64) -> Result<(), Error> {
        let pw = crate::password::random_token(9);
        let mut tx = self.db.begin().await?;
        vm_db::set_cols(
            &mut tx,
            vm_id,
            &[
                ("password", ferrostack_db::sql::Arg::Str(pw)),
                ("password_pending", ferrostack_db::sql::Arg::I64(1)),
            ],
        )
        .await?;
        tx.commit().await.map_err(db_err)?;
        self.vm_push_user_data(vm_id).await;
        Ok(())
    }
}

/// The providers whose per-NIC state goes when a VM stops: a user VM's config drive. A
/// router consumes no element.
pub fn released_on_stop(t: VmType) -> &'static [Provider] {
    match t {
        VmType::User => &[Provider::ConfigDrive],
        VmType::DomainRouter => &[],
    }
}
