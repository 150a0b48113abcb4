//! Encodings for the ISO writer: identifiers for both trees and their sort order,
//! ECMA-119 numbers, text fields and dates.

use std::collections::BTreeSet;

use super::{Tree, MAX_JOLIET_CHARS};

/// An identifier for `name` in `tree` that is not in `taken` yet (and is then added).
pub(super) fn unique_ident(name: &str, is_dir: bool, tree: Tree, taken: &mut BTreeSet<Vec<u8>>) -> Vec<u8> {
    let mut n = 0u32;
    loop {
        let suffix = if n == 0 { String::new() } else { n.to_string() };
        let ident = match tree {
            Tree::Primary => iso_ident(name, is_dir, &suffix),
            Tree::Joliet => joliet_ident(name, is_dir, &suffix),
        };
        if taken.insert(ident.clone()) {
            return ident;
        }
        n += 1;
    }
}

/// ISO 9660 name: d-characters (`A-Z 0-9 _`), `NAME.EXT;1` for files (at most 30
/// characters before `;1`), at most 31 characters for directories. `suffix` makes it unique.
pub(super) fn iso_ident(name: &str, is_dir: bool, suffix: &str) -> Vec<u8> {
    let d_chars = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_uppercase()
                } else {
                    '_'
                }
            })
            .collect()
    };
    let with_suffix = |base: String, room: usize| {
        let keep = room.saturating_sub(suffix.len()).min(base.len());
        let mut out = base[..keep].to_string();
        out.push_str(suffix);
        if out.is_empty() {
            out.push('_');
        }
        out
    };
    if is_dir {
        return with_suffix(d_chars(name), 31).into_bytes();
    }
    let (base, ext) = match name.rsplit_once('.') {
        Some((base, ext)) => (d_chars(base), d_chars(ext)),
        None => (d_chars(name), String::new()),
    };
    let ext: String = ext.chars().take(8).collect();
    let base = with_suffix(base, 30 - 1 - ext.len());
    format!("{base}.{ext};1").into_bytes()
}

/// Joliet name: the real name in UCS-2 big-endian, at most 64 characters, without a `;1`
/// version (as genisoimage writes it). `suffix` makes it unique.
pub(super) fn joliet_ident(name: &str, is_dir: bool, suffix: &str) -> Vec<u8> {
    let clean: Vec<char> = name
        .chars()
        .map(|c| {
            if u32::from(c) > 0xFFFF || c < ' ' || "*/:;?\\".contains(c) {
                '_'
            } else {
                c
            }
        })
        .collect();
    let room = MAX_JOLIET_CHARS - suffix.chars().count();
    let dot = clean
        .iter()
        .rposition(|&c| c == '.')
        .filter(|&d| !is_dir && clean.len() - d <= 8);
    let (stem, ext) = match dot {
        Some(d) => (&clean[..d], &clean[d..]),
        None => (&clean[..], &clean[clean.len()..]),
    };
    let keep = stem.len().min(room.saturating_sub(ext.len()));
    let chars = stem[..keep]
        .iter()
        .copied()
        .chain(suffix.chars())
        .chain(ext.iter().copied());
    chars.flat_map(|c| (c as u16).to_be_bytes()).collect()
}

/// Sort key of an identifier. Primary tree: ECMA-119 §9.3 ordering (name, then extension,
/// each padded with spaces), i.e. the version is dropped and `.` sorts before every other
/// character. Joliet tree: plain UCS-2 code unit order, as genisoimage sorts it.
pub(super) fn sort_key(ident: &[u8], tree: Tree) -> Vec<u32> {
    match tree {
        Tree::Primary => {
            let end = ident.iter().position(|&b| b == b';').unwrap_or(ident.len());
            ident[..end]
                .iter()
                .map(|&b| if b == b'.' { 1 } else { u32::from(b) + 2 })
                .collect()
        }
        Tree::Joliet => ident
            .chunks(2)
            .map(|p| u32::from(u16::from_be_bytes([p[0], p[1]])))
            .collect(),
    }
}

pub(super) fn put(image: &mut [u8], at: usize, bytes: &[u8]) {
    image[at..at + bytes.len()].copy_from_slice(bytes);
}

/// ECMA-119 "both-byte orders" 32-bit number.
pub(super) fn both32(v: u32) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&v.to_le_bytes());
    out[4..].copy_from_slice(&v.to_be_bytes());
    out
}

pub(super) fn both16(v: u16) -> [u8; 4] {
    let [a, b] = v.to_le_bytes();
    [a, b, b, a]
}

pub(super) fn padded_even(len: usize) -> usize {
    len + len % 2
}

