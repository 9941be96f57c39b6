//! Human units as docker prints and parses them: durations ("About a minute"), sizes
//! ("1.99MB"), memory limits ("64m"), CPU counts ("1.5") and `--since`/`--until` times.

use std::time::{SystemTime, UNIX_EPOCH};

/// docker's `units.HumanDuration`: how long ago, in words.
pub fn human_duration(secs: i64) -> String {
    let s = secs.max(0);
    if s < 1 {
        return "Less than a second".into();
    }
    if s == 1 {
        return "1 second".into();
    }
    if s < 60 {
        return format!("{s} seconds");
    }
    let minutes = s / 60;
    if minutes == 1 {
        return "About a minute".into();
    }
    if minutes < 60 {
        return format!("{minutes} minutes");
    }
    // Hours round to the nearest, as docker's do.
    let hours = (s as f64 / 3600.0 + 0.5) as i64;
    if hours == 1 {
        return "About an hour".into();
    }
    if hours < 48 {
        return format!("{hours} hours");
    }
    if hours < 24 * 7 * 2 {
        return format!("{} days", hours / 24);
    }
    if hours < 24 * 30 * 2 {
        return format!("{} weeks", hours / 24 / 7);
    }
    if hours < 24 * 365 * 2 {
        return format!("{} months", hours / 24 / 30);
    }
    format!("{} years", s / 3600 / 24 / 365)
}

/// Seconds since the epoch, now.
pub fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Go's zero `time.Time` (0001-01-01T00:00:00Z) in unix seconds: what daemons report
/// for an image without a creation time.
const GO_ZERO_TIME: i64 = -62_135_596_800;

/// "N units ago" for a unix timestamp, as `ps` and `images` print CREATED; "N/A" for
/// Go's zero time, as docker prints it.
pub fn ago(unix: i64) -> String {
    if unix <= GO_ZERO_TIME {
        return "N/A".into();
    }
    format!("{} ago", human_duration(now_unix() - unix))
}

/// docker's `units.HumanSizeWithPrecision(size, 3)`: decimal units, three significant
/// digits, no trailing zeros ("1.99MB", "2MB", "123kB").
pub fn human_size(size: f64) -> String {
    const UNITS: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    scaled(size, 1000.0, &UNITS, 3)
}

/// docker's `units.BytesSize`: binary units, four significant digits ("23.54GiB").
pub fn bytes_size(size: f64) -> String {
    const UNITS: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];
    scaled(size, 1024.0, &UNITS, 4)
}

fn scaled(size: f64, base: f64, units: &[&str], precision: usize) -> String {
    let mut v = size;
    let mut i = 0;
    while v >= base && i < units.len() - 1 {
        v /= base;
        i += 1;
    }
    format!("{}{}", format_g(v, precision), units[i])
}

/// Go's `%.<p>g`: `p` significant digits, exponent form for very large or small values,
/// trailing zeros removed.
fn format_g(v: f64, p: usize) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let sci = format!("{:.*e}", p - 1, v);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if exp < -4 || exp >= p as i32 {
        let m = trim_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{m}e{sign}{:02}", exp.abs());
    }
    let decimals = (p as i32 - 1 - exp).max(0) as usize;
    trim_zeros(&format!("{v:.decimals$}")).to_owned()
}

fn trim_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// docker's `units.RAMInBytes`: `64m`, `1g`, `512k`, `1.5GiB`, `100` (bytes); binary units.
pub fn ram_in_bytes(text: &str) -> Result<i64, String> {
    let invalid = || format!("invalid size: '{text}'");
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num.parse().map_err(|_| invalid())?;
    let unit = unit.to_ascii_lowercase();
    let mult: f64 = match unit.as_str() {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024f64.powi(4),
        "p" | "pb" | "pib" => 1024f64.powi(5),
        _ => return Err(invalid()),
    };
    Ok((n * mult) as i64)
}

/// `--cpus 1.5` → NanoCpus; at most nine decimals, as docker's `NanoCPUs.Set`.
pub fn nano_cpus(text: &str) -> Result<i64, String> {
    let invalid = || {
        format!(
            "invalid argument \"{text}\" for \"--cpus\" flag: failed to parse {text} as a rational number"
        )
    };
    let (int, frac) = text.split_once('.').unwrap_or((text, ""));
    if (int.is_empty() && frac.is_empty())
        || !int.bytes().all(|b| b.is_ascii_digit())
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err(invalid());
    }
    if frac.len() > 9 {
        return Err(format!(
            "invalid argument \"{text}\" for \"--cpus\" flag: value is too precise"
        ));
    }
    let int: i64 = if int.is_empty() {
        0
    } else {
        int.parse().map_err(|_| invalid())?
    };
    let frac_nanos: i64 = if frac.is_empty() {
        0
    } else {
        format!("{frac:0<9}").parse().map_err(|_| invalid())?
    };
    int.checked_mul(1_000_000_000)
        .and_then(|n| n.checked_add(frac_nanos))
        .ok_or_else(invalid)
}

/// A Go duration: `300ms`, `1.5h`, `2h45m`, `10s` (no sign). Returns nanoseconds.
pub fn go_duration(text: &str) -> Option<i128> {
    if text.is_empty() {
        return None;
    }
    if text == "0" {
        return Some(0);
    }
    let mut rest = text;
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if n == 0 {
            return None;
        }
        let value: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[u..];
        total += value * unit;
    }
    Some(total as i128)
}

