//! Round trips through independent ISO 9660 implementations: the image is read back with
//! xorriso (libisofs), isoinfo/isovfy (genisoimage) and blkid (util-linux), never with our
//! own code, and every file is compared byte for byte with [`layout`].
//!
//! These tools are required: a missing one fails the test with the Debian package to
//! install (`apt-get install -y xorriso genisoimage util-linux`).

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{full_input, minimal_input};
use ferrostack_configdrive::{build_iso, layout, ConfigDriveInput, Layout};
use tempfile::TempDir;

/// The path of `tool`, or a failure naming the package that provides it.
fn require(tool: &str, package: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(tool))
        .find(|candidate| candidate.is_file())
        .unwrap_or_else(|| panic!("`{tool}` is not installed; these tests need it: apt-get install -y {package}"))
}

/// Run a command, fail with its output unless it succeeds, return its stdout.
fn run(command: &mut Command) -> Vec<u8> {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output.stdout
}

/// An image written to a temporary directory, with the tree it was built from.
struct Image {
    dir: TempDir,
    path: PathBuf,
    expected: Layout,
}

fn image(input: &ConfigDriveInput) -> Image {
    let dir = TempDir::new().unwrap();
    let path = dir.path().join("i-2-10-VM.iso");
    fs::write(&path, build_iso(input).unwrap()).unwrap();
    Image {
        dir,
        path,
        expected: layout(input).unwrap(),
    }
}

/// Inputs that exercise the writer's corners.
fn cases() -> Vec<(&'static str, ConfigDriveInput)> {
    let mut empty_user_data = minimal_input();
    empty_user_data.user_data = Some(Vec::new());
    let mut windows = full_input();
    windows.is_windows = true;
    let mut many_details = full_input();
    // ~120 records: the metadata directory spans several sectors.
    for i in 0..120 {
        many_details
            .user_data_details
            .insert(format!("var-{i:03}-{}", "x".repeat(i % 40)), format!("v{i}"));
    }
    let mut large_user_data = full_input();
    large_user_data.user_data = Some((0..1_048_583u32).map(|i| (i % 251) as u8).collect());
    vec![
        ("full", full_input()),
        ("minimal", minimal_input()),
        ("empty user data", empty_user_data),
        ("windows", windows),
        ("many details", many_details),
        ("large user data", large_user_data),
    ]
}

/// Every directory and file under `root` (paths relative, `/`-separated). Makes the
/// extracted tree writable again so that it can be deleted.
fn walk(root: &Path) -> (BTreeSet<String>, BTreeMap<String, Vec<u8>>) {
    let mut dirs = BTreeSet::new();
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        make_writable(&dir);
        for entry in fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let rel = path.strip_prefix(root).unwrap().to_string_lossy().replace('\\', "/");
            if path.is_dir() {
                dirs.insert(rel);
                stack.push(path);
            } else {
                files.insert(rel, fs::read(&path).unwrap());
                make_writable(&path);
            }
        }
    }
    (dirs, files)
}

fn make_writable(path: &Path) {
    let mut permissions = fs::metadata(path).unwrap().permissions();
    #[allow(clippy::permissions_set_readonly_false)]
    permissions.set_readonly(false);
    fs::set_permissions(path, permissions).unwrap();
}

#[test]
fn xorriso_extracts_every_file_byte_for_byte() {
    let xorriso = require("xorriso", "xorriso");
    for (name, input) in cases() {
        let img = image(&input);
        let out = img.dir.path().join("extracted");
        run(Command::new(&xorriso)
            .args(["-osirrox", "on", "-indev"])
            .arg(&img.path)
            .args(["-extract", "/"])
            .arg(&out));
        let (dirs, files) = walk(&out);
        assert_eq!(dirs, img.expected.directories, "{name}: directories");
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            img.expected.files.keys().collect::<Vec<_>>(),
            "{name}: paths"
        );
        for (path, contents) in &img.expected.files {
            assert!(files[path] == *contents, "{name}: {path} differs after extraction");
        }
    }
}

