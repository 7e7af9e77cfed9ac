//! Response metadata for the HTTP layer: `Retry-After` and the IETF RateLimit header fields.
//!
//! The RateLimit fields follow [`RATELIMIT_HEADERS_DRAFT`] (structured-field syntax, unchanged
//! since draft 09):
//!
//! * `RateLimit-Policy: "api";q=100;w=60` — the class's quota `q` per window `w` (seconds);
//! * `RateLimit: "api";r=42;t=17` — `r` requests left now (the GCRA bucket's remaining capacity,
//!   capped at `q`), `t` seconds until the bucket is full again (rounded up);
//! * `Retry-After: 5` — on refusals only, in whole seconds, rounded up and at least 1.
//!
//! This crate has no HTTP dependency: names are lowercase `&'static str` (valid for
//! `http::HeaderName::from_static`) and values are ASCII strings (valid header values).

use std::fmt::Write as _;

use crate::decision::{Decision, ceil_secs};

/// The draft whose syntax the RateLimit fields follow.
pub const RATELIMIT_HEADERS_DRAFT: &str = "draft-ietf-httpapi-ratelimit-headers-10";
/// `Retry-After`.
pub const RETRY_AFTER: &str = "retry-after";
/// `RateLimit-Policy`.
pub const RATELIMIT_POLICY: &str = "ratelimit-policy";
/// `RateLimit`.
pub const RATELIMIT: &str = "ratelimit";

/// The header fields for one decision.
///
/// ```
/// use agency_ratelimit::{ClassConfig, Decision, RateClass, RateLimitHeaders};
/// use std::time::Duration;
/// let class = RateClass::new("api", ClassConfig::per_minute(100)).unwrap();
/// let d = Decision::refused(&class, 0, Duration::from_millis(16_200), Duration::from_millis(400));
/// let h = RateLimitHeaders::new("api", &d);
/// assert_eq!(h.policy(), r#""api";q=100;w=60"#);
/// assert_eq!(h.ratelimit(), r#""api";r=0;t=17"#);
/// assert_eq!(h.retry_after(), Some("1"));
/// let names: Vec<_> = h.iter().map(|(name, _)| name).collect();
/// assert_eq!(names, ["ratelimit-policy", "ratelimit", "retry-after"]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateLimitHeaders {
    policy: String,
    ratelimit: String,
    retry_after: Option<String>,
}

impl RateLimitHeaders {
    /// The fields for `decision`, taken under the class named `policy_name` (the class name you
    /// checked). Characters a structured-field string cannot hold are replaced by `_`.
    pub fn new(policy_name: &str, decision: &Decision) -> Self {
        let name = sf_string(policy_name);
        let mut policy = String::with_capacity(name.len() + 24);
        let _ = write!(
            policy,
            "{name};q={};w={}",
            decision.limit(),
            decision.window().as_secs()
        );
        let mut ratelimit = String::with_capacity(name.len() + 24);
        let _ = write!(
            ratelimit,
            "{name};r={};t={}",
            decision.remaining().min(decision.limit()),
            ceil_secs(decision.reset_after())
        );
        let retry_after = decision.retry_after_secs().map(|s| s.to_string());
        Self {
            policy,
            ratelimit,
            retry_after,
        }
    }

    /// The `RateLimit-Policy` value.
    pub fn policy(&self) -> &str {
        &self.policy
    }

    /// The `RateLimit` value.
    pub fn ratelimit(&self) -> &str {
        &self.ratelimit
    }

    /// The `Retry-After` value, on refusals.
    pub fn retry_after(&self) -> Option<&str> {
        self.retry_after.as_deref()
    }

    /// Every `(name, value)` pair to send.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            (RATELIMIT_POLICY, Some(self.policy.as_str())),
            (RATELIMIT, Some(self.ratelimit.as_str())),
            (RETRY_AFTER, self.retry_after.as_deref()),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| (name, v)))
    }
}

/// `RateLimit-Policy` for a class alone (for responses that were not rate limited, or to
/// advertise every policy).
///
/// ```
/// use agency_ratelimit::{headers::policy_value, ClassConfig, RateClass};
/// let class = RateClass::new("export", ClassConfig::per_minute(5)).unwrap();
/// assert_eq!(policy_value(&class), r#""export";q=5;w=60"#);
/// ```
pub fn policy_value(class: &crate::RateClass) -> String {
    format!(
        "{};q={};w={}",
        sf_string(class.name()),
        class.limit(),
        class.window().as_secs()
    )
}

/// An RFC 8941 sf-string: printable ASCII, with `"` and `\` escaped.
fn sf_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' | '\\' => {
                out.push('\\');
                out.push(c);
            }
            ' '..='~' => out.push(c),
            _ => out.push('_'),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{ClassConfig, RateClass};
    use proptest::prelude::*;
    use std::time::Duration;

    #[test]
    fn allowed_decisions_carry_no_retry_after() {
        let class = RateClass::new("api", ClassConfig::per_minute(100)).unwrap();
        let h = RateLimitHeaders::new(
            "api",
            &Decision::allowed(&class, 42, Duration::from_millis(16_001)),
        );
        assert_eq!(h.ratelimit(), r#""api";r=42;t=17"#);
        assert_eq!(h.retry_after(), None);
        assert_eq!(h.iter().count(), 2);
    }

    #[test]
    fn remaining_is_capped_at_the_quota_when_burst_exceeds_it() {
        let class = RateClass::new("api", ClassConfig::per_minute(10).with_burst(30)).unwrap();
        let h = RateLimitHeaders::new("api", &Decision::allowed(&class, 25, Duration::ZERO));
        assert_eq!(h.ratelimit(), r#""api";r=10;t=0"#);
    }

    #[test]
    fn header_injection_through_the_policy_name_is_impossible() {
        let class = RateClass::new("api", ClassConfig::per_minute(1)).unwrap();
        let h = RateLimitHeaders::new(
            "a\"\r\nSet-Cookie: x\\",
            &Decision::allowed(&class, 0, Duration::ZERO),
        );
        assert_eq!(h.policy(), r#""a\"__Set-Cookie: x\\";q=1;w=60"#);
    }

    proptest! {
        #[test]
        fn values_are_always_valid_header_values(name in ".{0,40}", remaining in any::<u32>(), ms in 0u64..10_000_000) {
            let class = RateClass::new("c", ClassConfig::per_minute(100)).unwrap();
            let d = Decision::refused(&class, remaining, Duration::from_millis(ms), Duration::from_millis(ms));
            let h = RateLimitHeaders::new(&name, &d);
            for (_, value) in h.iter() {
                prop_assert!(value.bytes().all(|b| (0x20..0x7f).contains(&b)));
            }
            prop_assert!(h.retry_after().unwrap().parse::<u64>().unwrap() >= 1);
        }
    }
}
