//! The VM lifecycle flows the jobs run: start, stop, reboot, destroy, expunge. Every flow
//! is idempotent (a resumed job repeats the last one safely) and follows the state machine.

use ferrostack_db::vm::{self as vm_db, Vm};
use ferrostack_db::{db_err, network as net_db};
use ferrostack_net::Provider;
use ferrostack_types::state::VmEvent;
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;

use crate::vm::vm_event;
use crate::App;

impl App {
    pub async fn vm_load(&self, vm_id: i64) -> Result<Vm, Error> {
        vm_db::get(self.db.pool(), vm_id)
            .await?
            .ok_or_else(|| Error::invalid(format!("VM {vm_id} no longer exists")))
    }

    /// Start: Stopped → Starting, implement the NICs' networks, prepare the NICs (router
    /// entries), place on a host (config drive, start), → Running. Any failure returns the VM
    /// to Stopped with nothing held.
    pub async fn vm_start_flow(&self, vm_id: i64, preferred_host: Option<i64>) -> Result<(), Error> {
        let vm = self.vm_load(vm_id).await?;
        match vm.state.as_str() {
            "Running" => return Ok(()),
            "Starting" => {} // resumed after a crash
            _ => {
                let mut c = self.db.conn().await?;
                vm_event(&mut c, &vm, VmEvent::StartRequested).await?;
            }
        }
        let r = self.vm_start_steps(vm_id, preferred_host).await;
        if let Err(e) = r {
            let mut tx = self.db.begin().await?;
            if let Some(fresh) = vm_db::get(&mut *tx, vm_id).await? {
                self.vm_release_capacity(&mut tx, &fresh).await?;
                if fresh.state == "Starting" {
                    vm_event(&mut tx, &fresh, VmEvent::OperationFailed).await?;
                }
                vm_db::set_cols(&mut tx, vm_id, &[("host_id", ferrostack_db::sql::Arg::OptI64(None))]).await?;
                let nics = vm_db::nics_of(&mut tx, &[vm_id]).await?;
                self.enqueue_releases_for(&mut tx, &fresh, &nics, &[Provider::ConfigDrive])
                    .await?;
            }
            tx.commit().await.map_err(db_err)?;
            return Err(e);
        }
        Ok(())
    }

