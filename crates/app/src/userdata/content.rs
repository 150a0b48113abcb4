//! Pure user data helpers, shared by the registry and VM deployment: base64 and length
//! checks, the template override policies, `userdatadetails` variables, and CloudStack's
//! cloud-init merge for `APPEND` (`CloudInitUserDataProvider.appendUserData`).

use std::collections::BTreeMap;

use base64::Engine as _;
use ferrostack_types::Error;

/// How a template's linked user data combines with user data given for a VM.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// The VM's user data replaces the template's (the default).
    AllowOverride,
    /// The VM may not bring user data; the template's is used.
    DenyOverride,
    /// The VM's user data is appended to the template's.
    Append,
}

impl Policy {
    pub fn parse(s: &str) -> Option<Policy> {
        match s.trim().to_ascii_uppercase().as_str() {
            "ALLOWOVERRIDE" => Some(Policy::AllowOverride),
            "DENYOVERRIDE" => Some(Policy::DenyOverride),
            "APPEND" => Some(Policy::Append),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Policy::AllowOverride => "ALLOWOVERRIDE",
            Policy::DenyOverride => "DENYOVERRIDE",
            Policy::Append => "APPEND",
        }
    }
}

/// Metadata file names a config drive / virtual router already serves; a registered
/// variable may not shadow them (CloudStack's `NetworkModel.metadataFileNames`).
pub const METADATA_FILE_NAMES: &[&str] = &[
    "service-offering",
    "availability-zone",
    "local-hostname",
    "local-ipv4",
    "public-ipv4",
    "public-hostname",
    "instance-id",
    "vm-id",
    "public-keys",
    "cloud-identifier",
    "hypervisor-host-name",
    "cloud-domain",
    "cloud-domain-id",
    "cloud-name",
];

const B64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true),
);

