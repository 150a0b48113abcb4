//! Request parameter decoding (reference §1.1 and the `map` convention of §1.6).
//!
//! CloudStack takes the union of the query string and an `application/x-www-form-urlencoded`
//! body, decoded as UTF-8. Parameter names other than `command` are matched
//! case-insensitively; repeated names are tolerated and one value (here: the first) is used.
//! Map-style parameters (`details[0].cpuNumber=2`) are split into index → field → value, with
//! the parameter name lowercased and the field names kept as sent.
//!
//! This module is self-contained: it only depends on `ferrostack_types::Error`.

use std::collections::{BTreeMap, HashMap};

use ferrostack_types::Error;

/// All request parameters (query string first, then form body), names as received.
#[derive(Debug, Clone, Default)]
pub struct RawParams {
    /// Decoded `(name, value)` pairs in arrival order: query string pairs, then body pairs.
    pub pairs: Vec<(String, String)>,
}

/// The lowercased form used for case-insensitive name matching.
fn lower(name: &str) -> String {
    name.to_lowercase()
}

/// True for the ASCII control characters CloudStack rejects in parameter values
/// (0x00–0x08, 0x0B, 0x0C, 0x0E–0x1F, 0x7F). Tab, newline and carriage return are allowed.
fn is_forbidden_control(c: char) -> bool {
    c.is_ascii_control() && !matches!(c, '\t' | '\n' | '\r')
}

impl RawParams {
    /// Decode `application/x-www-form-urlencoded` query and body as UTF-8 (`+` is a space,
    /// `%XX` are bytes; invalid UTF-8 is replaced lossily). Query pairs come first.
    ///
    /// Empty segments (`a=1&&b=2`) are skipped; a name without `=` gets an empty value.
    pub fn parse(query: Option<&str>, body: Option<&[u8]>) -> RawParams {
        let sources = query.map(str::as_bytes).into_iter().chain(body);
        let pairs = sources
            .flat_map(form_urlencoded::parse)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        RawParams { pairs }
    }

    /// Case-insensitive lookup (`name` given lowercase); the first occurrence wins.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(k, _)| lower(k) == name)
            .map(|(_, v)| v.as_str())
    }

    /// Lowercased-name → value map, first occurrence wins (the form handlers bind from).
    pub fn to_map(&self) -> HashMap<String, String> {
        let mut map = HashMap::with_capacity(self.pairs.len());
        for (k, v) in &self.pairs {
            map.entry(lower(k)).or_insert_with(|| v.clone());
        }
        map
    }

    /// Name of the first parameter whose value contains an ASCII control character other
    /// than `\n`, `\r` and `\t` (0x00–0x08, 0x0B, 0x0C, 0x0E–0x1F, 0x7F), if any. The caller
    /// turns this into a 431 error.
    pub fn control_char_param(&self) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(_, v)| v.chars().any(is_forbidden_control))
            .map(|(k, _)| k.as_str())
    }

    /// Map-style parameters `name[i].field=value` for the given lowercase `name`:
    /// index → (field → value). Field names keep their case; the first occurrence of a
    /// repeated `name[i].field` wins.
    ///
    /// A parameter belongs to `name` when its lowercased name is `name` followed by `[`, `]`
    /// or `.`, or is exactly `name`. Such a parameter must have the form `name[<index>].<field>`
    /// with a non-negative decimal index and exactly one `[`…`]` pair, the `.` directly after
    /// `]`; anything else is `Error::MalformedParameter` (HTTP 430). A bare `name` with an
    /// empty value is ignored (an empty map); a bare `name` with a value is malformed.
    /// Unrelated parameters (including longer names such as `detailsx`) are ignored.
    pub fn map(&self, name: &str) -> Result<BTreeMap<u32, BTreeMap<String, String>>, Error> {
        let mut out: BTreeMap<u32, BTreeMap<String, String>> = BTreeMap::new();
        for (key, value) in &self.pairs {
            let Some(rest) = strip_name(key, name) else {
                continue;
            };
            if rest.is_empty() {
                if value.is_empty() {
                    continue;
                }
                return Err(malformed(key, name));
            }
            let (index, field) = split_entry(rest).ok_or_else(|| malformed(key, name))?;
            out.entry(index)
                .or_default()
                .entry(field.to_string())
                .or_insert_with(|| value.clone());
        }
        Ok(out)
    }
}

/// If `key` (compared case-insensitively) belongs to the map parameter `name`, return the
/// remainder after the name: empty for a bare `name`, otherwise starting with `[`, `]` or `.`.
fn strip_name<'a>(key: &'a str, name: &str) -> Option<&'a str> {
    // Only the part up to the first bracket or dot is the parameter name proper.
    let cut = key.find(['[', ']', '.']).unwrap_or(key.len());
    let (head, rest) = key.split_at(cut);
    (lower(head) == name).then_some(rest)
}

/// Parse `[<index>].<field>`; `None` if malformed.
fn split_entry(rest: &str) -> Option<(u32, &str)> {
    let inner = rest.strip_prefix('[')?;
    let (index, after) = inner.split_once(']')?;
    let field = after.strip_prefix('.')?;
    if index.is_empty() || !index.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    // Exactly one bracket pair in the whole name (CloudStack compares first/last positions).
    if field.contains(['[', ']']) {
        return None;
    }
    Some((index.parse().ok()?, field))
}

