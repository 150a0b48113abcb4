//! A small ISO 9660 (ECMA-119) image writer: what `genisoimage -J -r` produces, for the
//! handful of files a config drive holds.
//!
//! Image layout, in 2048-byte sectors:
//!
//! ```text
//! 0-15   system area (zeros)
//! 16     primary volume descriptor (type 1, label, root directory record)
//! 17     Joliet supplementary volume descriptor (type 2, escape "%/E" = UCS-2 level 3)
//! 18     volume descriptor set terminator (type 255)
//! 19…    path tables: primary L (little-endian), primary M (big-endian), Joliet L, Joliet M
//! …      primary directory extents (Rock Ridge entries in each record's system use field)
//! …      Joliet directory extents
//! …      one sector holding the Rock Ridge ER entry, reached through a CE entry in the
//!        root's "." record (the ER does not fit in a directory record)
//! …      file data, one extent per distinct content (identical files share an extent, as
//!        hard links do in genisoimage)
//! ```
//!
//! The primary tree uses ISO 9660 level-2 style names (upper case d-characters, up to 31
//! characters, `;1` versions) with the real names in Rock Ridge `NM` entries and POSIX modes
//! (`0555` directories, `0444` files, owner root) in `PX` entries (RRIP 1.10, `RRIP_1991A`).
//! The Joliet tree holds the real names in UCS-2 (no `;1`, like genisoimage). Linux mounts
//! the Rock Ridge tree (the `ER` entry announces it); Windows and 7-Zip read Joliet.

mod encode;

use std::collections::{BTreeMap, BTreeSet};

use encode::{
    ascii_field, both16, both32, dir_record_date, padded_even, put, sort_key, truncate_utf8, ucs2_field, unique_ident,
    volume_date,
};

const SECTOR: usize = 2048;
/// First sector after the system area.
const FIRST_DESCRIPTOR: usize = 16;
/// A directory record cannot be longer than this (its length is one byte).
const MAX_RECORD: usize = 255;
/// Rock Ridge names are cut at this many bytes so every record fits in [`MAX_RECORD`].
const MAX_RR_NAME: usize = 140;
/// Joliet names are at most 64 UCS-2 characters.
const MAX_JOLIET_CHARS: usize = 64;

const ER_ID: &[u8] = b"RRIP_1991A";
const ER_DESCRIPTOR: &[u8] = b"THE ROCK RIDGE INTERCHANGE PROTOCOL PROVIDES SUPPORT FOR POSIX FILE SYSTEM SEMANTICS";
const ER_SOURCE: &[u8] = b"PLEASE CONTACT DISC PUBLISHER FOR SPECIFICATION SOURCE.  SEE PUBLISHER IDENTIFIER IN PRIMARY VOLUME DESCRIPTOR FOR CONTACT INFORMATION.";

const MODE_DIR: u32 = 0o040_555;
const MODE_FILE: u32 = 0o100_444;

/// Which of the two directory trees is being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tree {
    /// ISO 9660 names plus Rock Ridge.
    Primary,
    /// Joliet UCS-2 names.
    Joliet,
}

/// One file or directory of the image.
struct Node {
    /// The real name (empty for the root).
    name: String,
    parent: usize,
    kind: Kind,
}

enum Kind {
    Dir { children: Vec<usize> },
    File { data: usize },
}

/// The tree of nodes (index 0 is the root) and the distinct file contents.
struct Arena<'a> {
    nodes: Vec<Node>,
    data: Vec<&'a [u8]>,
}

