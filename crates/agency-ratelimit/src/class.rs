//! Rate-limit classes: a name, a quota (`limit` requests per `window`) and a burst, read from
//! configuration and validated once into [`RateClasses`].
//!
//! Every class is enforced with GCRA: one request is "emitted" every `window / limit` (rounded
//! *up* to the microsecond, so the enforced rate never exceeds the configured one) and up to
//! `burst` requests may arrive at once. Over any interval of length `window`, a key is therefore
//! allowed at most `limit + burst` requests (at most `limit` in steady state).

use std::collections::BTreeMap;
use std::num::NonZeroU32;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;

/// The longest window a class may have (7 days).
pub const MAX_WINDOW_SECS: u64 = 7 * 24 * 3600;
/// The longest time a bucket may take to refill from empty (`burst * window / limit`): 30 days.
/// This keeps every timestamp well inside the exact-integer range of Redis's Lua numbers.
pub const MAX_REFILL_SECS: u64 = 30 * 24 * 3600;
const MAX_CLASS_NAME_LEN: usize = 32;

/// Contract default for class `auth` (login and refresh, per client IP): 10 a minute.
pub const AUTH: &str = "auth";
/// Contract default for class `api` (other `/api/*` requests, per principal): 100 a minute.
pub const API: &str = "api";
/// Contract default for class `export` (audit export, per principal): 5 a minute.
pub const EXPORT: &str = "export";
/// Contract default for class `webhook` (inbound webhooks, per source): 1000 a minute.
pub const WEBHOOK: &str = "webhook";

/// The configuration of one class, as written in a configuration file.
///
/// ```
/// use agency_ratelimit::ClassConfig;
/// let class: ClassConfig = toml::from_str("limit = 100\nwindow_secs = 60\nburst = 20").unwrap();
/// assert_eq!(class, ClassConfig::per_minute(100).with_burst(20));
/// // `window_secs` defaults to 60 and `burst` to the limit.
/// let short: ClassConfig = toml::from_str("limit = 10").unwrap();
/// assert_eq!(short, ClassConfig::per_minute(10));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClassConfig {
    /// Requests allowed per window in steady state.
    pub limit: u32,
    /// The window, in whole seconds (default 60).
    #[serde(default = "default_window_secs")]
    pub window_secs: u64,
    /// Requests that may arrive at once; defaults to `limit`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub burst: Option<u32>,
}

fn default_window_secs() -> u64 {
    60
}

impl ClassConfig {
    /// `limit` requests a minute, burst `limit`.
    ///
    /// ```
    /// let c = agency_ratelimit::ClassConfig::per_minute(10);
    /// assert_eq!((c.limit, c.window_secs, c.burst), (10, 60, None));
    /// ```
    pub const fn per_minute(limit: u32) -> Self {
        Self {
            limit,
            window_secs: 60,
            burst: None,
        }
    }

    /// `limit` requests per `window_secs` seconds, burst `limit`.
    ///
    /// ```
    /// let c = agency_ratelimit::ClassConfig::per_window(100, 3600);
    /// assert_eq!(c.window_secs, 3600);
    /// ```
    pub const fn per_window(limit: u32, window_secs: u64) -> Self {
        Self {
            limit,
            window_secs,
            burst: None,
        }
    }

    /// The same class with another burst.
    ///
    /// ```
    /// let c = agency_ratelimit::ClassConfig::per_minute(100).with_burst(10);
    /// assert_eq!(c.burst, Some(10));
    /// ```
    pub const fn with_burst(mut self, burst: u32) -> Self {
        self.burst = Some(burst);
        self
    }
}

/// The classes of a limiter, as written in a configuration file.
///
/// [`Default`] gives the contract's classes: `auth` 10/min, `api` 100/min, `export` 5/min and
/// `webhook` 1000/min, each with a burst equal to its limit.
///
/// ```
/// use agency_ratelimit::{ClassConfig, RateLimitConfig};
/// let config: RateLimitConfig = toml::from_str(r#"
///     [classes.api]
///     limit = 200
///     [classes.login_account]
///     limit = 100
///     window_secs = 3600
/// "#).unwrap();
/// let classes = config.build().unwrap();
/// assert_eq!(classes.get("api").unwrap().limit(), 200);
/// assert!(classes.get("auth").is_none()); // a file replaces the defaults
///
/// let defaults = RateLimitConfig::default()
///     .with_class("login_account", ClassConfig::per_window(100, 3600))
///     .build()
///     .unwrap();
/// assert_eq!(defaults.get("auth").unwrap().limit(), 10);
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitConfig {
    /// Classes by name.
    pub classes: BTreeMap<String, ClassConfig>,
}

impl Default for RateLimitConfig {
    fn default() -> Self {
        Self::contract_defaults()
    }
}