/// docker's `timetypes.GetTimestamp` for `logs --since/--until`: a Go duration counts
/// back from now; an RFC 3339 date or date-time, or unix seconds (with optional
/// fraction), is absolute. The answer is what the API takes: `SECONDS[.NANOS]`.
pub fn api_timestamp(value: &str, now: SystemTime) -> Result<String, String> {
    // As the docker CLI: a bare "0" is the epoch, not a zero duration ago.
    if value != "0"
        && let Some(nanos) = go_duration(value)
    {
        let now = now
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        let t = now - nanos;
        return Ok(format!(
            "{}.{:09}",
            t.div_euclid(1_000_000_000),
            t.rem_euclid(1_000_000_000)
        ));
    }
    let (int, frac) = value.split_once('.').unwrap_or((value, ""));
    if !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && frac.len() <= 9
    {
        return Ok(value.to_owned());
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(value) {
        return Ok(format!(
            "{}.{:09}",
            t.timestamp(),
            t.timestamp_subsec_nanos()
        ));
    }
    for fmt in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(t) = chrono::NaiveDateTime::parse_from_str(value, fmt) {
            let t = t.and_utc();
            return Ok(format!(
                "{}.{:09}",
                t.timestamp(),
                t.timestamp_subsec_nanos()
            ));
        }
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let t = d
            .and_hms_opt(0, 0, 0)
            .map(|t| t.and_utc().timestamp())
            .unwrap_or(0);
        return Ok(format!("{t}.000000000"));
    }
    Err(format!(
        "failed to parse value as time or duration: \"{value}\""
    ))
}

/// Seconds since the epoch of an RFC 3339 time (inspect's `Created`), if it parses.
pub fn rfc3339_unix(value: &str) -> Option<i64> {
    chrono::DateTime::parse_from_rfc3339(value)
        .ok()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn durations_read_like_dockers() {
        assert_eq!(human_duration(0), "Less than a second");
        assert_eq!(human_duration(1), "1 second");
        assert_eq!(human_duration(59), "59 seconds");
        assert_eq!(human_duration(60), "About a minute");
        assert_eq!(human_duration(119), "About a minute");
        assert_eq!(human_duration(120), "2 minutes");
        assert_eq!(human_duration(3599), "59 minutes");
        assert_eq!(human_duration(3600), "About an hour");
        assert_eq!(human_duration(5400), "2 hours");
        assert_eq!(human_duration(47 * 3600), "47 hours");
        assert_eq!(human_duration(3 * 86400), "3 days");
        assert_eq!(human_duration(20 * 86400), "2 weeks");
        assert_eq!(human_duration(90 * 86400), "3 months");
        assert_eq!(human_duration(56 * 365 * 86400), "56 years");
        assert_eq!(ago(-62_135_596_800), "N/A");
    }

    #[test]
    fn sizes_have_three_significant_digits() {
        assert_eq!(human_size(1_990_000.0), "1.99MB");
        assert_eq!(human_size(2_000_000.0), "2MB");
        assert_eq!(human_size(999.0), "999B");
        assert_eq!(human_size(1234.0), "1.23kB");
        assert_eq!(human_size(123_456.0), "123kB");
        assert_eq!(human_size(0.0), "0B");
        assert_eq!(bytes_size(25_275_000_000.0), "23.54GiB");
    }

    #[test]
    fn memory_units_are_binary() {
        assert_eq!(ram_in_bytes("64m").unwrap(), 64 << 20);
        assert_eq!(ram_in_bytes("1g").unwrap(), 1 << 30);
        assert_eq!(ram_in_bytes("512KiB").unwrap(), 512 << 10);
        assert_eq!(ram_in_bytes("100").unwrap(), 100);
        assert_eq!(ram_in_bytes("1.5k").unwrap(), 1536);
        assert!(ram_in_bytes("lots").is_err());
        assert!(ram_in_bytes("10q").is_err());
    }

    #[test]
    fn cpus_become_nanocpus() {
        assert_eq!(nano_cpus("1.5").unwrap(), 1_500_000_000);
        assert_eq!(nano_cpus("2").unwrap(), 2_000_000_000);
        assert_eq!(nano_cpus(".25").unwrap(), 250_000_000);
        assert!(nano_cpus("abc").is_err());
        assert!(nano_cpus("-1").is_err());
        assert!(nano_cpus("0.0000000001").is_err());
    }

    #[test]
    fn timestamps_for_logs() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(api_timestamp("10m", now).unwrap(), "999400.000000000");
        assert_eq!(api_timestamp("1.5s", now).unwrap(), "999998.500000000");
        assert_eq!(api_timestamp("1700000000", now).unwrap(), "1700000000");
        assert_eq!(
            api_timestamp("1970-01-02T00:00:00Z", now).unwrap(),
            "86400.000000000"
        );
        assert_eq!(api_timestamp("1970-01-02", now).unwrap(), "86400.000000000");
        assert!(api_timestamp("yesterday", now).is_err());
        assert_eq!(
            go_duration("2h45m"),
            Some((2 * 3600 + 45 * 60) as i128 * 1_000_000_000)
        );
        assert_eq!(go_duration("5"), None);
    }
}
