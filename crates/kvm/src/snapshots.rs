//! Volume snapshots and templates made from volumes on a KVM host (see the crate docs): the
//! work behind [`Agent::snapshot_disk`](ferrostack_agent_api::Agent::snapshot_disk),
//! `revert_disk` and `template_from`.

use ferrostack_agent_api::{AgentError, DiskFile, ImageInfo, SnapshotFile, TemplateSource};

use crate::{disk, failed, has_disk, lookup, LibvirtAgent};

impl LibvirtAgent {
    /// A standalone qcow2 of the volume under the pool's `snapshots/`. A running guest with the
    /// disk is paused for the copy: QEMU drains and flushes its disks when it pauses, so the
    /// file is a consistent (crash-consistent) image while `qemu-img convert -U` reads it, and
    /// the guest resumes whatever the copy's outcome. The guest's pause lasts the copy.
    pub(crate) async fn take_snapshot(
        &self,
        vm_name: Option<&str>,
        file: &DiskFile,
        snapshot: &SnapshotFile,
    ) -> Result<ImageInfo, AgentError> {
        let source = disk::data_path(file)?;
        let dest = disk::snapshot_path(snapshot)?;
        if dest.exists() {
            return disk::image_info(&dest).await;
        }
        let Some(vm) = vm_name else {
            disk::flatten_into(&source, &dest, false).await?;
            return disk::image_info(&dest).await;
        };
        let lock = self.lock_vm(vm);
        let _g = lock.lock().await;
        let (name, p) = (vm.to_string(), source.clone());
        let paused = self
            .with_conn(move |c| {
                let Some(dom) = lookup(c, &name)?.filter(|x| x.is_active().unwrap_or(false)) else {
                    return Ok(false);
                };
                if !has_disk(&dom, &p) {
                    return Ok(false);
                }
                // A guest someone else paused stays paused (and is not resumed by us).
                if matches!(
                    dom.state().map(|s| s.0),
                    Ok(virt::enumutil::Enum::Known(virt::domain::DomainState::Paused))
                ) {
                    return Ok(false);
                }
                dom.suspend()
                    .map_err(|e| failed(&format!("pause {name} for a snapshot"), e))?;
                Ok(true)
            })
            .await?;
        let copied = disk::flatten_into(&source, &dest, true).await;
        if paused {
            let name = vm.to_string();
            let resumed = self
                .with_conn(move |c| match lookup(c, &name)? {
                    Some(dom) => dom
                        .resume()
                        .map_err(|e| failed(&format!("resume {name} after a snapshot"), e)),
                    None => Ok(()),
                })
                .await;
            if let Err(e) = resumed {
                tracing::error!(vm = %vm, error = %e, "a guest paused for a snapshot did not resume");
                copied?;
                return Err(e);
            }
        }
        copied?;
        disk::image_info(&dest).await
    }

    /// The volume's file becomes a standalone copy of the snapshot (written beside, then
    /// renamed over it). Refused while a running guest has the disk.
    pub(crate) async fn revert_to_snapshot(&self, file: &DiskFile, snapshot: &SnapshotFile) -> Result<(), AgentError> {
        let dest = disk::data_path(file)?;
        let source = disk::snapshot_path(snapshot)?;
        if !source.exists() {
            return Err(AgentError::Failed(format!(
                "the file of snapshot {} ({}) is missing on this host",
                snapshot.snapshot,
                source.display()
            )));
        }
        if !dest.exists() {
            return Err(AgentError::Failed(format!(
                "volume {} has no file on this host ({}): nothing to revert",
                file.volume,
                dest.display()
            )));
        }
        let p = dest.clone();
        let user = self
            .with_conn(move |c| {
                let doms = c
                    .list_all_domains(virt::sys::VIR_CONNECT_LIST_DOMAINS_ACTIVE)
                    .map_err(|e| failed("list domains", e))?;
                Ok(doms.iter().find(|d| has_disk(d, &p)).and_then(|d| d.name().ok()))
            })
            .await?;
        if let Some(vm) = user {
            return Err(AgentError::Failed(format!(
                "{vm} runs with volume {}: stop it before reverting the volume to a snapshot",
                file.volume
            )));
        }
        disk::flatten_into(&source, &dest, false).await
    }

    /// A standalone qcow2 in the source pool's template cache (a volume's backing chain is
    /// flattened). `qemu-img` takes the image's lock, so a volume a running guest uses fails.
    pub(crate) async fn make_template(&self, source: &TemplateSource, template: &str) -> Result<ImageInfo, AgentError> {
        let dest = disk::cached_template_path(source.pool(), template)?;
        if !dest.exists() {
            let from = match source {
                TemplateSource::Snapshot(s) => disk::snapshot_path(s)?,
                TemplateSource::Volume(f) => disk::data_path(f)?,
            };
            disk::flatten_into(&from, &dest, false).await?;
        }
        disk::image_info(&dest).await
    }
}