pub(super) fn truncate_utf8(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A space-padded ASCII field.
pub(super) fn ascii_field(s: &str, len: usize) -> Vec<u8> {
    let mut out: Vec<u8> = s.bytes().take(len).collect();
    out.resize(len, b' ');
    out
}

/// A UCS-2 big-endian field padded with spaces (an odd length ends in one zero byte).
pub(super) fn ucs2_field(s: &str, len: usize) -> Vec<u8> {
    let mut out: Vec<u8> = s.encode_utf16().take(len / 2).flat_map(u16::to_be_bytes).collect();
    while out.len() + 2 <= len {
        out.extend_from_slice(&[0, b' ']);
    }
    out.resize(len, 0);
    out
}

/// Civil date (UTC) of a Unix time: (year, month, day, hour, minute, second).
pub(super) fn civil(timestamp: u64) -> (u64, u8, u8, u8, u8, u8) {
    let days = timestamp / 86_400;
    let secs = timestamp % 86_400;
    // Howard Hinnant's days-to-civil algorithm, for days since 1970-01-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = yoe + era * 400 + u64::from(month <= 2);
    (
        year,
        month,
        day,
        (secs / 3600) as u8,
        (secs / 60 % 60) as u8,
        (secs % 60) as u8,
    )
}

/// The 7-byte date of a directory record (years since 1900, capped at 2155; UTC).
pub(super) fn dir_record_date(timestamp: u64) -> [u8; 7] {
    let (year, month, day, hour, minute, second) = civil(timestamp);
    [
        (year.clamp(1900, 2155) - 1900) as u8,
        month,
        day,
        hour,
        minute,
        second,
        0,
    ]
}

/// The 17-byte date of a volume descriptor: `YYYYMMDDHHMMSScc` and a zero UTC offset, or
/// all `0` digits for "not specified".
pub(super) fn volume_date(timestamp: Option<u64>) -> [u8; 17] {
    let text = match timestamp {
        Some(ts) => {
            let (year, month, day, hour, minute, second) = civil(ts);
            format!(
                "{:04}{month:02}{day:02}{hour:02}{minute:02}{second:02}00",
                year.min(9999)
            )
        }
        None => "0".repeat(16),
    };
    let mut out = [0u8; 17];
    out[..16].copy_from_slice(text.as_bytes());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil(0), (1970, 1, 1, 0, 0, 0));
        assert_eq!(civil(951_782_400), (2000, 2, 29, 0, 0, 0));
        assert_eq!(civil(1_700_000_000), (2023, 11, 14, 22, 13, 20));
        assert_eq!(&volume_date(Some(1_700_000_000))[..16], b"2023111422132000");
        assert_eq!(dir_record_date(1_700_000_000), [123, 11, 14, 22, 13, 20, 0]);
    }

    #[test]
    fn iso_names_are_d_characters() {
        assert_eq!(iso_ident("meta_data.json", false, ""), b"META_DATA.JSON;1");
        assert_eq!(iso_ident("user_data", false, ""), b"USER_DATA.;1");
        assert_eq!(
            iso_ident("vm-password-md5checksum.txt", false, ""),
            b"VM_PASSWORD_MD5CHECKSUM.TXT;1"
        );
        assert_eq!(iso_ident("latest", true, ""), b"LATEST");
        let long = iso_ident(&"x".repeat(80), false, "7");
        assert!(long.len() <= 32, "{}", String::from_utf8_lossy(&long));
    }

    #[test]
    fn colliding_names_get_suffixes() {
        let mut taken = BTreeSet::new();
        let a = unique_ident("a-b.txt", false, Tree::Primary, &mut taken);
        let b = unique_ident("a_b.txt", false, Tree::Primary, &mut taken);
        assert_eq!(a, b"A_B.TXT;1");
        assert_eq!(b, b"A_B1.TXT;1");
    }

    #[test]
    fn joliet_names_are_ucs2_with_version() {
        let text = |ident: Vec<u8>| -> String { ident.chunks(2).map(|p| char::from(p[1])).collect() };
        assert_eq!(text(joliet_ident("user_data", false, "")), "user_data");
        assert_eq!(text(joliet_ident("meta_data.json", false, "2")), "meta_data2.json");
        assert_eq!(joliet_ident("latest", true, "").len(), 12);
        let long = joliet_ident(&format!("{}.txt", "k".repeat(70)), false, "");
        assert_eq!(long.len(), 2 * MAX_JOLIET_CHARS);
        assert!(text(long).ends_with("k.txt"));
    }

    #[test]
    fn sort_order_follows_ecma_119() {
        let mut names: Vec<&[u8]> = vec![b"A0.B;1", b"A.Z;1", b"A.B0;1", b"A.B;1", b"AB.X;1"];
        names.sort_by_key(|n| sort_key(n, Tree::Primary));
        assert_eq!(names, vec![&b"A.B;1"[..], b"A.B0;1", b"A.Z;1", b"A0.B;1", b"AB.X;1"]);
        let mut joliet: Vec<Vec<u8>> = ["x_y.txt", "cloud-domain.txt", "x y.txt", "cloud-domain-id.txt"]
            .map(|n| joliet_ident(n, false, ""))
            .into();
        joliet.sort_by_key(|n| sort_key(n, Tree::Joliet));
        let text: Vec<String> = joliet
            .iter()
            .map(|n| n.chunks(2).map(|p| char::from(p[1])).collect())
            .collect();
        assert_eq!(text, ["cloud-domain-id.txt", "cloud-domain.txt", "x y.txt", "x_y.txt"]);
    }
}
