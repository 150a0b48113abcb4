//! Time on the wire: `yyyy-MM-dd'T'HH:mm:ssZ` in UTC (`+0000`). Stored as epoch milliseconds.

use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};

pub fn now_ms() -> i64 {
    Utc::now().timestamp_millis()
}

/// CloudStack's date format, e.g. `2024-10-24T10:00:00+0000`.
pub fn format_ms(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(t) => t.format("%Y-%m-%dT%H:%M:%S%z").to_string(),
        None => String::new(),
    }
}

/// Parse a zoned timestamp as `DateUtil.parseTZDateString` accepts it: ISO-8601 with `Z`,
/// `+00:00` or `+0000`, with or without fractional seconds, and the legacy `…'Z'+0000` form.
pub fn parse_tz(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M:%SZ%z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    None
}

/// Parse an event-style date: `yyyy-MM-dd` or `yyyy-MM-dd HH:mm:ss` (UTC).
pub fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S") {
        return Some(Utc.from_utc_datetime(&t));
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| Utc.from_utc_datetime(&t))
        .or_else(|| parse_tz(s))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn formats_and_parses() {
        assert_eq!(format_ms(1_700_000_000_000), "2023-11-14T22:13:20+0000");
        let want = Utc.with_ymd_and_hms(2030, 1, 1, 0, 0, 0).unwrap();
        for s in [
            "2030-01-01T00:00:00Z",
            "2030-01-01T00:00:00+00:00",
            "2030-01-01T00:00:00+0000",
            "2030-01-01T00:00:00.000000+0000",
            "2030-01-01T00:00:00Z+0000",
        ] {
            assert_eq!(parse_tz(s), Some(want), "{s}");
        }
        assert!(parse_tz("tomorrow").is_none());
        assert_eq!(parse_date("2030-01-01"), Some(want));
        assert_eq!(parse_date("2030-01-01 00:00:00"), Some(want));
    }
}