/// Canonical stored form: standard alphabet, padded.
pub fn encode(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `%XX` escapes decoded (clients that URL-encode twice), as CloudStack does when the value
/// contains `%`. `None` when an escape is malformed.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Check user data given as base64 and return it decoded. The length limit (the setting
/// `vm.userdata.max.length`) applies to the encoded text, as in CloudStack. Whitespace (line
/// breaks of wrapped base64) is ignored, padding is optional.
pub fn validate_userdata(b64: &str, max_len: usize) -> Result<Vec<u8>, Error> {
    let text = if b64.contains('%') {
        percent_decode(b64)
            .ok_or_else(|| Error::invalid("Url decoding of userdata failed; give the userdata as plain base64 text"))?
    } else {
        b64.to_string()
    };
    if text.len() > max_len {
        return Err(Error::invalid(format!(
            "User data has exceeded configurable max length : {max_len}; shorten it (base64 counts) or raise the \
             setting vm.userdata.max.length (at most 1048576)"
        )));
    }
    let compact: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let decoded = B64.decode(compact.as_bytes()).map_err(|e| {
        Error::invalid(format!(
            "The userdata is not valid base64 ({e}); encode the content with the standard base64 alphabet \
             (A-Z, a-z, 0-9, +, /), e.g. `base64 -w0 file`"
        ))
    })?;
    if decoded.is_empty() {
        return Err(Error::invalid("User data is too short: it decodes to nothing"));
    }
    Ok(decoded)
}

/// Check the declared variable names of a user data object; returns them trimmed, joined
/// with commas as stored (`None` when none are declared).
pub fn normalize_params(params: Option<&str>) -> Result<Option<String>, Error> {
    let list = ferrostack_db::userdata::split_params(params);
    if list.is_empty() {
        return Ok(None);
    }
    let clash: Vec<&str> = list
        .iter()
        .map(String::as_str)
        .filter(|p| METADATA_FILE_NAMES.contains(p))
        .collect();
    if !clash.is_empty() {
        return Err(Error::invalid(format!(
            "Params passed here have a few virtual router metadata file names {clash:?}; these values are provided \
             by the cloud already, so don't declare them as params"
        )));
    }
    if let Some(bad) = list.iter().find(|p| {
        !p.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.')
    }) {
        return Err(Error::invalid(format!(
            "The userdata param '{bad}' is not a valid variable name; use letters, digits, '_', '-' and '.'"
        )));
    }
    Ok(Some(list.join(",")))
}

/// Combine a template's user data with the VM's under the template's policy (CloudStack's
/// `finalizeUserData`): ALLOWOVERRIDE — the VM's wins, else the template's; DENYOVERRIDE — a
/// VM-supplied value is refused (431) when the template has user data; APPEND — the template's
/// then the VM's, merged as cloud-init does.
pub fn apply_policy(
    policy: Policy,
    template_ud: Option<&[u8]>,
    vm_ud: Option<&[u8]>,
) -> Result<Option<Vec<u8>>, Error> {
    let Some(t) = template_ud else {
        return Ok(vm_ud.map(<[u8]>::to_vec));
    };
    match (policy, vm_ud) {
        (Policy::AllowOverride | Policy::DenyOverride | Policy::Append, None) => Ok(Some(t.to_vec())),
        (Policy::AllowOverride, Some(v)) => Ok(Some(v.to_vec())),
        (Policy::DenyOverride, Some(_)) => Err(Error::invalid(
            "UserData input is not allowed here since the template is configured to deny any userdata \
             (policy DENYOVERRIDE); deploy without userdata/userdataid, or relink the template's user data with \
             another policy",
        )),
        (Policy::Append, Some(v)) => append(t, v).map(Some),
    }
}

/// Check `userdatadetails` against the declared params and fill them in: every declared
/// param needs a value, every given key must be declared, and each `{{ ds.meta_data.<name> }}`
/// of a declared name is replaced by its value. Other `{{ … }}` (cloud-init's own instance
/// data such as `ds.meta_data.public_hostname`) are left for cloud-init to render; the values
/// also belong in the VM's metadata, where cloud-init's jinja finds them.
pub fn render_variables(
    userdata: &[u8],
    params: &[String],
    details: &BTreeMap<String, String>,
) -> Result<Vec<u8>, Error> {
    if let Some(missing) = params.iter().find(|p| !details.contains_key(p.as_str())) {
        return Err(Error::invalid(format!(
            "The user data declares the param '{missing}' but userdatadetails gives no value for it; pass \
             userdatadetails[0].{missing}=<value>"
        )));
    }
    if let Some(extra) = details.keys().find(|k| !params.contains(k)) {
        return Err(Error::invalid(format!(
            "userdatadetails key '{extra}' is not a param declared by the user data (declared: {}); remove it or \
             register the user data with it in params",
            if params.is_empty() {
                "none".to_string()
            } else {
                params.join(", ")
            }
        )));
    }
    if params.is_empty() {
        return Ok(userdata.to_vec());
    }
    let mut out = Vec::with_capacity(userdata.len());
    let mut rest = userdata;
    while let Some(open) = find(rest, b"{{") {
        let Some(close) = find(&rest[open + 2..], b"}}") else {
            break;
        };
        let inner = &rest[open + 2..open + 2 + close];
        let name = std::str::from_utf8(inner)
            .ok()
            .map(str::trim)
            .and_then(|s| s.strip_prefix("ds.meta_data."));
        out.extend_from_slice(&rest[..open]);
        match name.and_then(|n| details.get(n)) {
            Some(v) => out.extend_from_slice(v.as_bytes()),
            None => out.extend_from_slice(&rest[open..open + 4 + close]),
        }
        rest = &rest[open + 4 + close..];
    }
    out.extend_from_slice(rest);
    Ok(out)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// The user data formats cloud-init tells apart by their first line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    CloudConfig,
    Script,
    Boothook,
    Include,
    Mime,
}

impl Format {
    fn content_type(self) -> &'static str {
        match self {
            Format::CloudConfig => "text/cloud-config",
            Format::Script => "text/x-shellscript",
            Format::Boothook => "text/cloud-boothook",
            Format::Include => "text/x-include-url",
            Format::Mime => "multipart/mixed",
        }
    }
}

fn merge_error(why: impl std::fmt::Display) -> Error {
    Error::invalid(format!(
        "Error attempting to merge user data as a multipart user data. Reason: {why}"
    ))
}