impl<'a> Arena<'a> {
    fn new(directories: &BTreeSet<String>, files: &'a BTreeMap<String, Vec<u8>>) -> Self {
        let root = Node {
            name: String::new(),
            parent: 0,
            kind: Kind::Dir { children: Vec::new() },
        };
        let mut arena = Arena {
            nodes: vec![root],
            data: Vec::new(),
        };
        for dir in directories {
            arena.dir_path(dir);
        }
        let mut by_content: BTreeMap<&'a [u8], usize> = BTreeMap::new();
        for (path, contents) in files {
            let (dir, name) = path.rsplit_once('/').unwrap_or(("", path.as_str()));
            let parent = arena.dir_path(dir);
            let next = arena.data.len();
            let data = *by_content.entry(contents.as_slice()).or_insert(next);
            if data == next {
                arena.data.push(contents);
            }
            arena.add(parent, name, Kind::File { data });
        }
        arena
    }

    /// The node for a directory path, created with its parents as needed.
    fn dir_path(&mut self, path: &str) -> usize {
        let mut at = 0;
        for part in path.split('/').filter(|p| !p.is_empty()) {
            let found = self.children(at).iter().copied().find(|&c| self.nodes[c].name == part);
            at = match found {
                Some(child) => child,
                None => self.add(at, part, Kind::Dir { children: Vec::new() }),
            };
        }
        at
    }

    fn add(&mut self, parent: usize, name: &str, kind: Kind) -> usize {
        let index = self.nodes.len();
        self.nodes.push(Node {
            name: name.to_string(),
            parent,
            kind,
        });
        match &mut self.nodes[parent].kind {
            Kind::Dir { children } => children.push(index),
            Kind::File { .. } => unreachable!("files are only added under directories"),
        }
        index
    }

    fn children(&self, node: usize) -> &[usize] {
        match &self.nodes[node].kind {
            Kind::Dir { children } => children,
            Kind::File { .. } => &[],
        }
    }

    fn is_dir(&self, node: usize) -> bool {
        match self.nodes[node].kind {
            Kind::Dir { .. } => true,
            Kind::File { .. } => false,
        }
    }

    /// Rock Ridge link count: 2 + subdirectories for a directory; for a file, the number of
    /// names sharing its extent.
    fn nlink(&self, node: usize) -> u32 {
        match self.nodes[node].kind {
            Kind::Dir { .. } => 2 + self.children(node).iter().filter(|&&c| self.is_dir(c)).count() as u32,
            Kind::File { data } => self
                .nodes
                .iter()
                .filter(|n| match n.kind {
                    Kind::File { data: d } => d == data,
                    Kind::Dir { .. } => false,
                })
                .count() as u32,
        }
    }
}

/// One directory tree (primary or Joliet) as it will be written.
struct TreeLayout {
    tree: Tree,
    /// Identifier bytes of each node in this tree (the root's is `[0]`).
    idents: Vec<Vec<u8>>,
    /// Directories in path table order (breadth first, children sorted).
    dir_order: Vec<usize>,
    /// Each node's directory's children, sorted by identifier.
    sorted_children: Vec<Vec<usize>>,
    /// Each directory's extent length in bytes (whole sectors); 0 for files.
    dir_size: Vec<usize>,
    /// Each directory's first sector; 0 for files.
    dir_extent: Vec<usize>,
    path_table_size: usize,
}

impl TreeLayout {
    fn new(arena: &Arena, tree: Tree) -> Self {
        let n = arena.nodes.len();
        let mut idents = vec![Vec::new(); n];
        idents[0] = vec![0];
        let mut sorted_children = vec![Vec::new(); n];
        for (dir, sorted) in sorted_children.iter_mut().enumerate() {
            let mut taken = BTreeSet::new();
            let mut children = arena.children(dir).to_vec();
            // Name in a stable order so that collision suffixes are deterministic.
            children.sort_by(|&a, &b| arena.nodes[a].name.cmp(&arena.nodes[b].name));
            for &child in &children {
                let is_dir = arena.is_dir(child);
                let ident = unique_ident(&arena.nodes[child].name, is_dir, tree, &mut taken);
                idents[child] = ident;
            }
            children.sort_by_key(|&c| sort_key(&idents[c], tree));
            *sorted = children;
        }
        let mut dir_order = vec![0];
        let mut i = 0;
        while i < dir_order.len() {
            let dir = dir_order[i];
            dir_order.extend(sorted_children[dir].iter().copied().filter(|&c| arena.is_dir(c)));
            i += 1;
        }
        let path_table_size = dir_order.iter().map(|&d| 8 + padded_even(idents[d].len())).sum();
        let mut layout = TreeLayout {
            tree,
            idents,
            dir_order,
            sorted_children,
            dir_size: vec![0; n],
            dir_extent: vec![0; n],
            path_table_size,
        };
        for &dir in &layout.dir_order {
            let lengths: Vec<usize> = layout.records(arena, dir, &[]).iter().map(Vec::len).collect();
            layout.dir_size[dir] = pack(&lengths).1 * SECTOR;
        }
        layout
    }

