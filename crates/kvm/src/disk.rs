//! Root disks: templates fetched once per pool and verified, overlays made with `qemu-img`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ferrostack_agent_api::{
    AgentError, DataDisk, DiskFile, DiskFormat, ImageInfo, PoolSpec, RootDisk, SnapshotFile, TemplateSpec,
};
use futures::StreamExt;
use sha2::Digest;
use tokio::io::AsyncWriteExt;

/// A template download may take this long before it counts as failed.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(10 * 60);

#[derive(Default)]
pub(crate) struct TemplateCache {
    /// One download per cached file at a time.
    locks: Mutex<HashMap<PathBuf, Arc<tokio::sync::Mutex<()>>>>,
}

fn ext(f: DiskFormat) -> &'static str {
    match f {
        DiskFormat::Qcow2 => "qcow2",
        DiskFormat::Raw => "raw",
    }
}

impl TemplateCache {
    /// The VM's root disk on its pool, made (template fetched, overlay created) if missing.
    pub async fn overlay_for(&self, rd: &RootDisk) -> Result<PathBuf, AgentError> {
        let pool = PathBuf::from(&rd.pool.path);
        let volume = pool.join(safe_name(&rd.volume)?);
        if volume.exists() {
            return Ok(volume);
        }
        let Some(t) = &rd.template else {
            // Deployed from an ISO: a blank disk of its size, which the guest installs itself on.
            let size = rd.size_bytes.filter(|s| *s > 0).ok_or_else(|| {
                AgentError::Failed(format!(
                    "root disk {} is blank and has no size to be made with",
                    rd.volume
                ))
            })?;
            ensure_blank(&volume, size).await?;
            return Ok(volume);
        };
        let template = self.template(&pool, t).await?;
        let mut cmd = tokio::process::Command::new("qemu-img");
        cmd.args(["create", "-q", "-f", "qcow2", "-b"])
            .arg(&template)
            .args(["-F", ext(t.format)])
            .arg(&volume);
        if let Some(size) = rd.size_bytes {
            let virtual_size = virtual_size(&template).await.unwrap_or(0);
            if size > virtual_size {
                cmd.arg(size.to_string());
            }
        }
        run(cmd, "create the root disk").await?;
        Ok(volume)
    }

    async fn template(&self, pool: &Path, t: &TemplateSpec) -> Result<PathBuf, AgentError> {
        let path = pool
            .join("templates")
            .join(format!("{}.{}", safe_name(&t.uuid)?, ext(t.format)));
        self.cached(path, t).await
    }

    /// An ISO for a VM's CD-ROM drive, fetched once per pool like a template:
    /// `<pool>/isos/<iso uuid>.iso`.
    pub async fn iso(&self, pool: &Path, t: &TemplateSpec) -> Result<PathBuf, AgentError> {
        let path = pool.join("isos").join(format!("{}.iso", safe_name(&t.uuid)?));
        self.cached(path, t).await
    }

    /// `path`, fetched from `t`'s URL (checksum checked) unless it is there already.
    async fn cached(&self, path: PathBuf, t: &TemplateSpec) -> Result<PathBuf, AgentError> {
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| crate::io("cannot create", dir, e))?;
        }
        let lock = {
            let mut m = self.locks.lock().unwrap_or_else(|p| p.into_inner());
            m.entry(path.clone()).or_default().clone()
        };
        let _g = lock.lock().await;
        if path.exists() {
            return Ok(path);
        }
        if t.url.trim().is_empty() {
            // Made by createTemplate from a snapshot or volume: its file is in the template cache
            // of the pool its source was on, and nowhere to download from.
            return Err(AgentError::Failed(format!(
                "template {} is not at {} and has no URL to download it from: it was made from a snapshot or \
                 volume on another pool; start the VM on a host that reaches that pool",
                t.uuid,
                path.display()
            )));
        }
        let tmp = path.with_extension("part");
        let r = fetch(&t.url, &tmp, t.checksum.as_deref()).await;
        if let Err(e) = r {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(AgentError::Failed(format!("image {}: {e}", t.uuid)));
        }
        tokio::fs::rename(&tmp, &path)
            .await
            .map_err(|e| crate::io("cannot rename into", &path, e))?;
        Ok(path)
    }
}

/// A data volume's file: `<pool>/<volume>`.
pub(crate) fn data_path(f: &DiskFile) -> Result<PathBuf, AgentError> {
    if f.pool.path.is_empty() {
        return Err(AgentError::Failed(format!(
            "volume {} is on no pool: a KVM host keeps volumes on a primary storage pool",
            f.volume
        )));
    }
    Ok(PathBuf::from(&f.pool.path).join(safe_name(&f.volume)?))
}