impl RateLimitConfig {
    /// The swarm contract's classes: `auth` 10/min, `api` 100/min, `export` 5/min, `webhook`
    /// 1000/min.
    ///
    /// ```
    /// let c = agency_ratelimit::RateLimitConfig::contract_defaults();
    /// assert_eq!(c.classes["webhook"].limit, 1000);
    /// ```
    pub fn contract_defaults() -> Self {
        let mut classes = BTreeMap::new();
        classes.insert(AUTH.to_owned(), ClassConfig::per_minute(10));
        classes.insert(API.to_owned(), ClassConfig::per_minute(100));
        classes.insert(EXPORT.to_owned(), ClassConfig::per_minute(5));
        classes.insert(WEBHOOK.to_owned(), ClassConfig::per_minute(1000));
        Self { classes }
    }

    /// Adds or replaces one class.
    ///
    /// ```
    /// use agency_ratelimit::{ClassConfig, RateLimitConfig};
    /// let c = RateLimitConfig::default().with_class("auth", ClassConfig::per_minute(3));
    /// assert_eq!(c.classes["auth"].limit, 3);
    /// ```
    pub fn with_class(mut self, name: impl Into<String>, class: ClassConfig) -> Self {
        self.classes.insert(name.into(), class);
        self
    }

    /// Validates every class.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] naming the first invalid class, or [`ConfigError::NoClasses`].
    ///
    /// ```
    /// use agency_ratelimit::{ClassConfig, ConfigError, RateLimitConfig};
    /// let bad = RateLimitConfig::default().with_class("api", ClassConfig::per_minute(0));
    /// assert!(matches!(bad.build(), Err(ConfigError::ZeroLimit(_))));
    /// ```
    pub fn build(&self) -> Result<RateClasses, ConfigError> {
        if self.classes.is_empty() {
            return Err(ConfigError::NoClasses);
        }
        let classes = self
            .classes
            .iter()
            .map(|(name, config)| RateClass::new(name, *config))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RateClasses { classes })
    }
}

/// One validated class.
///
/// ```
/// use agency_ratelimit::{ClassConfig, RateClass};
/// use std::time::Duration;
/// let class = RateClass::new("api", ClassConfig::per_minute(100)).unwrap();
/// assert_eq!(class.emission_interval(), Duration::from_millis(600));
/// assert_eq!(class.burst(), 100);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateClass {
    name: Box<str>,
    limit: NonZeroU32,
    window: Duration,
    burst: NonZeroU32,
    emission_interval_us: u64,
}

impl RateClass {
    /// Validates one class.
    ///
    /// # Errors
    ///
    /// [`ConfigError`] when the name, limit, window or burst is out of range.
    ///
    /// ```
    /// use agency_ratelimit::{ClassConfig, RateClass};
    /// assert!(RateClass::new("API KEYS", ClassConfig::per_minute(1)).is_err());
    /// ```
    pub fn new(name: &str, config: ClassConfig) -> Result<Self, ConfigError> {
        validate_class_name(name)?;
        let limit =
            NonZeroU32::new(config.limit).ok_or_else(|| ConfigError::ZeroLimit(name.to_owned()))?;
        let burst = NonZeroU32::new(config.burst.unwrap_or(config.limit))
            .ok_or_else(|| ConfigError::ZeroBurst(name.to_owned()))?;
        if config.window_secs == 0 || config.window_secs > MAX_WINDOW_SECS {
            return Err(ConfigError::InvalidWindow {
                class: name.to_owned(),
                max_secs: MAX_WINDOW_SECS,
            });
        }
        let window_us = config.window_secs * 1_000_000;
        // Rounded up: the enforced rate is never above the configured one.
        let emission_interval_us = window_us.div_ceil(u64::from(limit.get()));
        let refill_us = emission_interval_us.saturating_mul(u64::from(burst.get()));
        if u64::from(limit.get()) > window_us || refill_us > MAX_REFILL_SECS * 1_000_000 {
            return Err(ConfigError::OutOfRange(name.to_owned()));
        }
        Ok(Self {
            name: name.into(),
            limit,
            window: Duration::from_secs(config.window_secs),
            burst,
            emission_interval_us,
        })
    }

    /// The class name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Requests allowed per window in steady state (the policy's quota).
    pub fn limit(&self) -> u32 {
        self.limit.get()
    }

    /// The window of the quota.
    pub fn window(&self) -> Duration {
        self.window
    }

    /// Requests allowed at once (the bucket's capacity).
    pub fn burst(&self) -> u32 {
        self.burst.get()
    }

    /// The GCRA emission interval `T`: `window / limit`, rounded up to the microsecond.
    pub fn emission_interval(&self) -> Duration {
        Duration::from_micros(self.emission_interval_us)
    }

    pub(crate) fn emission_interval_us(&self) -> u64 {
        self.emission_interval_us
    }

    /// How long an empty bucket takes to refill completely (`burst * T`).
    pub fn refill_time(&self) -> Duration {
        Duration::from_micros(self.emission_interval_us * u64::from(self.burst.get()))
    }

    /// Checks a cost against this class.
    pub(crate) fn check_cost(&self, cost: u32) -> Result<(), crate::RateLimitError> {
        if cost == 0 {
            return Err(crate::RateLimitError::ZeroCost);
        }
        if cost > self.burst.get() {
            return Err(crate::RateLimitError::CostExceedsBurst {
                class: self.name.to_string(),
                cost,
                burst: self.burst.get(),
            });
        }
        Ok(())
    }
}