fn format_of(ud: &str, default: Option<Format>) -> Result<Format, Error> {
    if ud.trim().is_empty() {
        return Err(merge_error("User data expected but provided empty user data"));
    }
    let header = ud
        .split('\n')
        .map(|l| l.trim_end_matches('\r'))
        .find(|l| (l.starts_with('#') && !l.starts_with("##")) || l.starts_with("Content-Type:"));
    let Some(h) = header else {
        return default.ok_or_else(|| {
            merge_error(
                "Failed to detect the user data format type as it does not contain a header; start it with \
                 #cloud-config, #!, #cloud-boothook, #include or a MIME Content-Type header",
            )
        });
    };
    if h.eq_ignore_ascii_case("#cloud-config") {
        Ok(Format::CloudConfig)
    } else if h.starts_with("#!") {
        Ok(Format::Script)
    } else if h.eq_ignore_ascii_case("#cloud-boothook") {
        Ok(Format::Boothook)
    } else if h.starts_with("#include") {
        Ok(Format::Include)
    } else if h.starts_with("Content-Type:") {
        Ok(Format::Mime)
    } else {
        Err(merge_error(format!(
            "Cannot recognise the user data format type from the header line: {h}. Supported types are: \
             cloud-config, bash script, cloud-boothook, include file or MIME"
        )))
    }
}

/// Same-format text: the second one's header line dropped (CloudStack's
/// `simpleAppendSameFormatTypeUserData`).
fn simple_append(a: &str, b: &str) -> String {
    let tail = b.find('\n').map(|i| &b[i + 1..]).unwrap_or(b);
    format!("{a}\n\n{tail}")
}

/// Split header block and body of a MIME entity.
fn split_entity(s: &str) -> (Vec<(String, String)>, &str) {
    let (head, body) = match (s.find("\r\n\r\n"), s.find("\n\n")) {
        (Some(a), Some(b)) if a < b => (&s[..a], &s[a + 4..]),
        (_, Some(b)) => (&s[..b], &s[b + 2..]),
        (Some(a), None) => (&s[..a], &s[a + 4..]),
        (None, None) => (s, ""),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in head.split('\n').map(|l| l.trim_end_matches('\r')) {
        if line.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push(' ');
                last.1.push_str(line.trim());
            }
        } else if let Some((k, v)) = line.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    (headers, body)
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// The parts of a MIME user data: (content type, decoded text).
fn mime_parts(ud: &str) -> Result<Vec<(String, String)>, Error> {
    let (headers, body) = split_entity(ud);
    let ct = header(&headers, "content-type").unwrap_or("text/plain");
    let media = ct.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    if !media.starts_with("multipart/") {
        return Ok(vec![(media, decode_part(&headers, body)?)]);
    }
    let boundary = ct
        .split(';')
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("boundary"))
        .map(|(_, v)| v.trim().trim_matches('"').to_string())
        .ok_or_else(|| merge_error("the multipart user data has no boundary"))?;
    let delim = format!("--{boundary}");
    let mut parts = Vec::new();
    for chunk in body.split(delim.as_str()).skip(1) {
        if chunk.starts_with("--") {
            break;
        }
        let chunk = chunk
            .strip_prefix("\r\n")
            .or_else(|| chunk.strip_prefix('\n'))
            .unwrap_or(chunk);
        let (h, b) = split_entity(chunk);
        let t = header(&h, "content-type").unwrap_or("text/plain");
        let t = t.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        let text = decode_part(&h, b.trim_end_matches(['\r', '\n']))?;
        parts.push((t, text));
    }
    Ok(parts)
}

fn decode_part(h: &[(String, String)], body: &str) -> Result<String, Error> {
    if header(h, "content-transfer-encoding").is_some_and(|e| e.eq_ignore_ascii_case("base64")) {
        let compact: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
        let bytes = B64
            .decode(compact)
            .map_err(|e| merge_error(format!("a base64 MIME part: {e}")))?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    } else {
        Ok(body.to_string())
    }
}

/// Add a part, merging it into an existing part of the same content type.
fn add_part(parts: &mut Vec<(String, String)>, t: String, text: String) {
    match parts.iter_mut().find(|(pt, _)| *pt == t) {
        Some(existing) => existing.1 = simple_append(&existing.1, &text),
        None => parts.push((t, text)),
    }
}

