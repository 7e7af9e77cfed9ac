//! The Redis limiter: one GCRA bucket per key in Redis, shared by every instance.
//!
//! * **One round trip, atomic**: the whole decision is one Lua script (`gcra.lua`) run with
//!   `EVALSHA`, falling back to loading it on `NOSCRIPT` (redis's `Script`).
//! * **One clock**: the script reads Redis's `TIME`, so instances with skewed clocks agree.
//! * **Bounded memory**: every write sets a TTL equal to the time until the bucket is full again;
//!   keys are `{prefix}{class}:{32 hex digits}` (the first 128 bits of SHA-256 of the key), so an
//!   attacker-chosen key of any length costs the same few dozen bytes.
//! * **Cluster-safe**: each script call touches exactly the one key it is given.
//! * **Outages**: a reconnecting multiplexed connection ([`ConnectionManager`]) with bounded
//!   timeouts; while Redis cannot be reached the [`UnavailablePolicy`] decides, Redis is retried
//!   at most once per `retry_interval_ms` (so an outage costs no time per request), and the loss
//!   and the recovery are logged.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::class::{RateClass, RateClasses};
use crate::decision::{Decision, DecisionSource};
use crate::error::{ConfigError, RateLimitError};
use crate::fallback::UnavailablePolicy;
use crate::key::RateLimitKey;
use crate::limiter::{Mode, RateLimiter};
use crate::memory::{MemoryOptions, MemoryRateLimiter};

const GCRA_SCRIPT: &str = include_str!("gcra.lua");
const MAX_PREFIX_LEN: usize = 64;

/// Options of the Redis limiter.
///
/// ```
/// use agency_ratelimit::{RedisOptions, UnavailablePolicy};
/// let o: RedisOptions = toml::from_str(r#"
///     key_prefix = "swarm:rl:"
///     unavailable_policy = "fail_closed"
/// "#).unwrap();
/// assert_eq!(o.unavailable_policy, UnavailablePolicy::FailClosed);
/// assert_eq!(o.timeout_ms, RedisOptions::default().timeout_ms);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RedisOptions {
    /// Prepended to every key (default `agency:rl:`): at most 64 printable ASCII characters
    /// without spaces. Instances that must share quotas use the same prefix.
    pub key_prefix: String,
    /// The longest a check waits for Redis, connection included, before the policy applies
    /// (default 250 ms).
    pub timeout_ms: u64,
    /// After a failure, Redis is not tried again for this long (default 1000 ms); checks go
    /// straight to the policy meanwhile. Also the `Retry-After` of fail-closed refusals.
    pub retry_interval_ms: u64,
    /// What to do while Redis is unreachable (default: fall back to a local limiter).
    pub unavailable_policy: UnavailablePolicy,
    /// Options of the local fallback limiter.
    pub local: MemoryOptions,
}

impl Default for RedisOptions {
    fn default() -> Self {
        Self {
            key_prefix: "agency:rl:".to_owned(),
            timeout_ms: 250,
            retry_interval_ms: 1000,
            unavailable_policy: UnavailablePolicy::FallbackLocal,
            local: MemoryOptions::default(),
        }
    }
}

struct Health {
    base: Instant,
    /// Milliseconds since `base` before which Redis is not tried again (0: healthy).
    retry_at_ms: AtomicU64,
    down: AtomicBool,
}

/// A rate limiter whose state lives in Redis, shared by every instance using the same key prefix.
///
/// Cheap to clone. Creating it does not connect: the first check does, so a service can start
/// during a Redis outage (under its [`UnavailablePolicy`]).
///
/// ```no_run
/// use agency_ratelimit::{RateLimitKey, RateLimiter, RateClasses, RedisOptions, RedisRateLimiter};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let limiter = RedisRateLimiter::new("redis://127.0.0.1:6379", RateClasses::default(), RedisOptions::default())?;
/// let decision = limiter.check("api", &RateLimitKey::principal("u-1")).await?;
/// assert!(decision.is_allowed());
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisRateLimiter {
    classes: RateClasses,
    connection: ConnectionManager,
    script: Arc<redis::Script>,
    options: Arc<RedisOptions>,
    fallback: Option<MemoryRateLimiter>,
    health: Arc<Health>,
}

impl fmt::Debug for RedisRateLimiter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The URL is not kept, and not shown: it may hold a password.
        f.debug_struct("RedisRateLimiter")
            .field("classes", &self.classes)
            .field("options", &self.options)
            .field("available", &!self.health.down.load(Ordering::Relaxed))
            .finish_non_exhaustive()
    }
}