    async fn vm_start_steps(&self, vm_id: i64, preferred_host: Option<i64>) -> Result<(), Error> {
        let vm = self.vm_load(vm_id).await?;
        let mut c = self.db.conn().await?;
        let nics = vm_db::nics_of(&mut c, &[vm.id]).await?;
        drop(c);
        for nic in &nics {
            self.network_implement(nic.network_id).await?;
        }
        let mut c = self.db.conn().await?;
        for nic in &nics {
            let Some(n) = net_db::get(&mut *c, nic.network_id).await? else {
                continue;
            };
            let ctx = self.network_ctx(&mut c, &n).await?;
            for el in self.elements().elements_for(&ctx.services) {
                el.prepare(&ctx, &Self::nic_ctx(&vm, nic)).await?;
            }
        }
        drop(c);
        let host = self.vm_place_and_start(&vm, preferred_host).await?;
        let mut tx = self.db.begin().await?;
        let fresh = vm_db::get(&mut *tx, vm_id)
            .await?
            .ok_or_else(|| Error::invalid("The VM was removed while starting"))?;
        vm_db::set_cols(
            &mut tx,
            vm_id,
            &[
                ("host_id", ferrostack_db::sql::Arg::I64(host)),
                ("last_host_id", ferrostack_db::sql::Arg::I64(host)),
                ("power_state", ferrostack_db::sql::Arg::Str("PowerOn".into())),
                ("power_generation", ferrostack_db::sql::Arg::I64(0)),
            ],
        )
        .await?;
        vm_event(&mut tx, &fresh, VmEvent::OperationSucceeded).await?;
        vm_db::set_volume_state(&mut tx, vm_id, "Ready", None).await?;
        vm_db::place_volumes(&mut tx, vm_id, host).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Record `element.release` follow-ups for the NICs' networks, limited to `providers`.
    pub async fn enqueue_releases_for(
        &self,
        c: &mut ferrostack_db::Conn,
        vm: &Vm,
        nics: &[ferrostack_db::vm::Nic],
        providers: &[Provider],
    ) -> Result<(), Error> {
        for nic in nics {
            let services = self.network_services(c, nic.network_id).await?;
            for p in providers {
                if services.values().any(|x| x == p) {
                    let f = crate::followup::FollowUp::ElementRelease {
                        provider: *p,
                        network_id: nic.network_id,
                        nic: Self::nic_ctx(vm, nic),
                    };
                    self.followup_enqueue(c, &f).await?;
                }
            }
        }
        Ok(())
    }

    /// Stop: Running → Stopping → agent stop → Stopped, capacity released, config drive
    /// removal recorded as a follow-up. Stopping a stopped VM succeeds.
    pub async fn vm_stop_flow(&self, vm_id: i64, forced: bool) -> Result<(), Error> {
        let vm = self.vm_load(vm_id).await?;
        match vm.state.as_str() {
            "Stopped" => return Ok(()),
            "Stopping" => {}
            _ => {
                let mut c = self.db.conn().await?;
                vm_event(&mut c, &vm, VmEvent::StopRequested).await?;
            }
        }
        let vm = self.vm_load(vm_id).await?;
        if let Err(e) = self.vm_stop_on_host(&vm, forced).await {
            let mut c = self.db.conn().await?;
            vm_event(&mut c, &vm, VmEvent::OperationFailed).await?;
            return Err(e);
        }
        let mut tx = self.db.begin().await?;
        let fresh = vm_db::get(&mut *tx, vm_id)
            .await?
            .ok_or_else(|| Error::invalid("The VM was removed while stopping"))?;
        self.vm_release_capacity(&mut tx, &fresh).await?;
        let nics = vm_db::nics_of(&mut tx, &[vm_id]).await?;
        self.enqueue_releases_for(&mut tx, &fresh, &nics, &[Provider::ConfigDrive])
            .await?;
        vm_db::set_cols(&mut tx, vm_id, &[("host_id", ferrostack_db::sql::Arg::OptI64(None))]).await?;
        vm_event(&mut tx, &fresh, VmEvent::OperationSucceeded).await?;
        tx.commit().await.map_err(db_err)
    }

    pub async fn vm_reboot_flow(&self, vm_id: i64) -> Result<(), Error> {
        let vm = self.vm_load(vm_id).await?;
        if vm.state != "Running" {
            return Err(Error::invalid(format!(
                "VM {} is {}; only a Running VM can be rebooted",
                vm.name, vm.state
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
            .map_err(|e| crate::vmops::agent_err(&format!("Rebooting {}", vm.instance_name), e))
    }

    /// Destroy: stop if needed (forced), → Destroyed. Addresses stay until expunge so the VM
    /// can be recovered.
    pub async fn vm_destroy_flow(&self, vm_id: i64) -> Result<(), Error> {
        let vm = self.vm_load(vm_id).await?;
        if vm.state == "Destroyed" {
            return Ok(());
        }
        if vm.state != "Stopped" {
            self.vm_stop_flow(vm_id, true).await?;
        }
        let mut tx = self.db.begin().await?;
        let fresh = vm_db::get(&mut *tx, vm_id)
            .await?
            .ok_or_else(|| Error::invalid("The VM was removed meanwhile"))?;
        vm_event(&mut tx, &fresh, VmEvent::DestroyRequested).await?;
        vm_db::set_cols(
            &mut tx,
            vm_id,
            &[("destroyed_at", ferrostack_db::sql::Arg::I64(now_ms()))],
        )
        .await?;
        vm_db::set_volume_state(&mut tx, vm_id, "Destroy", None).await?;
        tx.commit().await.map_err(db_err)
    }

    /// Expunge: Destroyed → Expunging → removed, in one transaction with everything that is
    /// database-only (addresses, NICs, volumes, capacity) and with the follow-ups that reach
    /// outside (router entries, config drive, the host's copy). Converges: a VM already gone
    /// is done.
    pub async fn vm_expunge_flow(&self, vm_id: i64) -> Result<(), Error> {
        let Some(vm) = vm_db::get(self.db.pool(), vm_id).await? else {
            return Ok(());
        };
        if vm.state != "Destroyed" && vm.state != "Expunging" {
            self.vm_destroy_flow(vm_id).await?;
        }
        let mut tx = self.db.begin().await?;
        let Some(vm) = vm_db::get(&mut *tx, vm_id).await? else {
            return Ok(());
        };
        if vm.state == "Destroyed" {
            vm_event(&mut tx, &vm, VmEvent::ExpungeOperation).await?;
        }
        let now = now_ms();
        let nics = vm_db::nics_of(&mut tx, &[vm_id]).await?;
        self.enqueue_nic_releases(&mut tx, &vm, &nics).await?;
        if let Some(h) = vm.host_id.or(vm.last_host_id) {
            let f = crate::followup::FollowUp::HostDestroy {
                host_id: h,
                instance_name: vm.instance_name.clone(),
            };
            self.followup_enqueue(&mut tx, &f).await?;
        }
        self.vm_release_capacity(&mut tx, &vm).await?;
        net_db::release_owner(&mut *tx, &vm.uuid).await?;
        vm_db::remove_nics(&mut tx, vm_id, now).await?;
        vm_db::set_volume_state(&mut tx, vm_id, "Expunged", Some(now)).await?;
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
}

impl App {
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