    fn path_table_sectors(&self) -> usize {
        self.path_table_size.div_ceil(SECTOR)
    }

    /// The directory records of `dir` ("." and ".." first). `extents` gives each file
    /// data's sector and is empty while only lengths are needed.
    fn records(&self, arena: &Arena, dir: usize, extents: &[(usize, usize)]) -> Vec<Vec<u8>> {
        let parent = arena.nodes[dir].parent;
        let mut out = vec![
            self.record(arena, dir, &[0], dir == 0, extents),
            self.record(arena, parent, &[1], false, extents),
        ];
        for &child in &self.sorted_children[dir] {
            out.push(self.record(arena, child, &self.idents[child], false, extents));
        }
        out
    }

    /// One directory record for `node` under identifier `ident`.
    fn record(&self, arena: &Arena, node: usize, ident: &[u8], root_self: bool, extents: &[(usize, usize)]) -> Vec<u8> {
        let (extent, size, flags) = match arena.nodes[node].kind {
            Kind::Dir { .. } => (self.dir_extent[node], self.dir_size[node], 0x02),
            Kind::File { data } => extents.get(data).copied().map_or((0, 0, 0), |(e, s)| (e, s, 0)),
        };
        let mut r = vec![0u8; 33];
        r[2..10].copy_from_slice(&both32(extent as u32));
        r[10..18].copy_from_slice(&both32(size as u32));
        // r[18..25] (date) is filled in when the image is written.
        r[25] = flags;
        r[28..32].copy_from_slice(&both16(1));
        r[32] = ident.len() as u8;
        r.extend_from_slice(ident);
        if ident.len() % 2 == 0 {
            r.push(0);
        }
        if self.tree == Tree::Primary {
            if root_self {
                r.extend_from_slice(&[b'S', b'P', 7, 1, 0xBE, 0xEF, 0]);
            }
            let mode = if arena.is_dir(node) { MODE_DIR } else { MODE_FILE };
            r.extend_from_slice(&[b'P', b'X', 36, 1]);
            for value in [mode, arena.nlink(node), 0, 0] {
                r.extend_from_slice(&both32(value));
            }
            if root_self {
                // Points at the ER entry; the sector is patched in when known.
                r.extend_from_slice(&[b'C', b'E', 28, 1]);
                r.extend_from_slice(&[0; 8]);
                r.extend_from_slice(&both32(0));
                r.extend_from_slice(&both32(er_entry().len() as u32));
            }
            if ident != [0] && ident != [1] {
                let name = truncate_utf8(&arena.nodes[node].name, MAX_RR_NAME);
                r.extend_from_slice(&[b'N', b'M', 5 + name.len() as u8, 1, 0]);
                r.extend_from_slice(name.as_bytes());
            }
        }
        if r.len() % 2 == 1 {
            r.push(0);
        }
        assert!(r.len() <= MAX_RECORD, "directory record too long");
        r[0] = r.len() as u8;
        r
    }

