//! What a shared limiter does while its store is unreachable.

use serde::{Deserialize, Serialize};

/// The behaviour of a shared (Redis) limiter while Redis cannot be reached. Every change of state
/// (store lost, store back) is logged with `tracing`, and every decision taken under the policy
/// carries its [`DecisionSource`](crate::DecisionSource).
///
/// ```
/// use agency_ratelimit::UnavailablePolicy;
/// let p: UnavailablePolicy = serde_json::from_str(r#""fail_closed""#).unwrap();
/// assert_eq!(p, UnavailablePolicy::FailClosed);
/// assert_eq!(UnavailablePolicy::default(), UnavailablePolicy::FallbackLocal);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UnavailablePolicy {
    /// Allow every request, counting nothing. Availability over protection: only for limits that
    /// are a courtesy, never for login throttling.
    FailOpen,
    /// Refuse every request (429 with a short `Retry-After`). Protection over availability: an
    /// outage of Redis becomes an outage of the service.
    FailClosed,
    /// Decide with a limiter in this process's memory, with the same classes (the default). Each
    /// instance then enforces the full quota on its own, so N instances allow up to N times the
    /// quota until Redis is back.
    #[default]
    FallbackLocal,
}