/// The 430 error for a malformed map parameter, naming it and the expected form.
fn malformed(key: &str, name: &str) -> Error {
    Error::MalformedParameter(format!(
        "Unable to decode parameter {key}; if specifying an object array, please use \
         {name}[index].field=value, e.g. {name}[0].field=value"
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> RawParams {
        RawParams {
            pairs: pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        }
    }

    #[test]
    fn parse_query_then_body_with_form_decoding() {
        let p = RawParams::parse(
            Some("command=listZones&name=a+b%2Fc&empty=&flag"),
            Some(b"zoneId=z%C3%A9&x=%2B"),
        );
        let expect = [
            ("command", "listZones"),
            ("name", "a b/c"),
            ("empty", ""),
            ("flag", ""),
            ("zoneId", "zé"),
            ("x", "+"),
        ];
        assert_eq!(p.pairs.len(), expect.len());
        for ((k, v), (ek, ev)) in p.pairs.iter().zip(expect) {
            assert_eq!((k.as_str(), v.as_str()), (ek, ev));
        }
    }

    #[test]
    fn parse_handles_missing_parts_and_bad_utf8() {
        assert!(RawParams::parse(None, None).pairs.is_empty());
        assert!(RawParams::parse(Some(""), Some(b"")).pairs.is_empty());
        let p = RawParams::parse(None, Some(b"a=%FF%FEx&&b=1"));
        assert_eq!(p.get("a"), Some("\u{FFFD}\u{FFFD}x"));
        assert_eq!(p.get("b"), Some("1"));
        assert_eq!(p.pairs.len(), 2);
    }

    #[test]
    fn get_is_case_insensitive_and_first_wins() {
        let p = RawParams::parse(Some("zoneId=q1&ZONEID=q2"), Some(b"zoneid=b1"));
        assert_eq!(p.get("zoneid"), Some("q1"));
        assert_eq!(p.get("missing"), None);
        let m = p.to_map();
        assert_eq!(m.len(), 1);
        assert_eq!(m["zoneid"], "q1");
    }

    #[test]
    fn to_map_lowercases_names() {
        let m = params(&[("apiKey", "k"), ("command", "listUsers"), ("apikey", "other")]).to_map();
        assert_eq!(m["apikey"], "k");
        assert_eq!(m["command"], "listUsers");
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn control_characters() {
        let ok = params(&[("a", "line1\nline2\r\n\tend"), ("b", "plain")]);
        assert_eq!(ok.control_char_param(), None);
        for bad in ["\u{0}", "x\u{8}", "\u{B}", "\u{C}", "\u{E}", "\u{1F}", "\u{7F}"] {
            let p = params(&[("good", "v"), ("Bad", bad), ("later", "\u{1}")]);
            assert_eq!(p.control_char_param(), Some("Bad"), "value {bad:?}");
        }
        // Non-ASCII (including C1 controls as far as CloudStack is concerned) is allowed.
        assert_eq!(params(&[("a", "é\u{85}")]).control_char_param(), None);
    }

    #[test]
    fn map_parses_indices_and_keeps_field_case() {
        let p = RawParams::parse(
            Some("command=deployVirtualMachine&Details[0].cpuNumber=2&details[0].memory=512"),
            Some(b"details[1].key=k&details%5B1%5D.value=v&detailsx=1&tags[0].key=t&details[0].cpuNumber=9"),
        );
        let m = p.map("details").unwrap();
        assert_eq!(m.len(), 2);
        assert_eq!(m[&0]["cpuNumber"], "2");
        assert_eq!(m[&0]["memory"], "512");
        assert!(!m[&0].contains_key("cpunumber"));
        assert_eq!(m[&1]["key"], "k");
        assert_eq!(m[&1]["value"], "v");
        assert_eq!(p.map("tags").unwrap()[&0]["key"], "t");
        assert!(p.map("nothing").unwrap().is_empty());
    }

    #[test]
    fn map_accepts_sparse_and_large_indices() {
        let p = params(&[("tags[10].key", "a"), ("tags[007].value", "b")]);
        let m = p.map("tags").unwrap();
        assert_eq!(m.keys().copied().collect::<Vec<_>>(), vec![7, 10]);
    }

    #[test]
    fn map_bare_name() {
        assert!(params(&[("details", "")]).map("details").unwrap().is_empty());
        let err = params(&[("details", "x")]).map("details").unwrap_err();
        assert!(matches!(err, Error::MalformedParameter(_)));
    }

    #[test]
    fn map_rejects_malformed_names() {
        for key in [
            "details[]",
            "details[0]",
            "details[0]cpu",
            "details[].cpu",
            "details[-1].cpu",
            "details[+1].cpu",
            "details[a].cpu",
            "details[1.5].cpu",
            "details[0][1].cpu",
            "details[0].a[1]",
            "details[0].a]",
            "details]0[.cpu",
            "details.cpu",
            "details[0",
            "details[99999999999].cpu",
            "DETAILS[x].cpu",
        ] {
            let err = params(&[("ok[0].a", "1"), (key, "v")]).map("details").unwrap_err();
            let Error::MalformedParameter(msg) = err else {
                panic!("{key}: wrong error kind");
            };
            assert!(msg.contains(key), "{key}: {msg}");
            assert!(msg.contains("details[0].field=value"), "{key}: {msg}");
        }
    }

    #[test]
    fn map_ignores_malformed_other_names() {
        let p = params(&[("tags[x]", "1"), ("details[0].a", "b")]);
        assert_eq!(p.map("details").unwrap()[&0]["a"], "b");
        assert!(p.map("tags").is_err());
    }
}