    /// Path table bytes, little-endian (`L`) or big-endian (`M`).
    fn path_table(&self, arena: &Arena, big_endian: bool) -> Vec<u8> {
        let mut number = vec![0u16; arena.nodes.len()];
        let mut out = Vec::with_capacity(self.path_table_size);
        for (i, &dir) in self.dir_order.iter().enumerate() {
            number[dir] = (i + 1) as u16;
            let ident = &self.idents[dir];
            let parent = number[arena.nodes[dir].parent].max(1);
            let extent = self.dir_extent[dir] as u32;
            out.push(ident.len() as u8);
            out.push(0);
            out.extend_from_slice(&if big_endian {
                extent.to_be_bytes()
            } else {
                extent.to_le_bytes()
            });
            out.extend_from_slice(&if big_endian {
                parent.to_be_bytes()
            } else {
                parent.to_le_bytes()
            });
            out.extend_from_slice(ident);
            if ident.len() % 2 == 1 {
                out.push(0);
            }
        }
        out
    }
}

/// Build the whole image.
pub(crate) fn write_image(
    label: &str,
    timestamp: u64,
    directories: &BTreeSet<String>,
    files: &BTreeMap<String, Vec<u8>>,
) -> Vec<u8> {
    let arena = Arena::new(directories, files);
    let mut primary = TreeLayout::new(&arena, Tree::Primary);
    let mut joliet = TreeLayout::new(&arena, Tree::Joliet);

    // Allocate sectors.
    let mut next = FIRST_DESCRIPTOR + 3;
    let mut path_tables = [0usize; 4];
    for (i, t) in [&primary, &primary, &joliet, &joliet].iter().enumerate() {
        path_tables[i] = next;
        next += t.path_table_sectors();
    }
    for t in [&mut primary, &mut joliet] {
        for &dir in &t.dir_order {
            t.dir_extent[dir] = next;
            next += t.dir_size[dir] / SECTOR;
        }
    }
    let er_sector = next;
    next += 1;
    let mut extents = Vec::with_capacity(arena.data.len());
    for data in &arena.data {
        let sectors = data.len().div_ceil(SECTOR);
        extents.push((if sectors == 0 { 0 } else { next }, data.len()));
        next += sectors;
    }
    let total_sectors = next;

    let mut image = vec![0u8; total_sectors * SECTOR];
    let date = dir_record_date(timestamp);
    for (t, table_at) in [
        (&primary, [path_tables[0], path_tables[1]]),
        (&joliet, [path_tables[2], path_tables[3]]),
    ] {
        write_volume_descriptor(&mut image, t, label, timestamp, total_sectors, table_at, &arena);
        put(&mut image, table_at[0] * SECTOR, &t.path_table(&arena, false));
        put(&mut image, table_at[1] * SECTOR, &t.path_table(&arena, true));
        for &dir in &t.dir_order {
            let records = t.records(&arena, dir, &extents);
            let lengths: Vec<usize> = records.iter().map(Vec::len).collect();
            for (i, (record, offset)) in records.iter().zip(pack(&lengths).0).enumerate() {
                let at = t.dir_extent[dir] * SECTOR + offset;
                put(&mut image, at, record);
                put(&mut image, at + 18, &date);
                if t.tree == Tree::Primary && dir == 0 && i == 0 {
                    patch_ce(&mut image[at..at + record.len()], er_sector);
                }
            }
        }
    }
    let terminator = (FIRST_DESCRIPTOR + 2) * SECTOR;
    put(&mut image, terminator, &[255, b'C', b'D', b'0', b'0', b'1', 1]);
    put(&mut image, er_sector * SECTOR, &er_entry());
    for (data, &(extent, _)) in arena.data.iter().zip(&extents) {
        put(&mut image, extent * SECTOR, data);
    }
    image
}