/// Make an empty qcow2 volume of `size` bytes unless it exists (written beside and renamed,
/// so a crash never leaves a half-made volume under the real name).
pub(crate) async fn ensure_blank(path: &Path, size: u64) -> Result<(), AgentError> {
    if path.exists() {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| crate::io("cannot create", dir, e))?;
    }
    let tmp = path.with_extension("part");
    let mut cmd = tokio::process::Command::new("qemu-img");
    cmd.args(["create", "-q", "-f", "qcow2"])
        .arg(&tmp)
        .arg(size.to_string());
    run(cmd, "create the volume").await?;
    tokio::fs::rename(&tmp, path)
        .await
        .map_err(|e| crate::io("cannot rename into", path, e))
}

/// Make a data disk's file unless it exists: a standalone copy of the snapshot it is made
/// from (grown to its size if smaller), or else empty.
pub(crate) async fn ensure_data_disk(path: &Path, d: &DataDisk) -> Result<(), AgentError> {
    let Some(s) = &d.from_snapshot else {
        return ensure_blank(path, d.size_bytes).await;
    };
    if path.exists() {
        return Ok(());
    }
    let source = snapshot_path(s)?;
    if !source.exists() {
        return Err(AgentError::Failed(format!(
            "the file of snapshot {} ({}) is not on this host: a volume from a snapshot is made on a host that \
             reaches the snapshot's pool",
            s.snapshot,
            source.display()
        )));
    }
    // Grown beside, before the rename, so the volume never appears at the wrong size.
    let tmp = path.with_extension("fromsnap");
    flatten_into(&source, &tmp, false).await?;
    if virtual_size(&tmp).await.is_some_and(|now| now < d.size_bytes) {
        if let Err(e) = resize_file(&tmp, d.size_bytes).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e);
        }
    }
    tokio::fs::rename(&tmp, path)
        .await
        .map_err(|e| crate::io("cannot rename into", path, e))
}

/// Set a volume file's size (not in use by a running guest).
pub(crate) async fn resize_file(path: &Path, size: u64) -> Result<(), AgentError> {
    let mut cmd = tokio::process::Command::new("qemu-img");
    cmd.args(["resize", "-q", "-f", "qcow2"]);
    if virtual_size(path).await.is_some_and(|now| size < now) {
        cmd.arg("--shrink");
    }
    cmd.arg(path).arg(size.to_string());
    run(cmd, "resize the volume").await
}

fn pool_dir(pool: &PoolSpec, what: &str) -> Result<PathBuf, AgentError> {
    if pool.path.is_empty() {
        return Err(AgentError::Failed(format!(
            "{what} is on no pool: a KVM host keeps volumes, snapshots and templates on a primary storage pool"
        )));
    }
    Ok(PathBuf::from(&pool.path))
}

/// A snapshot's file: `<pool>/snapshots/<snapshot>.qcow2`.
pub(crate) fn snapshot_path(s: &SnapshotFile) -> Result<PathBuf, AgentError> {
    let name = format!("{}.qcow2", safe_name(&s.snapshot)?);
    Ok(pool_dir(&s.pool, &format!("snapshot {}", s.snapshot))?
        .join("snapshots")
        .join(name))
}

/// A template in a pool's cache, where [`TemplateCache::overlay_for`] looks first:
/// `<pool>/templates/<template>.qcow2`.
pub(crate) fn cached_template_path(pool: &PoolSpec, template: &str) -> Result<PathBuf, AgentError> {
    let name = format!("{}.{}", safe_name(template)?, ext(DiskFormat::Qcow2));
    Ok(pool_dir(pool, &format!("template {template}"))?
        .join("templates")
        .join(name))
}

/// Copy `source` (its whole backing chain, flattened) into a standalone qcow2 at `dest`:
/// written beside as `.part` and renamed, so `dest` is never half made.
/// `force_share` reads an image a paused guest holds open (QEMU flushed it at the pause).
pub(crate) async fn flatten_into(source: &Path, dest: &Path, force_share: bool) -> Result<(), AgentError> {
    if !source.exists() {
        return Err(AgentError::Failed(format!(
            "{} does not exist: the volume has no file on its pool (a VM's volumes are made when it first \
             starts)",
            source.display()
        )));
    }
    if let Some(dir) = dest.parent() {
        tokio::fs::create_dir_all(dir)
            .await
            .map_err(|e| crate::io("cannot create", dir, e))?;
    }
    let tmp = dest.with_extension("part");
    let mut cmd = tokio::process::Command::new("qemu-img");
    cmd.args(["convert", "-q", "-O", "qcow2"]);
    if force_share {
        cmd.arg("-U");
    }
    cmd.arg(source).arg(&tmp);
    if let Err(e) = run(cmd, &format!("copy {}", source.display())).await {
        let _ = tokio::fs::remove_file(&tmp).await;
        return Err(e);
    }
    tokio::fs::rename(&tmp, dest)
        .await
        .map_err(|e| crate::io("cannot rename into", dest, e))
}

