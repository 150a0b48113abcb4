//! CloudStack request signature verification (reference §1.4, tolerance variants of §1.5).
//!
//! The server rule (`ApiServer.verifyRequest`): take every request parameter except
//! `signature`, sort the names as received (case-sensitive code-point order), build
//! `name=ENC(value)` with the raw name and Java `URLEncoder` encoding of the value (`+` then
//! replaced by `%20`), join with `&`, lowercase the whole string, HMAC-SHA1 it with the user's
//! secret key and Base64-encode the digest (standard alphabet, padded).
//!
//! Real clients deviate in small ways (leaving `~` or `[`/`]` literal, encoding `*`, sorting
//! lowercased names), so [`verify`] accepts a signature computed under any combination of
//! those deviations. Accepting variants does not weaken the check: every candidate is still
//! an HMAC under the caller's secret over all parameters.
//!
//! This module is self-contained and performs no I/O.

use base64::engine::general_purpose::STANDARD;
use base64::Engine as _;
use hmac::{Hmac, Mac};
use sha1::Sha1;
use subtle::{Choice, ConstantTimeEq};

type HmacSha1 = Hmac<Sha1>;

/// Deviations from the strict server rule that [`verify`] tolerates.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Variant {
    /// Leave `~` unescaped (cs, libcloud, Go cmk, cloudstack-go).
    tilde_literal: bool,
    /// Leave `[` and `]` unescaped in values (libcloud).
    brackets_literal: bool,
    /// Encode `*` as `%2A` (old Python 2 Marvin).
    star_encoded: bool,
    /// Sort by the lowercased name instead of the name as received (cloudmonkey, libcloud, Marvin).
    lowercase_sort: bool,
}

impl Variant {
    /// The strict server rule.
    const STRICT: Variant = Variant {
        tilde_literal: false,
        brackets_literal: false,
        star_encoded: false,
        lowercase_sort: false,
    };

    /// Every combination of the four deviations (16 variants, strict first).
    fn all() -> impl Iterator<Item = Variant> {
        (0u8..16).map(|bits| Variant {
            tilde_literal: bits & 1 != 0,
            brackets_literal: bits & 2 != 0,
            star_encoded: bits & 4 != 0,
            lowercase_sort: bits & 8 != 0,
        })
    }

    /// Whether `b` is written as itself rather than as `%XX`.
    fn keeps(self, b: u8) -> bool {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => true,
            b'*' => !self.star_encoded,
            b'~' => self.tilde_literal,
            b'[' | b']' => self.brackets_literal,
            _ => false,
        }
    }
}

/// Encode a value the way Java's `URLEncoder.encode(value, "UTF-8")` does, with the
/// subsequent `+` → `%20` replacement already applied (space becomes `%20`), adjusted by
/// the tolerated `variant`. Hex digits are uppercase; the caller lowercases everything.
fn encode_value(value: &str, variant: Variant, out: &mut String) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in value.as_bytes() {
        if variant.keeps(b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0F)]));
        }
    }
}

/// The parameters that take part in the signature: everything but `signature` (name compared
/// case-insensitively). As in the server's parameter map, a name repeated exactly keeps only
/// its first value.
fn signed_pairs(pairs: &[(String, String)]) -> Vec<(&str, &str)> {
    let mut out: Vec<(&str, &str)> = Vec::with_capacity(pairs.len());
    for (name, value) in pairs {
        if name.eq_ignore_ascii_case("signature") || out.iter().any(|(n, _)| *n == name) {
            continue;
        }
        out.push((name.as_str(), value.as_str()));
    }
    out
}

/// Build the lowercased canonical string for already-filtered `pairs` under `variant`.
fn canonical_with(pairs: &[(&str, &str)], variant: Variant) -> String {
    let mut sorted = pairs.to_vec();
    if variant.lowercase_sort {
        // Tie-break on the raw name so the order is fully determined.
        sorted.sort_by_cached_key(|(name, _)| (name.to_lowercase(), *name));
    } else {
        // Byte order of UTF-8 equals code-point order (Java's compare for all BMP names).
        sorted.sort_by(|a, b| a.0.cmp(b.0));
    }
    let mut out = String::new();
    for (i, (name, value)) in sorted.iter().enumerate() {
        if i > 0 {
            out.push('&');
        }
        out.push_str(name);
        out.push('=');
        encode_value(value, variant, &mut out);
    }
    out.to_lowercase()
}