impl RedisRateLimiter {
    /// A limiter on the Redis server at `url` (`redis://[user:password@]host[:port][/db]` or
    /// `rediss://` with TLS support compiled into `redis`). Does not connect yet.
    ///
    /// # Errors
    ///
    /// [`ConfigError::RedisUrl`], [`ConfigError::InvalidKeyPrefix`],
    /// [`ConfigError::ZeroDuration`], [`ConfigError::ZeroKeyCap`], or [`ConfigError::NoRuntime`]
    /// when called outside a Tokio runtime.
    pub fn new(
        url: &str,
        classes: RateClasses,
        options: RedisOptions,
    ) -> Result<Self, ConfigError> {
        validate_prefix(&options.key_prefix)?;
        if options.timeout_ms == 0 {
            return Err(ConfigError::ZeroDuration("timeout_ms"));
        }
        if options.retry_interval_ms == 0 {
            return Err(ConfigError::ZeroDuration("retry_interval_ms"));
        }
        tokio::runtime::Handle::try_current().map_err(|_| ConfigError::NoRuntime)?;
        let client = redis::Client::open(url)
            .map_err(|e| ConfigError::RedisUrl(format!("{:?}", e.kind())))?;
        let timeout = Duration::from_millis(options.timeout_ms);
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(20))
            .set_max_delay(Duration::from_millis(options.retry_interval_ms));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| ConfigError::RedisUrl(format!("{:?}", e.kind())))?;
        let fallback = match options.unavailable_policy {
            UnavailablePolicy::FallbackLocal => Some(MemoryRateLimiter::with_options(
                classes.clone(),
                options.local.clone(),
            )?),
            UnavailablePolicy::FailOpen | UnavailablePolicy::FailClosed => None,
        };
        Ok(Self {
            classes,
            connection,
            script: Arc::new(redis::Script::new(GCRA_SCRIPT)),
            options: Arc::new(options),
            fallback,
            health: Arc::new(Health {
                base: Instant::now(),
                retry_at_ms: AtomicU64::new(0),
                down: AtomicBool::new(false),
            }),
        })
    }

    /// Whether the last attempt to reach Redis succeeded.
    pub fn is_available(&self) -> bool {
        !self.health.down.load(Ordering::Acquire)
    }

    /// Sends `PING` (for readiness probes), within the configured timeout.
    ///
    /// # Errors
    ///
    /// A description of the failure (connection, timeout, server error).
    pub async fn ping(&self) -> Result<(), String> {
        let mut connection = self.connection.clone();
        let command = redis::cmd("PING");
        let ping = command.query_async::<String>(&mut connection);
        match tokio::time::timeout(self.timeout(), ping).await {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("timed out".to_owned()),
        }
    }

    /// The local limiter used while Redis is down (with [`UnavailablePolicy::FallbackLocal`]).
    pub fn local_fallback(&self) -> Option<&MemoryRateLimiter> {
        self.fallback.as_ref()
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.options.timeout_ms)
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.health.base.elapsed().as_millis())
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// The Redis key of `key` under `class`.
    fn redis_key(&self, class: &RateClass, key: &RateLimitKey) -> String {
        let digest = Sha256::digest(key.as_str().as_bytes());
        let mut out =
            String::with_capacity(self.options.key_prefix.len() + class.name().len() + 33);
        out.push_str(&self.options.key_prefix);
        out.push_str(class.name());
        out.push(':');
        out.push_str(&hex::encode(&digest[..16]));
        out
    }

    async fn check_redis(
        &self,
        class: &RateClass,
        key: &RateLimitKey,
        cost: u32,
        mode: Mode,
    ) -> Result<Decision, String> {
        let mut connection = self.connection.clone();
        let mut invocation = self.script.key(self.redis_key(class, key));
        invocation
            .arg(class.emission_interval_us())
            .arg(class.burst())
            .arg(cost)
            .arg(match mode {
                Mode::Spend => "0",
                Mode::Peek => "1",
            });
        let call = invocation.invoke_async::<(i64, i64, i64, i64)>(&mut connection);
        let (allowed, remaining, reset_us, retry_us) =
            match tokio::time::timeout(self.timeout(), call).await {
                Ok(Ok(reply)) => reply,
                Ok(Err(e)) => return Err(e.to_string()),
                Err(_) => return Err(format!("no answer within {} ms", self.options.timeout_ms)),
            };
        let remaining = u32::try_from(remaining.max(0)).unwrap_or(u32::MAX);
        let reset = Duration::from_micros(u64::try_from(reset_us).unwrap_or(0));
        Ok(if allowed == 1 {
            Decision::allowed(class, remaining, reset)
        } else {
            Decision::refused(
                class,
                remaining,
                reset,
                Duration::from_micros(u64::try_from(retry_us).unwrap_or(0)),
            )
        })
    }

    fn mark_down(&self, error: &str) {
        let retry_at = self
            .elapsed_ms()
            .saturating_add(self.options.retry_interval_ms);
        self.health.retry_at_ms.store(retry_at, Ordering::Release);
        if !self.health.down.swap(true, Ordering::AcqRel) {
            tracing::error!(
                error,
                policy = ?self.options.unavailable_policy,
                "Redis rate limiter unavailable; applying the unavailable policy"
            );
        } else {
            tracing::debug!(error, "Redis rate limiter still unavailable");
        }
    }

    fn mark_up(&self) {
        if self.health.down.swap(false, Ordering::AcqRel) {
            self.health.retry_at_ms.store(0, Ordering::Release);
            tracing::info!("Redis rate limiter reachable again");
        }
    }

    async fn unavailable(
        &self,
        class: &RateClass,
        key: &RateLimitKey,
        cost: u32,
        mode: Mode,
    ) -> Result<Decision, RateLimitError> {
        Ok(match (&self.options.unavailable_policy, &self.fallback) {
            (UnavailablePolicy::FailOpen, _) => {
                Decision::allowed(class, class.burst().saturating_sub(cost), Duration::ZERO)
                    .with_source(DecisionSource::FailOpen)
            }
            (UnavailablePolicy::FallbackLocal, Some(local)) => local
                .decide(class.name(), key, cost, mode)?
                .with_source(DecisionSource::LocalFallback),
            (UnavailablePolicy::FailClosed, _) | (UnavailablePolicy::FallbackLocal, None) => {
                let wait = Duration::from_millis(self.options.retry_interval_ms);
                Decision::refused(class, 0, wait, wait).with_source(DecisionSource::FailClosed)
            }
        })
    }
}

