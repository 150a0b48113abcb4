//! [`SimAgent`]: the [`Agent`] for one simulated host.
//!
//! Every call runs the same prelude, mirroring CloudStack's `SimulatorManagerImpl.simulate`:
//! a down host answers `Unreachable`; otherwise the matching mock rule (if any) is consumed,
//! its wait is slept (without holding the lock), and a `Fail`/`Fault` result answers
//! `Failed`. Only then does the default behaviour run against the host's VM table.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use ferrostack_agent_api::{
    Agent, AgentError, ConfigDriveImage, DataDisk, DiskFile, HostInfo, HostLocation, ImageInfo, PowerReport,
    RouterConfig, SnapshotFile, TemplateSource, VmSpec,
};

use crate::mock::MockResult;
use crate::{url, Inner};

/// Hypervisor version (and agent version) simulated hosts report.
pub const SIM_VERSION: &str = "4.22.0.0";
/// CPU sockets of every simulated host.
pub const CPU_SOCKETS: u32 = 2;
/// Cores per socket; `HostInfo::cpu_cores` reports the total (`CPU_SOCKETS × CORES_PER_SOCKET`).
pub const CORES_PER_SOCKET: u32 = 8;
/// MHz per core.
pub const CPU_SPEED_MHZ: u64 = 2000;
/// RAM of every simulated host (64 GiB).
pub const MEMORY_BYTES: u64 = 64 << 30;
/// Host-local storage of every simulated host (1 TiB).
pub const LOCAL_STORAGE_BYTES: u64 = 1 << 40;

/// Agent commands, by the CloudStack class names mock rules use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Command {
    Ready,
    Ping,
    Start,
    Stop,
    Reboot,
    Destroy,
    VmData,
    HandleConfigDriveIso,
    Attach,
    Detach,
    ResizeVolume,
    DeleteVolume,
    CreateObject,
    RevertSnapshot,
    Copy,
}

impl Command {
    fn name(self) -> &'static str {
        match self {
            Command::Ready => "ReadyCommand",
            Command::Ping => "PingCommand",
            Command::Start => "StartCommand",
            Command::Stop => "StopCommand",
            Command::Reboot => "RebootCommand",
            Command::Destroy => "DestroyCommand",
            Command::VmData => "VmDataCommand",
            Command::HandleConfigDriveIso => "HandleConfigDriveIsoCommand",
            Command::Attach => "AttachCommand",
            Command::Detach => "DettachCommand",
            Command::ResizeVolume => "ResizeVolumeCommand",
            Command::DeleteVolume => "DeleteCommand",
            Command::CreateObject => "CreateObjectCommand",
            Command::RevertSnapshot => "RevertSnapshotCommand",
            Command::Copy => "CopyCommand",
        }
    }
}

/// The agent for one simulated host; cheap, and any number may exist for the same host.
pub(crate) struct SimAgent {
    pub inner: Arc<Inner>,
    /// Canonical host URL.
    pub key: String,
    /// Location given at `open`, used for scoped mock rules.
    pub location: HostLocation,
}

impl SimAgent {
    /// Host up check, mock rule lookup, wait and injected failure (see module docs).
    async fn prelude(&self, command: Command) -> Result<(), AgentError> {
        let hit = {
            let mut state = self.inner.lock();
            state.ensure_up(&self.key)?;
            state.mocks.select(command.name(), &self.location)
        };
        let Some(hit) = hit else {
            return Ok(());
        };
        tracing::debug!(mock = hit.id, command = command.name(), host = %self.key, result = ?hit.result,
            wait_ms = hit.wait_ms, "simulator mock applied");
        if hit.wait_ms > 0 {
            tokio::time::sleep(Duration::from_millis(hit.wait_ms)).await;
        }
        match hit.result {
            MockResult::Ok => Ok(()),
            MockResult::Fail => Err(AgentError::Failed("Simulated failure".to_owned())),
            MockResult::Fault => Err(AgentError::Failed(format!(
                "Simulated fault: {} on host {} (mock {})",
                command.name(),
                self.location.host,
                hit.id
            ))),
        }
    }

    /// Run `f` on the state after re-checking that the host is up (it may have gone down
    /// during a mock wait), and save what it changed before answering.
    fn with_up_host<T>(&self, f: impl FnOnce(&mut crate::state::State) -> T) -> Result<T, AgentError> {
        self.inner.update(|state| {
            state.ensure_up(&self.key)?;
            Ok(f(state))
        })?
    }
}

/// An I/O error while handling config drives, as an agent failure.
fn io_failed(action: &str, path: &Path, err: &std::io::Error) -> AgentError {
    AgentError::Failed(format!("could not {action} config drive {}: {err}", path.display()))
}

/// Config drive file names are plain file names: no directories, nothing hidden behind `..`.
fn check_file_name(name: &str) -> Result<(), AgentError> {
    let bad = name.is_empty()
        || name == "."
        || name == ".."
        || name.contains(|c: char| c == '/' || c == '\\' || c.is_control());
    if bad {
        Err(AgentError::Failed(format!(
            "invalid config drive file name '{name}': use a plain file name like i-2-10-VM.iso"
        )))
    } else {
        Ok(())
    }
}

/// Remove a file; a missing one is fine.
async fn remove_if_present(path: &Path) -> Result<(), AgentError> {
    match tokio::fs::remove_file(path).await {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_failed("delete", path, &e)),
    }
}