/// HMAC-SHA1 of `data` keyed with the UTF-8 bytes of `secret`, standard padded Base64.
fn hmac_base64(data: &str, secret: &str) -> String {
    let mut mac = HmacSha1::new_from_slice(secret.as_bytes()).expect("HMAC accepts any key length");
    mac.update(data.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// Canonical string per the server rule (Java `URLEncoder` encoding, `+`→`%20`, names raw,
/// case-sensitive sort of names, joined with `&`, whole string lowercased), excluding the
/// `signature` parameter (name compared case-insensitively).
pub fn canonical(pairs: &[(String, String)]) -> String {
    canonical_with(&signed_pairs(pairs), Variant::STRICT)
}

/// HMAC-SHA1 of [`canonical`]`(pairs)` keyed with `secret`, standard Base64 with padding.
pub fn sign(pairs: &[(String, String)], secret: &str) -> String {
    hmac_base64(&canonical(pairs), secret)
}

/// True if `signature` matches any accepted variant: (a) the strict Java rule; (b) `~` left
/// literal; (c) `[`/`]` left literal; (d) `*` encoded as `%2a`; (e) names sorted by their
/// lowercased form — in every combination. Spaces in the received signature are first mapped
/// back to `+` (clients that forget to URL-encode the Base64 value in a query string).
/// Comparison is constant-time, and all candidates are always checked.
pub fn verify(pairs: &[(String, String)], secret: &str, signature: &str) -> bool {
    let received = signature.replace(' ', "+");
    let signed = signed_pairs(pairs);
    let mut candidates: Vec<String> = Vec::with_capacity(16);
    for variant in Variant::all() {
        let text = canonical_with(&signed, variant);
        if !candidates.contains(&text) {
            candidates.push(text);
        }
    }
    let mut ok = Choice::from(0);
    for text in &candidates {
        let expected = hmac_base64(text, secret);
        ok |= expected.as_bytes().ct_eq(received.as_bytes());
    }
    ok.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test-secret-key";

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    fn list_users() -> Vec<(String, String)> {
        pairs(&[
            ("command", "listUsers"),
            ("apiKey", "test-api-key"),
            ("response", "json"),
        ])
    }

    fn deploy_vm() -> Vec<(String, String)> {
        pairs(&[
            ("command", "deployVirtualMachine"),
            ("apiKey", "test-api-key"),
            ("response", "json"),
            ("zoneid", "1d8d87d4-1425-459c-8d81-c6f57dca2bd2"),
            ("serviceofferingid", "498ce071-a077-4237-9492-e55c42553327"),
            ("templateid", "50459b99-5fe0-11ea-9a56-1e006800018c"),
            ("displayname", "web 01*"),
            ("signatureVersion", "3"),
            ("expires", "2030-01-01T00:00:00+0000"),
            ("details[0].cpuNumber", "2"),
        ])
    }

    fn list_zones_tilde() -> Vec<(String, String)> {
        pairs(&[
            ("command", "listZones"),
            ("apiKey", "test-api-key"),
            ("response", "json"),
            ("name", "a~b c+d/e"),
        ])
    }

    #[test]
    fn vector_list_users() {
        let p = list_users();
        assert_eq!(canonical(&p), "apikey=test-api-key&command=listusers&response=json");
        assert_eq!(sign(&p, SECRET), "hAOHr/DycFdS/I0W/SW7g7I1jQI=");
        assert!(verify(&p, SECRET, "hAOHr/DycFdS/I0W/SW7g7I1jQI="));
    }

    #[test]
    fn vector_deploy_virtual_machine() {
        let p = deploy_vm();
        let expected = "apiKey=test-api-key&command=deployVirtualMachine&details[0].cpuNumber=2\
            &displayname=web%2001*&expires=2030-01-01T00%3A00%3A00%2B0000&response=json\
            &serviceofferingid=498ce071-a077-4237-9492-e55c42553327&signatureVersion=3\
            &templateid=50459b99-5fe0-11ea-9a56-1e006800018c\
            &zoneid=1d8d87d4-1425-459c-8d81-c6f57dca2bd2";
        assert_eq!(canonical(&p), expected.to_lowercase());
        assert_eq!(sign(&p, SECRET), "X9LSL8P//aklritle5WT6lS73S4=");
        assert!(verify(&p, SECRET, "X9LSL8P//aklritle5WT6lS73S4="));
    }

    #[test]
    fn vector_list_zones_tilde_server_rule() {
        let p = list_zones_tilde();
        assert_eq!(
            canonical(&p),
            "apikey=test-api-key&command=listzones&name=a%7eb%20c%2bd%2fe&response=json"
        );
        assert_eq!(sign(&p, SECRET), "cW7NbYBYCcuHyAGVx/8iL0JdpCI=");
        assert!(verify(&p, SECRET, "cW7NbYBYCcuHyAGVx/8iL0JdpCI="));
    }

    #[test]
    fn vector_list_zones_tilde_cs_libcloud_variant() {
        let p = list_zones_tilde();
        let sig = "8bTTroy7/dAx55iJu7SlYdDxEr8=";
        assert_ne!(sign(&p, SECRET), sig);
        assert_eq!(
            hmac_base64(
                "apikey=test-api-key&command=listzones&name=a~b%20c%2bd%2fe&response=json",
                SECRET
            ),
            sig
        );
        assert!(verify(&p, SECRET, sig));
    }

    #[test]
    fn signature_param_excluded_any_case() {
        let mut p = list_users();
        let plain = canonical(&p);
        p.push(("signature".into(), "x".into()));
        p.push(("Signature".into(), "y".into()));
        p.push(("SIGNATURE".into(), "z".into()));
        assert_eq!(canonical(&p), plain);
        assert!(verify(&p, SECRET, "hAOHr/DycFdS/I0W/SW7g7I1jQI="));
    }

    #[test]
    fn rejects_wrong_secret() {
        assert!(!verify(&list_users(), "other-secret", "hAOHr/DycFdS/I0W/SW7g7I1jQI="));
        assert!(!verify(&deploy_vm(), "", "X9LSL8P//aklritle5WT6lS73S4="));
    }

    #[test]
    fn rejects_tampered_parameters() {
        let sig = "X9LSL8P//aklritle5WT6lS73S4=";
        let mut changed = deploy_vm();
        changed[3].1 = "1d8d87d4-1425-459c-8d81-c6f57dca2bd3".into();
        assert!(!verify(&changed, SECRET, sig));
        let mut added = deploy_vm();
        added.push(("listall".into(), "true".into()));
        assert!(!verify(&added, SECRET, sig));
        let mut removed = deploy_vm();
        removed.pop();
        assert!(!verify(&removed, SECRET, sig));
        let mut renamed = list_users();
        renamed[0].0 = "commandx".into();
        assert!(!verify(&renamed, SECRET, "hAOHr/DycFdS/I0W/SW7g7I1jQI="));
    }

    #[test]
    fn rejects_garbage_signatures() {
        let p = list_users();
        for sig in ["", "hAOHr/DycFdS/I0W/SW7g7I1jQI", "hAOHr/DycFdS/I0W/SW7g7I1jQI==", "x"] {
            assert!(!verify(&p, SECRET, sig), "{sig:?}");
        }
        // Case matters in Base64.
        assert!(!verify(&p, SECRET, "haohr/dycfds/i0w/sw7g7i1jqi="));
    }

    #[test]
    fn accepts_lowercase_sorted_names() {
        // Case-sensitive order puts "Name" first ('N' < 'a'); sorting lowercased names puts it
        // after "command". cloudmonkey, libcloud and Marvin sign the latter.
        let p = pairs(&[
            ("command", "listZones"),
            ("apiKey", "test-api-key"),
            ("response", "json"),
            ("Name", "zone1"),
        ]);
        assert_eq!(
            canonical(&p),
            "name=zone1&apikey=test-api-key&command=listzones&response=json"
        );
        let lower_sorted = "apikey=test-api-key&command=listzones&name=zone1&response=json";
        let sig = hmac_base64(lower_sorted, SECRET);
        assert_ne!(sig, sign(&p, SECRET));
        assert!(verify(&p, SECRET, &sig));
        assert!(!verify(&p, "wrong", &sig));
    }

    #[test]
    fn accepts_libcloud_brackets_and_tilde_with_lowercase_sort() {
        let p = pairs(&[("command", "listZones"), ("apiKey", "k"), ("Keyword", "[x]~*")]);
        let libcloud = "apikey=k&command=listzones&keyword=[x]~*";
        assert!(verify(&p, SECRET, &hmac_base64(libcloud, SECRET)));
        let brackets_only = "keyword=[x]%7e*&apikey=k&command=listzones";
        assert!(verify(&p, SECRET, &hmac_base64(brackets_only, SECRET)));
        let star_encoded = "keyword=%5bx%5d%7e%2a&apikey=k&command=listzones";
        assert!(verify(&p, SECRET, &hmac_base64(star_encoded, SECRET)));
        // A different canonical form (other separator) is not accepted.
        let bogus = "apikey=k;command=listzones;keyword=[x]~*";
        assert!(!verify(&p, SECRET, &hmac_base64(bogus, SECRET)));
    }

    #[test]
    fn spaces_in_received_signature_become_plus() {
        let p = list_users();
        let sig = sign(&p, SECRET);
        // Find a parameter set whose signature contains '+' to exercise the mapping.
        let with_plus = (0..200)
            .map(|i| {
                let mut q = p.clone();
                q.push(("n".into(), i.to_string()));
                let s = sign(&q, SECRET);
                (q, s)
            })
            .find(|(_, s)| s.contains('+'))
            .expect("some signature contains '+'");
        let spaced = with_plus.1.replace('+', " ");
        assert!(verify(&with_plus.0, SECRET, &spaced));
        assert!(verify(&p, SECRET, &sig));
    }

    #[test]
    fn java_encoding_rules() {
        let mut out = String::new();
        encode_value("Az09.-*_ ~/:+[]=&é", Variant::STRICT, &mut out);
        assert_eq!(out, "Az09.-*_%20%7E%2F%3A%2B%5B%5D%3D%26%C3%A9");
    }

    #[test]
    fn duplicate_names_use_first_value() {
        let mut p = list_users();
        p.push(("command".into(), "deleteUser".into()));
        assert_eq!(sign(&p, SECRET), "hAOHr/DycFdS/I0W/SW7g7I1jQI=");
    }
}
