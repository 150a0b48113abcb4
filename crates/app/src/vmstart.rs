//! The first step of every start: take the VM from where it is to Starting, or wait for the
//! start (or stop) another flow is carrying out — work on one VM or router waits its turn.
//!
//! Who carries out a start is a database fact: the Starting transition records the job
//! (`vm_instance.start_job`, in the same transaction). Another flow that finds the VM Starting
//! waits while that job runs; a job resumed after a crash recognises its own start; a start
//! whose job no longer runs (it died between claim and undo, or was released at shutdown and not
//! yet claimed again) is taken over with a compare-and-set, so exactly one flow goes on with
//! it. Deploys racing for their network's router all wait for the one start under way instead
//! of failing with a conflict. The waiting task holds no database connection.

use std::time::Duration;

use ferrostack_db::vm as vm_db;
use ferrostack_db::{db_err, job as job_db};
use ferrostack_types::state::{VmEvent, VmState};
use ferrostack_types::time::now_ms;
use ferrostack_types::Error;

use crate::vmstate::{noun, vm_event};
use crate::App;

/// How long a flow waits for another's start or stop of the same VM before it gives up.
const WAIT_FOR_OTHER: Duration = Duration::from_secs(600);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Begun {
    /// The VM is Starting and this flow carries the start out.
    Starting,
    /// The VM already runs (another flow started it): nothing to do.
    AlreadyRunning,
}

/// Who carries out a VM's start, seen from the calling flow.
enum Starter {
    Me,
    /// A job that is running now.
    Other(String),
    /// Nobody alive: the recorded job (if any) finished or is not running.
    Stale(Option<String>),
}

impl App {
    async fn vm_starter(&self, vm_id: i64, me: Option<&str>) -> Result<Starter, Error> {
        let recorded = vm_db::start_job(self.db.read(), vm_id).await?;
        Ok(match recorded {
            Some(j) if Some(j.as_str()) == me => Starter::Me,
            Some(j) => {
                if job_db::is_running(self.db.read(), &j, now_ms()).await? {
                    Starter::Other(j)
                } else {
                    Starter::Stale(Some(j))
                }
            }
            None => Starter::Stale(None),
        })
    }

    pub(crate) async fn vm_start_begin(&self, vm_id: i64) -> Result<Begun, Error> {
        let me = ferrostack_jobs::current_job();
        let deadline = tokio::time::Instant::now() + WAIT_FOR_OTHER;
        let mut pause = Duration::from_millis(20);
        loop {
            let vm = self.vm_load(vm_id).await?;
            let waiting_on = match vm.state {
                VmState::Running => return Ok(Begun::AlreadyRunning),
                VmState::Starting => match self.vm_starter(vm.id, me.as_deref()).await? {
                    Starter::Me => return Ok(Begun::Starting),
                    Starter::Stale(old) => {
                        if vm_db::swap_start_job(self.db.write(), vm.id, old.as_deref(), me.as_deref()).await? {
                            tracing::info!(vm = %vm.instance_name, previous = ?old, "taking over a start whose job no longer runs");
                            return Ok(Begun::Starting);
                        }
                        "a start another flow just took over".to_string()
                    }
                    Starter::Other(j) => format!("the start job {j}"),
                },
                // Another operation is under way: its end decides what a start means.
                VmState::Stopping | VmState::Migrating => format!("its {} operation", vm.state.as_str()),
                VmState::Stopped
                | VmState::Destroyed
                | VmState::Expunging
                | VmState::Error
                | VmState::Unknown
                | VmState::Shutdown => {
                    let seen = vm.state;
                    let vm = self.vm_before_start(&vm).await?;
                    if vm.state != seen {
                        // The kind hook read the row again and it moved on: look again.
                        continue;
                    }
                    let mut tx = self.db.begin().await?;
                    match vm_event(&mut tx, &vm, VmEvent::StartRequested).await {
                        Ok(_) => {
                            vm_db::set_start_job(&mut *tx, vm.id, me.as_deref()).await?;
                            tx.commit().await.map_err(db_err)?;
                            return Ok(Begun::Starting);
                        }
                        // Another flow moved it first: look again.
                        Err(Error::Conflict(_)) => "a concurrent change".to_string(),
                        Err(e) => return Err(e),
                    }
                }
            };
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::ResourceUnavailable(format!(
                    "{} {} is still {} after waiting {} s for {waiting_on}; retry when that operation has finished",
                    noun(vm.vm_type),
                    vm.instance_name,
                    vm.state.as_str(),
                    WAIT_FOR_OTHER.as_secs()
                )));
            }
            ferrostack_db::held::assert_none_held("waiting for another flow's start");
            tokio::time::sleep(pause).await;
            pause = (pause * 2).min(Duration::from_millis(250));
        }
    }
}