/// Append `vm` to `template` user data as cloud-init would read them: same-format cloud-config
/// or scripts are concatenated; anything else becomes a multipart MIME message whose parts
/// are merged by content type. Gzipped data can't be merged.
pub fn append(template: &[u8], vm: &[u8]) -> Result<Vec<u8>, Error> {
    if template.starts_with(&[0x1f, 0x8b]) || vm.starts_with(&[0x1f, 0x8b]) {
        return Err(merge_error(
            "Gzipped user data can not be used together with other user data formats",
        ));
    }
    let a = String::from_utf8_lossy(template);
    let b = String::from_utf8_lossy(vm);
    let fa = format_of(&a, None)?;
    let fb = format_of(&b, Some(fa))?;
    if fa == fb && matches!(fa, Format::CloudConfig | Format::Script) {
        return Ok(simple_append(&a, &b).into_bytes());
    }
    let mut parts: Vec<(String, String)> = Vec::new();
    for (f, text) in [(fa, &a), (fb, &b)] {
        if f == Format::Mime {
            for (t, p) in mime_parts(text)? {
                add_part(&mut parts, t, p);
            }
        } else {
            add_part(&mut parts, f.content_type().to_string(), text.to_string());
        }
    }
    let mut boundary = format!("==ferrostack-userdata-{:08x}==", parts.len() * 7919 + a.len() + b.len());
    while parts.iter().any(|(_, p)| p.contains(&boundary)) {
        boundary.push('_');
    }
    let mut out = format!("Content-Type: multipart/mixed; boundary=\"{boundary}\"\nMIME-Version: 1.0\n\n");
    for (t, text) in &parts {
        out.push_str(&format!(
            "--{boundary}\nContent-Type: {t}\nMIME-Version: 1.0\nContent-Transfer-Encoding: base64\n\n"
        ));
        let enc = encode(text.as_bytes());
        for line in enc.as_bytes().chunks(76) {
            out.push_str(std::str::from_utf8(line).unwrap_or_default());
            out.push('\n');
        }
    }
    out.push_str(&format!("--{boundary}--\n"));
    Ok(out.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn details(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn base64_is_checked_and_decoded() {
        assert_eq!(validate_userdata("aGVsbG8=", 100).unwrap(), b"hello");
        // Padding optional, line breaks of wrapped base64 ignored.
        assert_eq!(validate_userdata("aGVsbG8", 100).unwrap(), b"hello");
        assert_eq!(validate_userdata("aGVs\nbG8=\n", 100).unwrap(), b"hello");
        // URL-encoded once more by the client.
        assert_eq!(validate_userdata("aGVsbG8%3D", 100).unwrap(), b"hello");
        for bad in ["not base64!", "aGVsbG8=aGVs=", "a", "%zz"] {
            let e = validate_userdata(bad, 100).unwrap_err();
            assert_eq!(e.http_status(), 431, "{bad}");
        }
        assert!(validate_userdata("not base64!", 100)
            .unwrap_err()
            .to_string()
            .contains("userdata is not valid base64"));
        assert!(validate_userdata("", 100).is_err());
    }

    #[test]
    fn length_limit_counts_the_encoded_text() {
        let b64 = encode(&[7u8; 48]); // 64 characters
        assert_eq!(b64.len(), 64);
        assert!(validate_userdata(&b64, 64).is_ok());
        let e = validate_userdata(&b64, 63).unwrap_err();
        assert_eq!(e.http_status(), 431);
        assert!(
            e.to_string()
                .starts_with("User data has exceeded configurable max length : 63"),
            "{e}"
        );
    }

    #[test]
    fn params_are_normalised_and_metadata_names_refused() {
        assert_eq!(normalize_params(Some(" a, b ,")).unwrap().as_deref(), Some("a,b"));
        assert_eq!(normalize_params(Some("")).unwrap(), None);
        assert_eq!(normalize_params(None).unwrap(), None);
        let e = normalize_params(Some("x,public-ipv4")).unwrap_err();
        assert!(e.to_string().contains("public-ipv4"), "{e}");
        assert!(normalize_params(Some("a b")).is_err());
    }

    #[test]
    fn policies() {
        let t: &[u8] = b"#!/bin/sh\necho t\n";
        let v: &[u8] = b"#!/bin/sh\necho v\n";
        // No template user data: the VM's, whatever the policy.
        for p in [Policy::AllowOverride, Policy::DenyOverride, Policy::Append] {
            assert_eq!(apply_policy(p, None, Some(v)).unwrap().as_deref(), Some(v));
            assert_eq!(apply_policy(p, None, None).unwrap(), None);
            assert_eq!(apply_policy(p, Some(t), None).unwrap().as_deref(), Some(t));
        }
        assert_eq!(
            apply_policy(Policy::AllowOverride, Some(t), Some(v))
                .unwrap()
                .as_deref(),
            Some(v)
        );
        let e = apply_policy(Policy::DenyOverride, Some(t), Some(v)).unwrap_err();
        assert_eq!(e.http_status(), 431);
        assert!(e.to_string().contains("DENYOVERRIDE"));
        let merged = apply_policy(Policy::Append, Some(t), Some(v)).unwrap().unwrap();
        assert_eq!(String::from_utf8(merged).unwrap(), "#!/bin/sh\necho t\n\n\necho v\n");
        assert_eq!(Policy::parse("append"), Some(Policy::Append));
        assert_eq!(Policy::parse("AllowOverride"), Some(Policy::AllowOverride));
        assert_eq!(Policy::parse("nope"), None);
        assert_eq!(Policy::DenyOverride.as_str(), "DENYOVERRIDE");
    }

    #[test]
    fn append_same_cloud_config_concatenates() {
        let out = append(b"#cloud-config\na: 1\n", b"#cloud-config\nb: 2\n").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "#cloud-config\na: 1\n\n\nb: 2\n");
        // The VM's part may omit the header: it takes the template's format.
        let out = append(b"#cloud-config\na: 1", b"b: 2").unwrap();
        assert_eq!(String::from_utf8(out).unwrap(), "#cloud-config\na: 1\n\nb: 2");
    }

    #[test]
    fn append_different_formats_makes_multipart_mime() {
        let out = append(b"#cloud-config\na: 1\n", b"#!/bin/bash\necho hi\n").unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.starts_with("Content-Type: multipart/mixed; boundary="), "{text}");
        let parts = mime_parts(&text).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[0], ("text/cloud-config".into(), "#cloud-config\na: 1\n".into()));
        assert_eq!(parts[1], ("text/x-shellscript".into(), "#!/bin/bash\necho hi\n".into()));
        // Appending MIME to MIME merges parts of the same type.
        let again = append(text.as_bytes(), b"Content-Type: multipart/mixed; boundary=\"XX\"\n\n--XX\nContent-Type: text/x-shellscript\n\n#!/bin/bash\necho two\n--XX--\n").unwrap();
        let parts = mime_parts(&String::from_utf8(again).unwrap()).unwrap();
        assert_eq!(parts.len(), 2);
        assert_eq!(parts[1].1, "#!/bin/bash\necho hi\n\n\necho two");
    }

    #[test]
    fn append_refuses_gzip_and_headerless_template() {
        assert!(append(&[0x1f, 0x8b, 8, 0], b"#!/bin/sh").is_err());
        let e = append(b"no header", b"#!/bin/sh").unwrap_err();
        assert!(e.to_string().contains("does not contain a header"), "{e}");
        assert!(append(b"#unknown", b"#!/bin/sh").is_err());
    }

    #[test]
    fn variables_are_checked_and_filled() {
        let ud = b"## template: jinja\n#cloud-config\nrun: echo {{ ds.meta_data.v1 }} {{ds.meta_data.v2}} {{ ds.meta_data.public_hostname }}\n";
        let params = vec!["v1".to_string(), "v2".to_string()];
        let out = render_variables(ud, &params, &details(&[("v1", "one"), ("v2", "two")])).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "## template: jinja\n#cloud-config\nrun: echo one two {{ ds.meta_data.public_hostname }}\n"
        );
        let e = render_variables(ud, &params, &details(&[("v1", "one")])).unwrap_err();
        assert_eq!(e.http_status(), 431);
        assert!(e.to_string().contains("'v2'"), "{e}");
        let e = render_variables(ud, &params, &details(&[("v1", "1"), ("v2", "2"), ("v3", "3")])).unwrap_err();
        assert!(e.to_string().contains("'v3'"), "{e}");
        // Nothing declared, nothing given: unchanged (even binary).
        assert_eq!(
            render_variables(&[0, 159, 146], &[], &BTreeMap::new()).unwrap(),
            vec![0, 159, 146]
        );
        assert!(render_variables(b"x", &[], &details(&[("a", "b")])).is_err());
        // An unterminated brace pair is left alone.
        let out = render_variables(b"{{ ds.meta_data.v1", &["v1".into()], &details(&[("v1", "x")])).unwrap();
        assert_eq!(out, b"{{ ds.meta_data.v1");
    }
}