/// Validated classes, looked up by name.
///
/// ```
/// let classes = agency_ratelimit::RateLimitConfig::default().build().unwrap();
/// assert_eq!(classes.len(), 4);
/// assert_eq!(classes.get("export").unwrap().limit(), 5);
/// assert!(classes.get("nope").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RateClasses {
    classes: Vec<RateClass>,
}

impl RateClasses {
    /// The class with this name.
    pub fn get(&self, name: &str) -> Option<&RateClass> {
        self.classes.iter().find(|c| &*c.name == name)
    }

    /// Every class, sorted by name.
    pub fn iter(&self) -> impl Iterator<Item = &RateClass> {
        self.classes.iter()
    }

    /// The number of classes.
    pub fn len(&self) -> usize {
        self.classes.len()
    }

    /// Whether there is no class (never true for a built set).
    pub fn is_empty(&self) -> bool {
        self.classes.is_empty()
    }
}

impl Default for RateClasses {
    /// The contract's classes (see [`RateLimitConfig::contract_defaults`]).
    fn default() -> Self {
        let classes = [(API, 100), (AUTH, 10), (EXPORT, 5), (WEBHOOK, 1000)]
            .into_iter()
            .filter_map(|(name, limit)| RateClass::new(name, ClassConfig::per_minute(limit)).ok())
            .collect();
        Self { classes }
    }
}

fn validate_class_name(name: &str) -> Result<(), ConfigError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_CLASS_NAME_LEN
        && name.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'_' | b'.' | b'-')
        });
    if ok {
        Ok(())
    } else {
        Err(ConfigError::InvalidClassName(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_defaults_match_the_contract() {
        let classes = RateLimitConfig::default().build().unwrap();
        let got: Vec<_> = classes
            .iter()
            .map(|c| (c.name(), c.limit(), c.window().as_secs(), c.burst()))
            .collect();
        assert_eq!(
            got,
            vec![
                ("api", 100, 60, 100),
                ("auth", 10, 60, 10),
                ("export", 5, 60, 5),
                ("webhook", 1000, 60, 1000)
            ]
        );
        assert_eq!(RateClasses::default(), classes);
    }

    #[test]
    fn emission_interval_rounds_up_so_the_rate_never_exceeds_the_quota() {
        let class = RateClass::new("x", ClassConfig::per_minute(7)).unwrap();
        // 60 s / 7 = 8.571428571... s, rounded up to the microsecond.
        assert_eq!(class.emission_interval_us(), 8_571_429);
        assert!(class.emission_interval_us() * 7 >= 60_000_000);
    }

    #[test]
    fn invalid_classes_are_rejected() {
        for name in ["", "API", "a b", "a\"b", "a\\b", &"x".repeat(33)] {
            assert!(matches!(
                RateClass::new(name, ClassConfig::per_minute(1)),
                Err(ConfigError::InvalidClassName(_))
            ));
        }
        assert!(matches!(
            RateClass::new("a", ClassConfig::per_minute(0)),
            Err(ConfigError::ZeroLimit(_))
        ));
        assert!(matches!(
            RateClass::new("a", ClassConfig::per_minute(1).with_burst(0)),
            Err(ConfigError::ZeroBurst(_))
        ));
        assert!(matches!(
            RateClass::new("a", ClassConfig::per_window(1, 0)),
            Err(ConfigError::InvalidWindow { .. })
        ));
        assert!(matches!(
            RateClass::new("a", ClassConfig::per_window(1, MAX_WINDOW_SECS + 1)),
            Err(ConfigError::InvalidWindow { .. })
        ));
        // More than one request per microsecond cannot be represented.
        assert!(matches!(
            RateClass::new("a", ClassConfig::per_window(u32::MAX, 1)),
            Err(ConfigError::OutOfRange(_))
        ));
        // A bucket that would take years to refill.
        assert!(matches!(
            RateClass::new(
                "a",
                ClassConfig::per_window(1, MAX_WINDOW_SECS).with_burst(1000)
            ),
            Err(ConfigError::OutOfRange(_))
        ));
        assert!(matches!(
            RateLimitConfig {
                classes: BTreeMap::new()
            }
            .build(),
            Err(ConfigError::NoClasses)
        ));
    }

    #[test]
    fn unknown_fields_in_configuration_are_rejected() {
        assert!(toml::from_str::<ClassConfig>("limit = 1\nburts = 3").is_err());
    }

    #[test]
    fn cost_checks() {
        let class = RateClass::new("a", ClassConfig::per_minute(5)).unwrap();
        assert_eq!(class.check_cost(0), Err(crate::RateLimitError::ZeroCost));
        assert!(class.check_cost(5).is_ok());
        assert!(matches!(
            class.check_cost(6),
            Err(crate::RateLimitError::CostExceedsBurst {
                cost: 6,
                burst: 5,
                ..
            })
        ));
    }
}