/// The sizes of an image file.
pub(crate) async fn image_info(image: &Path) -> Result<ImageInfo, AgentError> {
    let out = tokio::process::Command::new("qemu-img")
        .args(["info", "--output=json", "-U"])
        .arg(image)
        .output()
        .await
        .map_err(|e| AgentError::Failed(format!("qemu-img info {}: {e}", image.display())))?;
    if !out.status.success() {
        return Err(AgentError::Failed(format!(
            "qemu-img info {}: {}",
            image.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    let v: serde_json::Value = serde_json::from_slice(&out.stdout)
        .map_err(|e| AgentError::Failed(format!("qemu-img info {}: {e}", image.display())))?;
    Ok(ImageInfo {
        virtual_bytes: v["virtual-size"].as_u64().unwrap_or(0),
        physical_bytes: v["actual-size"].as_u64().unwrap_or(0),
    })
}

fn safe_name(s: &str) -> Result<&str, AgentError> {
    if s.is_empty() || s.contains('/') || s.starts_with('.') {
        return Err(AgentError::Failed(format!("'{s}' is not a usable file name")));
    }
    Ok(s)
}

enum Hasher {
    Md5(md5::Md5),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// CloudStack's checksum forms: `{ALGO}hex`, or bare hex (MD5 by length 32, SHA-1 40,
    /// SHA-256 64, SHA-512 128).
    fn for_checksum(c: &str) -> Result<(Hasher, String), String> {
        let c = c.trim();
        let (algo, hex) = match c.strip_prefix('{').and_then(|r| r.split_once('}')) {
            Some((a, h)) => (a.to_ascii_uppercase(), h.to_ascii_lowercase()),
            None => {
                let a = match c.len() {
                    32 => "MD5",
                    40 => "SHA-1",
                    64 => "SHA-256",
                    128 => "SHA-512",
                    _ => return Err(format!("checksum {c} has no {{ALGORITHM}} and an unknown length")),
                };
                (a.to_string(), c.to_ascii_lowercase())
            }
        };
        let h = match algo.as_str() {
            "MD5" => Hasher::Md5(md5::Md5::new()),
            "SHA-1" | "SHA1" => Hasher::Sha1(sha1::Sha1::new()),
            "SHA-256" | "SHA256" => Hasher::Sha256(sha2::Sha256::new()),
            "SHA-512" | "SHA512" => Hasher::Sha512(sha2::Sha512::new()),
            other => {
                return Err(format!(
                    "checksum algorithm {other} is not supported (MD5, SHA-1, SHA-256, SHA-512)"
                ))
            }
        };
        Ok((h, hex))
    }
    fn update(&mut self, b: &[u8]) {
        match self {
            Hasher::Md5(h) => h.update(b),
            Hasher::Sha1(h) => h.update(b),
            Hasher::Sha256(h) => h.update(b),
            Hasher::Sha512(h) => h.update(b),
        }
    }
    fn hex(self) -> String {
        let bytes: Vec<u8> = match self {
            Hasher::Md5(h) => h.finalize().to_vec(),
            Hasher::Sha1(h) => h.finalize().to_vec(),
            Hasher::Sha256(h) => h.finalize().to_vec(),
            Hasher::Sha512(h) => h.finalize().to_vec(),
        };
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// Stream `url` (http, https or file) to `dest`, checking `checksum` when given.
async fn fetch(url: &str, dest: &Path, checksum: Option<&str>) -> Result<(), String> {
    let (mut hasher, want) = match checksum.map(Hasher::for_checksum).transpose()? {
        Some((h, w)) => (Some(h), Some(w)),
        None => (None, None),
    };
    let mut out = tokio::fs::File::create(dest)
        .await
        .map_err(|e| format!("cannot write {}: {e}", dest.display()))?;
    if let Some(path) = url.strip_prefix("file://") {
        let mut f = tokio::fs::File::open(path)
            .await
            .map_err(|e| format!("cannot read {url}: {e}"))?;
        let mut buf = vec![0u8; 1 << 20];
        loop {
            let n = tokio::io::AsyncReadExt::read(&mut f, &mut buf)
                .await
                .map_err(|e| format!("cannot read {url}: {e}"))?;
            if n == 0 {
                break;
            }
            if let Some(h) = hasher.as_mut() {
                h.update(&buf[..n]);
            }
            out.write_all(&buf[..n]).await.map_err(|e| e.to_string())?;
        }
    } else {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(15))
            .timeout(DOWNLOAD_TIMEOUT)
            .build()
            .map_err(|e| e.to_string())?;
        let resp = client
            .get(url)
            .send()
            .await
            .map_err(|e| format!("could not download {url}: {e}"))?;
        if !resp.status().is_success() {
            return Err(format!("could not download {url}: HTTP {}", resp.status()));
        }
        let mut body = resp.bytes_stream();
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| format!("could not download {url}: {e}"))?;
            if let Some(h) = hasher.as_mut() {
                h.update(&chunk);
            }
            out.write_all(&chunk).await.map_err(|e| e.to_string())?;
        }
    }
    out.flush().await.map_err(|e| e.to_string())?;
    if let (Some(h), Some(want)) = (hasher, want) {
        let got = h.hex();
        if got != want {
            return Err(format!("checksum mismatch for {url}: expected {want}, got {got}"));
        }
    }
    Ok(())
}

async fn virtual_size(image: &Path) -> Option<u64> {
    let out = tokio::process::Command::new("qemu-img")
        .args(["info", "--output=json", "-U"])
        .arg(image)
        .output()
        .await
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).ok()?;
    v["virtual-size"].as_u64()
}

async fn run(mut cmd: tokio::process::Command, what: &str) -> Result<(), AgentError> {
    let out = cmd
        .output()
        .await
        .map_err(|e| AgentError::Failed(format!("{what}: {e}")))?;
    if !out.status.success() {
        return Err(AgentError::Failed(format!(
            "{what}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Hasher;

    /// A root disk on no template (a VM deployed from an ISO) is a blank qcow2 of its size; an
    /// ISO comes from its URL into the pool's ISO cache, checksum checked. Needs qemu-img.
    #[tokio::test]
    async fn blank_root_disks_and_cached_isos() {
        use ferrostack_agent_api::{DiskFormat, PoolSpec, RootDisk, TemplateSpec};
        if std::process::Command::new("qemu-img")
            .arg("--version")
            .output()
            .is_err()
        {
            eprintln!("skipped: no qemu-img");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let cache = super::TemplateCache::default();
        let mut rd = RootDisk {
            volume: "root.qcow2".into(),
            size_bytes: Some(3 << 30),
            pool: PoolSpec {
                uuid: "p".into(),
                path: dir.path().display().to_string(),
            },
            template: None,
        };
        let path = cache.overlay_for(&rd).await.unwrap();
        assert_eq!(super::virtual_size(&path).await, Some(3 << 30));
        rd.volume = "other.qcow2".into();
        rd.size_bytes = None;
        assert!(cache.overlay_for(&rd).await.is_err(), "a blank disk needs a size");

        let src = dir.path().join("src.iso");
        std::fs::write(&src, b"an iso").unwrap();
        let hex: String = <sha2::Sha256 as sha2::Digest>::digest(b"an iso")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let mut t = TemplateSpec {
            uuid: "iso-1".into(),
            url: format!("file://{}", src.display()),
            format: DiskFormat::Raw,
            checksum: Some(format!("{{SHA-256}}{hex}")),
            direct_download: true,
        };
        let iso = cache.iso(dir.path(), &t).await.unwrap();
        assert_eq!(iso, dir.path().join("isos").join("iso-1.iso"));
        assert_eq!(std::fs::read(&iso).unwrap(), b"an iso");
        t.uuid = "iso-2".into();
        t.checksum = Some(format!("{{SHA-256}}{}", "0".repeat(64)));
        let e = cache.iso(dir.path(), &t).await.unwrap_err();
        assert!(e.to_string().contains("checksum mismatch"), "{e}");
        assert!(!dir.path().join("isos").join("iso-2.iso").exists());
    }

    #[test]
    fn checksum_forms() {
        let data = b"ferrostack";
        for (form, ok) in [
            ("{SHA-256}", true),
            ("", true),
            ("{MD5}", true),
            ("{SHA-512}", true),
            ("{CRC32}", false),
        ] {
            let reference = match form {
                "{MD5}" => {
                    let (mut h, _) = Hasher::for_checksum(&"0".repeat(32)).unwrap();
                    h.update(data);
                    h.hex()
                }
                "{SHA-512}" => {
                    let (mut h, _) = Hasher::for_checksum(&"0".repeat(128)).unwrap();
                    h.update(data);
                    h.hex()
                }
                _ => {
                    let (mut h, _) = Hasher::for_checksum(&"0".repeat(64)).unwrap();
                    h.update(data);
                    h.hex()
                }
            };
            let r = Hasher::for_checksum(&format!("{form}{}", reference.to_uppercase()));
            assert_eq!(r.is_ok(), ok, "{form}");
            if let Ok((mut h, want)) = r {
                h.update(data);
                assert_eq!(h.hex(), want, "{form}");
            }
        }
    }
}
