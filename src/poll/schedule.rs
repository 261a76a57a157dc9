//! When to fetch a subscription next. The user's interval is the base; the upstream's own
//! hints (RSS `ttl`, `Cache-Control: max-age`, `sy:updatePeriod`/`updateFrequency`) may
//! stretch or shorten it within bounds; errors back off exponentially with jitter up to a day;
//! `Retry-After` is honoured. Every time is computed once and stored, so a restart resumes.

use std::time::Duration;

pub const DEFAULT_INTERVAL: Duration = Duration::from_secs(30 * 60);
/// Never more often than this, whatever an upstream says.
pub const MIN_INTERVAL: Duration = Duration::from_secs(5 * 60);
/// Never less often than this (and the cap on backoff).
pub const MAX_INTERVAL: Duration = Duration::from_secs(24 * 60 * 60);

/// The interval after a successful fetch. The most conservative hint wins, kept between half
/// and four times the user's interval (and within [`MIN_INTERVAL`], [`MAX_INTERVAL`]).
pub fn next_interval(base: Duration, hints: &[Option<Duration>]) -> Duration {
    let base = base.clamp(MIN_INTERVAL, MAX_INTERVAL);
    match hints.iter().flatten().max() {
        Some(&hint) => {
            let lo = (base / 2).max(MIN_INTERVAL);
            let hi = (base * 4).min(MAX_INTERVAL);
            hint.clamp(lo, hi)
        }
        None => base,
    }
}

/// The wait after `errors` consecutive failures: base × 2^(errors−1), capped at a day, with
/// ±20% jitter so that feeds failing together do not retry together. `jitter` is in [0, 1).
pub fn backoff(base: Duration, errors: u32, jitter: f64) -> Duration {
    let base = base.clamp(MIN_INTERVAL, MAX_INTERVAL);
    let factor = 2u32.saturating_pow(errors.saturating_sub(1).min(16));
    let raw = base.saturating_mul(factor).min(MAX_INTERVAL);
    let scaled = raw.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0));
    scaled.min(MAX_INTERVAL)
}

/// A small spread (±5%) on regular intervals so that subscriptions created together drift
/// apart instead of hitting their hosts in lockstep.
pub fn spread(interval: Duration, jitter: f64) -> Duration {
    interval.mul_f64(0.95 + 0.1 * jitter.clamp(0.0, 1.0))
}

/// Parses "30m", "2h", "1d", "90s" or a number of seconds.
pub fn parse_interval(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?} is not an interval such as 30m, 2h or 1d"))?;
    let secs = match unit.trim() {
        "" | "s" => n,
        "m" | "min" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return Err(format!("{s:?}: use s, m, h or d")),
    };
    let d = Duration::from_secs(secs);
    if d < MIN_INTERVAL || d > MAX_INTERVAL {
        return Err(format!("{s:?}: an interval is between 5m and 24h"));
    }
    Ok(d)
}

#[cfg(test)]
mod tests {
    use super::*;

    const M: u64 = 60;

    #[test]
    fn hints_stretch_and_shorten_within_bounds() {
        let base = Duration::from_secs(30 * M);
        assert_eq!(next_interval(base, &[]), base);
        let ttl_2h = Some(Duration::from_secs(120 * M));
        assert_eq!(next_interval(base, &[ttl_2h]), Duration::from_secs(120 * M));
        let week = Some(Duration::from_secs(7 * 24 * 60 * M));
        assert_eq!(next_interval(base, &[week]), Duration::from_secs(120 * M));
        let one_min = Some(Duration::from_secs(M));
        assert_eq!(next_interval(base, &[one_min]), Duration::from_secs(15 * M));
        assert_eq!(
            next_interval(base, &[one_min, ttl_2h]),
            Duration::from_secs(120 * M)
        );
    }

    #[test]
    fn backoff_doubles_to_a_day() {
        let base = Duration::from_secs(30 * M);
        assert_eq!(backoff(base, 1, 0.5), base);
        assert_eq!(backoff(base, 2, 0.5), base * 2);
        assert_eq!(backoff(base, 4, 0.5), base * 8);
        assert_eq!(backoff(base, 30, 0.99), MAX_INTERVAL);
        assert!(backoff(base, 1, 0.0) < backoff(base, 1, 0.99));
    }

    #[test]
    fn intervals_parse() {
        assert_eq!(parse_interval("30m").unwrap(), Duration::from_secs(30 * M));
        assert_eq!(parse_interval("2h").unwrap(), Duration::from_secs(120 * M));
        assert!(parse_interval("1m").is_err());
        assert!(parse_interval("2w").is_err());
    }
}