impl RedisRateLimiter {
    async fn decide(
        &self,
        class: &str,
        key: &RateLimitKey,
        cost: u32,
        mode: Mode,
    ) -> Result<Decision, RateLimitError> {
        let class = self
            .classes
            .get(class)
            .ok_or_else(|| RateLimitError::UnknownClass(class.to_owned()))?;
        class.check_cost(cost)?;
        let retry_at = self.health.retry_at_ms.load(Ordering::Acquire);
        if retry_at != 0 && self.elapsed_ms() < retry_at {
            return self.unavailable(class, key, cost, mode).await;
        }
        match self.check_redis(class, key, cost, mode).await {
            Ok(decision) => {
                self.mark_up();
                Ok(decision)
            }
            Err(error) => {
                self.mark_down(&error);
                self.unavailable(class, key, cost, mode).await
            }
        }
    }
}

#[async_trait]
impl RateLimiter for RedisRateLimiter {
    async fn check_n(
        &self,
        class: &str,
        key: &RateLimitKey,
        cost: u32,
    ) -> Result<Decision, RateLimitError> {
        self.decide(class, key, cost, Mode::Spend).await
    }

    async fn peek_n(
        &self,
        class: &str,
        key: &RateLimitKey,
        cost: u32,
    ) -> Result<Decision, RateLimitError> {
        self.decide(class, key, cost, Mode::Peek).await
    }

    fn classes(&self) -> &RateClasses {
        &self.classes
    }
}

fn validate_prefix(prefix: &str) -> Result<(), ConfigError> {
    if prefix.len() <= MAX_PREFIX_LEN && prefix.bytes().all(|b| b.is_ascii_graphic()) {
        Ok(())
    } else {
        Err(ConfigError::InvalidKeyPrefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_are_validated() {
        assert!(validate_prefix("agency:rl:").is_ok());
        assert!(validate_prefix("").is_ok());
        assert!(validate_prefix("a b").is_err());
        assert!(validate_prefix("a\r\n").is_err());
        assert!(validate_prefix(&"x".repeat(65)).is_err());
    }

    #[tokio::test]
    async fn redis_keys_are_bounded_whatever_the_key_length() {
        let limiter = RedisRateLimiter::new(
            "redis://127.0.0.1:1",
            RateClasses::default(),
            RedisOptions::default(),
        )
        .unwrap();
        let class = RateClasses::default().get("api").unwrap().clone();
        let huge = RateLimitKey::principal(&"x".repeat(1_000_000));
        let small = RateLimitKey::principal("u");
        let a = limiter.redis_key(&class, &huge);
        let b = limiter.redis_key(&class, &small);
        assert_eq!(a.len(), b.len());
        assert_eq!(a.len(), "agency:rl:api:".len() + 32);
        assert_ne!(a, b);
    }

    #[test]
    fn construction_outside_a_runtime_is_an_error_not_a_panic() {
        let r = RedisRateLimiter::new(
            "redis://127.0.0.1:1",
            RateClasses::default(),
            RedisOptions::default(),
        );
        assert!(matches!(r, Err(ConfigError::NoRuntime)));
    }

    #[tokio::test]
    async fn bad_urls_are_rejected_without_echoing_them() {
        let r = RedisRateLimiter::new(
            "http://user:hunter2@host",
            RateClasses::default(),
            RedisOptions::default(),
        );
        let message = r.unwrap_err().to_string();
        assert!(!message.contains("hunter2"), "{message}");
    }
}