#[async_trait]
impl Agent for SimAgent {
    async fn connect(&self) -> Result<HostInfo, AgentError> {
        self.prelude(Command::Ready).await?;
        self.with_up_host(|_| HostInfo {
            hypervisor: "Simulator".to_owned(),
            hypervisor_version: SIM_VERSION.to_owned(),
            cpu_sockets: CPU_SOCKETS,
            cpu_cores: CPU_SOCKETS * CORES_PER_SOCKET,
            cpu_speed_mhz: CPU_SPEED_MHZ,
            memory_bytes: MEMORY_BYTES,
            local_storage_bytes: LOCAL_STORAGE_BYTES,
            private_ip: url::private_ip(&self.key),
            version: SIM_VERSION.to_owned(),
        })
    }

    async fn ping(&self) -> Result<PowerReport, AgentError> {
        self.prelude(Command::Ping).await?;
        self.with_up_host(|s| s.report(&self.key))
    }

    async fn start_vm(&self, spec: &VmSpec) -> Result<(), AgentError> {
        self.prelude(Command::Start).await?;
        self.with_up_host(|s| s.start_vm(&self.key, spec))
    }

    async fn stop_vm(&self, name: &str, _force: bool) -> Result<(), AgentError> {
        self.prelude(Command::Stop).await?;
        self.with_up_host(|s| s.stop_vm(&self.key, name))
    }

    async fn reboot_vm(&self, name: &str) -> Result<(), AgentError> {
        self.prelude(Command::Reboot).await?;
        self.with_up_host(|s| s.reboot_vm(&self.key, name))?
    }

    async fn destroy_vm(&self, name: &str) -> Result<(), AgentError> {
        self.prelude(Command::Destroy).await?;
        self.with_up_host(|s| {
            s.destroy_vm(&self.key, name);
        })
    }

    async fn program_router(&self, router: &str, config: &RouterConfig) -> Result<(), AgentError> {
        self.prelude(Command::VmData).await?;
        self.with_up_host(|s| s.program_router(&self.key, router, config))?
    }

    async fn put_config_drive(&self, image: &ConfigDriveImage) -> Result<(), AgentError> {
        check_file_name(&image.file_name)?;
        self.prelude(Command::HandleConfigDriveIso).await?;
        let dir = self.inner.dir.join("configdrive");
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| io_failed("create directory for", &dir, &e))?;
        let path = dir.join(&image.file_name);
        // Write beside the target and rename, so a reader never sees a half-written ISO.
        let tmp: PathBuf = dir.join(format!(".{}.tmp", image.file_name));
        tokio::fs::write(&tmp, &image.iso)
            .await
            .map_err(|e| io_failed("write", &tmp, &e))?;
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| io_failed("store", &path, &e))?;
        let replaced = self
            .inner
            .update(|state| state.put_drive(&self.key, &image.vm_name, path.clone()))?;
        if let Some(old) = replaced.filter(|old| old.path != path) {
            remove_if_present(&old.path).await?;
        }
        Ok(())
    }

    async fn attach_disk(&self, vm_name: &str, disk: &DataDisk) -> Result<(), AgentError> {
        self.prelude(Command::Attach).await?;
        self.with_up_host(|s| s.attach_disk(&self.key, vm_name, disk))
    }

    async fn detach_disk(&self, vm_name: &str, file: &DiskFile) -> Result<(), AgentError> {
        self.prelude(Command::Detach).await?;
        self.with_up_host(|s| s.detach_disk(&self.key, vm_name, file))
    }

    async fn resize_disk(&self, vm_name: Option<&str>, file: &DiskFile, size_bytes: u64) -> Result<(), AgentError> {
        self.prelude(Command::ResizeVolume).await?;
        self.with_up_host(|s| {
            if let Some(vm) = vm_name {
                s.resize_disk(&self.key, vm, file, size_bytes);
            }
        })
    }

    async fn delete_disk(&self, _file: &DiskFile) -> Result<(), AgentError> {
        // A simulated volume has no file: deleting it is the command's round trip.
        self.prelude(Command::DeleteVolume).await?;
        self.with_up_host(|_| ())
    }

    /// A simulated snapshot has no file: taking it is `CreateObjectCommand`'s round trip, and
    /// it is as big as the disk the VM on this host has (unknown: 0, the caller keeps its own).
    async fn snapshot_disk(
        &self,
        vm_name: Option<&str>,
        file: &DiskFile,
        _snapshot: &SnapshotFile,
    ) -> Result<ImageInfo, AgentError> {
        self.prelude(Command::CreateObject).await?;
        self.with_up_host(|s| {
            let size = vm_name.and_then(|vm| s.disk_size(&self.key, vm, file)).unwrap_or(0);
            ImageInfo {
                virtual_bytes: size,
                physical_bytes: size,
            }
        })
    }

    async fn revert_disk(&self, _file: &DiskFile, _snapshot: &SnapshotFile) -> Result<(), AgentError> {
        self.prelude(Command::RevertSnapshot).await?;
        self.with_up_host(|_| ())
    }

    async fn delete_snapshot(&self, _snapshot: &SnapshotFile) -> Result<(), AgentError> {
        // CloudStack deletes a snapshot's data object with the same DeleteCommand as a volume's.
        self.prelude(Command::DeleteVolume).await?;
        self.with_up_host(|_| ())
    }

    async fn template_from(&self, _source: &TemplateSource, _template: &str) -> Result<ImageInfo, AgentError> {
        self.prelude(Command::Copy).await?;
        self.with_up_host(|_| ImageInfo::default())
    }

    async fn delete_config_drive(&self, vm_name: &str) -> Result<(), AgentError> {
        self.prelude(Command::HandleConfigDriveIso).await?;
        let Some(record) = self.inner.lock().drive(vm_name) else {
            return Ok(());
        };
        remove_if_present(&record.path).await?;
        self.inner.update(|state| state.remove_drive_if(vm_name, &record))
    }
}
