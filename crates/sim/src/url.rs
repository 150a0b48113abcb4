//! Simulator host URLs (`http://sim/<path>`) and the deterministic values derived from them.

use ferrostack_agent_api::AgentError;

/// What a simulator host URL looks like, for error messages.
const URL_SHAPE: &str = "a simulator host URL looks like http://sim/<path>, e.g. http://sim/c1/h1";

/// Validate a simulator host URL and return the canonical key of the simulated host.
///
/// Accepted: scheme `http` or `https`, host part `sim` (any case), no port or credentials,
/// any path without whitespace, query or fragment. The key is `http://sim<path>` with
/// trailing slashes removed, so `HTTPS://Sim/c1/h1/` and `http://sim/c1/h1` name the same
/// simulated host. The path is case-sensitive.
pub(crate) fn host_key(url: &str) -> Result<String, AgentError> {
    let bad = || AgentError::Failed(format!("'{url}' is not a simulator host URL: {URL_SHAPE}"));
    let trimmed = url.trim();
    let rest = strip_prefix_ci(trimmed, "http://")
        .or_else(|| strip_prefix_ci(trimmed, "https://"))
        .ok_or_else(bad)?;
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    if !authority.eq_ignore_ascii_case("sim") {
        return Err(bad());
    }
    if path.contains(|c: char| c.is_whitespace() || c.is_control() || c == '?' || c == '#') {
        return Err(bad());
    }
    Ok(format!("http://sim{}", path.trim_end_matches('/')))
}

/// `s` without `prefix`, compared ASCII case-insensitively.
fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix).then(|| &s[prefix.len()..])
}

/// FNV-1a, 64 bit: a hash that is stable across builds and platforms (unlike std's hasher).
pub(crate) fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// A private IP in 172.16.0.0/12 derived from the host key (never a network or broadcast
/// address in the last octet).
pub(crate) fn private_ip(key: &str) -> String {
    let h = fnv1a(key.as_bytes());
    let second = 16 + (h & 0x0f);
    let third = (h >> 8) & 0xff;
    let fourth = 1 + (h >> 16) % 254;
    format!("172.{second}.{third}.{fourth}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_sim_urls_and_canonicalises_them() {
        for (url, key) in [
            ("http://sim/c1/h1", "http://sim/c1/h1"),
            ("https://sim/c1/h1", "http://sim/c1/h1"),
            ("HTTP://SIM/c1/h1/", "http://sim/c1/h1"),
            ("  http://Sim/x  ", "http://sim/x"),
            ("http://sim", "http://sim"),
            ("http://sim/", "http://sim"),
        ] {
            assert_eq!(host_key(url).unwrap(), key, "{url}");
        }
    }

    #[test]
    fn rejects_other_urls_with_a_helpful_message() {
        for url in [
            "",
            "sim/c1/h1",
            "ftp://sim/c1",
            "http://simulator/c1",
            "http://sim:8080/c1",
            "http://user@sim/c1",
            "http://10.0.0.1/c1",
            "http://sim/c 1",
            "http://sim/c1?x=1",
            "http://sim/c1#frag",
            "httpé://sim/",
        ] {
            match host_key(url) {
                Err(AgentError::Failed(msg)) => assert!(msg.contains("http://sim/"), "{url}: {msg}"),
                other => panic!("{url}: expected Failed, got {other:?}"),
            }
        }
    }

    #[test]
    fn private_ip_is_deterministic_and_private() {
        let a = private_ip("http://sim/c1/h1");
        assert_eq!(a, private_ip("http://sim/c1/h1"));
        assert_ne!(a, private_ip("http://sim/c1/h2"));
        let octets: Vec<u32> = a.split('.').map(|o| o.parse().unwrap()).collect();
        assert_eq!(octets[0], 172);
        assert!((16..32).contains(&octets[1]));
        assert!((1..255).contains(&octets[3]));
    }
}