/// List and extract one tree (`-R` Rock Ridge or `-J` Joliet) with isoinfo.
fn isoinfo_tree(isoinfo: &Path, iso: &Path, tree_flag: &str) -> BTreeSet<String> {
    let listing = run(Command::new(isoinfo).arg("-i").arg(iso).args([tree_flag, "-f"]));
    String::from_utf8(listing)
        .unwrap()
        .lines()
        .map(|l| l.trim_start_matches('/').to_string())
        .filter(|l| !l.is_empty())
        .collect()
}

#[test]
fn isoinfo_reads_rock_ridge_and_joliet_names_and_data() {
    let isoinfo = require("isoinfo", "genisoimage");
    for (name, input) in cases() {
        let img = image(&input);
        let expected: BTreeSet<String> = img
            .expected
            .directories
            .iter()
            .chain(img.expected.files.keys())
            .cloned()
            .collect();
        for flag in ["-R", "-J"] {
            assert_eq!(
                isoinfo_tree(&isoinfo, &img.path, flag),
                expected,
                "{name} {flag}: listing"
            );
            for (path, contents) in &img.expected.files {
                let data = run(Command::new(&isoinfo)
                    .arg("-i")
                    .arg(&img.path)
                    .args([flag, "-x", &format!("/{path}")]));
                assert!(data == *contents, "{name} {flag}: /{path} differs");
            }
        }
    }
}

#[test]
fn rock_ridge_gives_read_only_posix_modes() {
    let isoinfo = require("isoinfo", "genisoimage");
    let img = image(&full_input());
    let listing = String::from_utf8(run(Command::new(&isoinfo).arg("-i").arg(&img.path).args(["-R", "-l"]))).unwrap();
    let entries: Vec<&str> = listing
        .lines()
        .filter(|l| l.starts_with('-') || l.starts_with('d'))
        .collect();
    assert!(!entries.is_empty());
    for line in entries {
        let mode = &line[..10];
        assert!(mode == "dr-xr-xr-x" || mode == "-r--r--r--", "unexpected mode: {line}");
    }
}

#[test]
fn volume_label_is_config_2() {
    let isoinfo = require("isoinfo", "genisoimage");
    let xorriso = require("xorriso", "xorriso");
    let blkid = require("blkid", "util-linux");
    let img = image(&full_input());

    let info = String::from_utf8(run(Command::new(&isoinfo).arg("-d").arg("-i").arg(&img.path))).unwrap();
    assert!(info.lines().any(|l| l.trim_end() == "Volume id: config-2"), "{info}");
    assert!(info.contains("Joliet with UCS level 3 found"), "{info}");
    assert!(info.contains("Rock Ridge signatures version 1 found"), "{info}");
    assert!(info.contains("Logical block size is: 2048"), "{info}");
    let size = fs::metadata(&img.path).unwrap().len() / 2048;
    assert!(info.contains(&format!("Volume size is: {size}")), "{info}");

    let pvd = run(Command::new(&xorriso).arg("-indev").arg(&img.path).arg("-pvd_info"));
    let pvd = String::from_utf8(pvd).unwrap();
    assert!(
        pvd.lines()
            .any(|l| l.starts_with("Volume Id") && l.trim_end().ends_with(": config-2")),
        "{pvd}"
    );

    let label = run(Command::new(&blkid)
        .args(["-p", "-s", "LABEL", "-o", "value"])
        .arg(&img.path));
    assert_eq!(String::from_utf8(label).unwrap().trim(), "config-2");
    let kind = run(Command::new(&blkid)
        .args(["-p", "-s", "TYPE", "-o", "value"])
        .arg(&img.path));
    assert_eq!(String::from_utf8(kind).unwrap().trim(), "iso9660");
}

#[test]
fn custom_label_is_written() {
    let isoinfo = require("isoinfo", "genisoimage");
    let mut input = minimal_input();
    input.label = "config".to_string();
    let img = image(&input);
    let info = String::from_utf8(run(Command::new(&isoinfo).arg("-d").arg("-i").arg(&img.path))).unwrap();
    assert!(info.lines().any(|l| l.trim_end() == "Volume id: config"), "{info}");
}

#[test]
fn isovfy_finds_no_structural_errors() {
    let isovfy = require("isovfy", "genisoimage");
    for (name, input) in cases() {
        let img = image(&input);
        let report = String::from_utf8_lossy(&run(Command::new(&isovfy).arg(&img.path))).into_owned();
        assert!(report.contains("No errors found"), "{name}: {report}");
    }
}