/// Write the primary (sector 16) or Joliet (sector 17) volume descriptor.
fn write_volume_descriptor(
    image: &mut [u8],
    t: &TreeLayout,
    label: &str,
    timestamp: u64,
    total_sectors: usize,
    path_tables: [usize; 2],
    arena: &Arena,
) {
    let joliet = t.tree == Tree::Joliet;
    let mut vd = vec![0u8; SECTOR];
    vd[0] = if joliet { 2 } else { 1 };
    vd[1..6].copy_from_slice(b"CD001");
    vd[6] = 1;
    let text = |s: &str, len: usize| {
        if joliet {
            ucs2_field(s, len)
        } else {
            ascii_field(s, len)
        }
    };
    vd[8..40].copy_from_slice(&text("LINUX", 32));
    vd[40..72].copy_from_slice(&text(label, 32));
    vd[80..88].copy_from_slice(&both32(total_sectors as u32));
    if joliet {
        vd[88..91].copy_from_slice(b"%/E");
    }
    vd[120..124].copy_from_slice(&both16(1));
    vd[124..128].copy_from_slice(&both16(1));
    vd[128..132].copy_from_slice(&both16(SECTOR as u16));
    vd[132..140].copy_from_slice(&both32(t.path_table_size as u32));
    vd[140..144].copy_from_slice(&(path_tables[0] as u32).to_le_bytes());
    vd[148..152].copy_from_slice(&(path_tables[1] as u32).to_be_bytes());
    let mut root = t.record(arena, 0, &[0], false, &[]);
    root.truncate(34);
    root[0] = 34;
    root[18..25].copy_from_slice(&dir_record_date(timestamp));
    vd[156..190].copy_from_slice(&root);
    for (at, len) in [(190, 128), (318, 128), (446, 128)] {
        vd[at..at + len].copy_from_slice(&text("", len));
    }
    vd[574..702].copy_from_slice(&text("FERROSTACK CONFIGDRIVE", 128));
    for at in [702, 739, 776] {
        vd[at..at + 37].copy_from_slice(&text("", 37));
    }
    let date = volume_date(Some(timestamp));
    vd[813..830].copy_from_slice(&date);
    vd[830..847].copy_from_slice(&date);
    vd[847..864].copy_from_slice(&volume_date(None));
    vd[864..881].copy_from_slice(&volume_date(None));
    vd[881] = 1;
    let sector = FIRST_DESCRIPTOR + usize::from(joliet);
    put(image, sector * SECTOR, &vd);
}

/// Fill in the CE entry's block in the root's "." record.
fn patch_ce(record: &mut [u8], er_sector: usize) {
    if let Some(pos) = record.windows(4).position(|w| w == [b'C', b'E', 28, 1]) {
        record[pos + 4..pos + 12].copy_from_slice(&both32(er_sector as u32));
    }
}

/// The Rock Ridge `ER` entry announcing RRIP 1.10.
fn er_entry() -> Vec<u8> {
    let len = 8 + ER_ID.len() + ER_DESCRIPTOR.len() + ER_SOURCE.len();
    let mut er = vec![
        b'E',
        b'R',
        len as u8,
        1,
        ER_ID.len() as u8,
        ER_DESCRIPTOR.len() as u8,
        ER_SOURCE.len() as u8,
        1,
    ];
    er.extend_from_slice(ER_ID);
    er.extend_from_slice(ER_DESCRIPTOR);
    er.extend_from_slice(ER_SOURCE);
    er
}

/// Place records in sectors without letting one cross a sector boundary. Returns each
/// record's byte offset in the extent and the number of sectors used.
fn pack(lengths: &[usize]) -> (Vec<usize>, usize) {
    let mut offsets = Vec::with_capacity(lengths.len());
    let mut at = 0;
    for &len in lengths {
        if at % SECTOR + len > SECTOR {
            at = at.next_multiple_of(SECTOR);
        }
        offsets.push(at);
        at += len;
    }
    (offsets, at.div_ceil(SECTOR).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_never_cross_sectors() {
        let (offsets, sectors) = pack(&[200; 20]);
        assert_eq!(sectors, 2);
        assert_eq!(offsets[10], 2048);
        assert_eq!(pack(&[34, 34]).1, 1);
    }

    #[test]
    fn er_entry_is_well_formed() {
        let er = er_entry();
        assert_eq!(er.len(), usize::from(er[2]));
        assert_eq!(&er[8..18], ER_ID);
    }
}
