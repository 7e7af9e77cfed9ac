//! Rate limiting for the agency services: GCRA per named class, in memory or shared by many
//! instances through Redis.
//!
//! * [`RateLimiter`]: check (or weighted check-n) a [`RateLimitKey`] under a class; the
//!   [`Decision`] says allowed or not, the capacity left, when it is full again and, when
//!   refused, how long to wait.
//! * Classes from configuration ([`RateLimitConfig`], validated into [`RateClasses`]), with the
//!   swarm contract's defaults: `auth` 10/min, `api` 100/min, `export` 5/min, `webhook` 1000/min.
//!   An unknown class is an error, never "allowed".
//! * [`MemoryRateLimiter`]: governor's GCRA over a store bounded per class, idle keys evicted on a
//!   schedule, and a documented overflow behaviour at the cap.
//! * `RedisRateLimiter` (feature `redis`): GCRA in one Lua script on one key, Redis's clock, a TTL
//!   on every key, a reconnecting multiplexed connection, and an [`UnavailablePolicy`] for
//!   outages.
//! * Keys: [`ClientIpResolver`] finds the client address, believing forwarding headers only
//!   from configured trusted proxies; [`RateLimitKey`] builds namespaced keys.
//! * [`RateLimitHeaders`]: `Retry-After` and the IETF `RateLimit-Policy` / `RateLimit` fields,
//!   as names and string values (this crate does not depend on any HTTP crate).
//!
//! ```
//! use agency_ratelimit::{MemoryRateLimiter, RateLimitHeaders, RateLimitKey, RateLimiter, RateLimitConfig};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let limiter = MemoryRateLimiter::new(RateLimitConfig::default().build().unwrap());
//! let key = RateLimitKey::ip("198.51.100.7".parse().unwrap());
//! let mut last = None;
//! for _ in 0..11 {
//!     last = Some(limiter.check("auth", &key).await.unwrap());
//! }
//! let refused = last.unwrap();
//! assert!(!refused.is_allowed());
//! let headers = RateLimitHeaders::new("auth", &refused);
//! assert_eq!(headers.retry_after(), Some("6"));
//! assert_eq!(headers.policy(), r#""auth";q=10;w=60"#);
//! # });
//! ```
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod class;
pub mod client_ip;
pub mod decision;
pub mod error;
pub mod fallback;
pub mod headers;
pub mod key;
pub mod limiter;
pub mod memory;
#[cfg(feature = "redis")]
pub mod redis;

pub use agency_error_kind::ErrorKind;
pub use class::{ClassConfig, RateClass, RateClasses, RateLimitConfig};
pub use client_ip::{ClientIpResolver, ProxyHeader};
pub use decision::{Decision, DecisionSource};
pub use error::{ConfigError, RateLimitError};
pub use fallback::UnavailablePolicy;
pub use headers::RateLimitHeaders;
pub use key::RateLimitKey;
pub use limiter::RateLimiter;
pub use memory::{AtCapacity, ClassMemoryOptions, MemoryOptions, MemoryRateLimiter};
#[cfg(feature = "redis")]
pub use redis::{RedisOptions, RedisRateLimiter};
