//! The database's disk fills up, then has room again: meanwhile writes answer 534 saying what
//! is wrong (never 530, never a hang), reads keep answering, and the first write after the
//! space returns succeeds without a restart (a connection left inside a failed transaction is
//! closed, not handed out again).
//!
//! Needs a small filesystem of its own: the test mounts a tmpfs (root only) and unmounts it
//! at the end, even when it fails. Without the privilege it says so and does nothing.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::TestServer;

/// A tmpfs mounted for this test, unmounted on drop.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(size_mb: u32) -> Option<Tmpfs> {
        let dir = std::env::temp_dir().join(format!("ferrostack-diskfull-{}", std::process::id()));
        std::fs::create_dir_all(&dir).ok()?;
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mb}m"), "tmpfs"])
            .arg(&dir)
            .status()
            .map(|s| s.success())
            .unwrap_or(false);
        if ok {
            Some(Tmpfs(dir))
        } else {
            let _ = std::fs::remove_dir(&dir);
            None
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Fill the filesystem of `dir` with one file until it refuses more.
fn fill(dir: &Path) -> PathBuf {
    let path = dir.join("filler");
    let mut f = std::fs::File::create(&path).unwrap();
    let chunk = vec![0u8; 64 * 1024];
    while f.write_all(&chunk).is_ok() {}
    let _ = f.flush();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_answer_534_while_the_disk_is_full_and_recover_without_a_restart() {
    let Some(fs) = Tmpfs::mount(24) else {
        eprintln!("SKIPPED diskfull: cannot mount a tmpfs (needs root); disk-full recovery not exercised");
        return;
    };
    let t = TestServer::start_sqlite_in(tempfile::tempdir_in(&fs.0).unwrap()).await;
    let c = &t.admin;
    let create = |i: usize| {
        let name = format!("full-{i}-{}", "x".repeat(200));
        async move { c.get("createDomain", &[("name", &name[..60])]).await }
    };
    assert_eq!(create(0).await.status, 200);

    let filler = fill(&fs.0);
    // Write until the database refuses (its WAL may still have room for a few).
    let mut refused = None;
    for i in 1..400 {
        let a = create(i).await;
        assert_ne!(a.status, 530, "a full disk is not an internal error: {}", a.text);
        if a.status != 200 {
            refused = Some(a);
            break;
        }
    }
    let refused = refused.expect("no write was refused on a full filesystem");
    assert_eq!(refused.status, 534, "{}", refused.text);
    assert!(refused.text.contains("disk is full"), "{}", refused.text);
    // Reads keep answering meanwhile, and a second write is refused the same way.
    assert_eq!(c.get("listZones", &[]).await.status, 200);
    let again = create(1000).await;
    assert_eq!(again.status, 534, "{}", again.text);

    std::fs::remove_file(filler).unwrap();
    // The very next write succeeds: nothing broken was kept in the pool.
    let after = create(2000).await;
    assert_eq!(after.status, 200, "first write after space returned: {}", after.text);
    for i in 2001..2005 {
        assert_eq!(create(i).await.status, 200);
    }
    let n = c.get("listDomains", &[("listall", "true")]).await.items("domain").len();
    assert!(n >= 6, "{n} domains");
    t.stop().await;
    drop(fs);
}
