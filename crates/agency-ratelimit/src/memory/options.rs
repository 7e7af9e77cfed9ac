//! The memory limiter's options: the sweep schedule, and per class the key cap and what happens
//! when a class is full.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::class::RateClasses;
use crate::error::ConfigError;

/// What a class does with a key it does not track yet once it tracks its cap of keys.
///
/// ```
/// use agency_ratelimit::AtCapacity;
/// let a: AtCapacity = serde_json::from_str(r#""replace_near_fresh""#).unwrap();
/// assert_eq!(a, AtCapacity::default());
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum AtCapacity {
    /// The new key takes the place of a tracked key that has spent at most one request's worth
    /// (its bucket is no further from full than a brand-new key's after one request), oldest
    /// first. An exhausted key, or any key that has spent more, is never replaced. When none is
    /// found among a few candidates, the new key is decided by the class's shared overflow
    /// bucket, as with [`SharedOverflow`](Self::SharedOverflow).
    ///
    /// The default: a flood of new keys (usernames, webhook source names, API-key ids an
    /// attacker makes up) then cannot lock new legitimate clients out of the class. The price:
    /// a replaced key that comes back has gained back at most the one request it had spent, and
    /// a given key is replaced about once per cap new keys (see docs/ratelimit.md).
    #[default]
    ReplaceNearFresh,
    /// Every key the class does not track yet shares one overflow bucket with the class's
    /// quota. The strictest choice: a flood of new keys gets one quota in total, and so do
    /// the legitimate new clients that arrive during it. Suits classes whose keys an attacker
    /// cannot make up (authenticated principals).
    SharedOverflow,
}

/// The memory options of one class.
///
/// ```
/// use agency_ratelimit::{AtCapacity, ClassMemoryOptions};
/// let o: ClassMemoryOptions = toml::from_str("max_keys = 500000").unwrap();
/// assert_eq!(o.max_keys, Some(500_000));
/// assert_eq!(o.at_capacity, AtCapacity::ReplaceNearFresh);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClassMemoryOptions {
    /// The most keys this class tracks (default: [`MemoryOptions::max_keys_per_class`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_keys: Option<usize>,
    /// What happens to new keys once the class is full.
    pub at_capacity: AtCapacity,
}

/// Options of the memory limiter.
///
/// ```
/// use agency_ratelimit::{AtCapacity, MemoryOptions};
/// let o: MemoryOptions = toml::from_str(r#"
///     max_keys_per_class = 5000
///     [classes.api]
///     at_capacity = "shared_overflow"
/// "#).unwrap();
/// assert_eq!(o.max_keys_per_class, 5000);
/// assert_eq!(o.sweep_interval_secs, 10);
/// assert_eq!(o.for_class("api").at_capacity, AtCapacity::SharedOverflow);
/// assert_eq!(o.for_class("auth").max_keys, Some(5000));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MemoryOptions {
    /// The most keys tracked per class unless the class says otherwise (default 100 000).
    /// Memory is about 50 bytes per key (see docs/benchmarks.md).
    pub max_keys_per_class: usize,
    /// How often idle keys are evicted, in seconds (default 10): the evictor task's period and
    /// the least time between two sweeps triggered by a full class.
    pub sweep_interval_secs: u64,
    /// Per-class overrides, by class name. Every name must be a configured class.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub classes: BTreeMap<String, ClassMemoryOptions>,
}

impl Default for MemoryOptions {
    fn default() -> Self {
        Self {
            max_keys_per_class: 100_000,
            sweep_interval_secs: 10,
            classes: BTreeMap::new(),
        }
    }
}

impl MemoryOptions {
    /// The sweep interval as a duration.
    pub fn sweep_interval(&self) -> Duration {
        Duration::from_secs(self.sweep_interval_secs)
    }

    /// The same options with an override for one class.
    ///
    /// ```
    /// use agency_ratelimit::{AtCapacity, ClassMemoryOptions, MemoryOptions};
    /// let o = MemoryOptions::default().with_class(
    ///     "auth",
    ///     ClassMemoryOptions { max_keys: Some(1_000_000), ..Default::default() },
    /// );
    /// assert_eq!(o.for_class("auth").max_keys, Some(1_000_000));
    /// ```
    #[must_use]
    pub fn with_class(mut self, class: impl Into<String>, options: ClassMemoryOptions) -> Self {
        self.classes.insert(class.into(), options);
        self
    }

    /// The effective options of `class`: its override, with the cap filled in from
    /// [`max_keys_per_class`](Self::max_keys_per_class) when the override names none.
    pub fn for_class(&self, class: &str) -> ClassMemoryOptions {
        let own = self.classes.get(class).copied().unwrap_or_default();
        ClassMemoryOptions {
            max_keys: Some(own.max_keys.unwrap_or(self.max_keys_per_class)),
            at_capacity: own.at_capacity,
        }
    }

    /// Checks the options against the classes they configure.
    pub(crate) fn validate(&self, classes: &RateClasses) -> Result<(), ConfigError> {
        if self.max_keys_per_class == 0 {
            return Err(ConfigError::ZeroKeyCap);
        }
        if self.sweep_interval_secs == 0 {
            return Err(ConfigError::ZeroDuration("sweep_interval_secs"));
        }
        for (name, class) in &self.classes {
            if classes.get(name).is_none() {
                return Err(ConfigError::UnknownClassOptions(name.clone()));
            }
            if class.max_keys == Some(0) {
                return Err(ConfigError::ZeroKeyCap);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_for_unknown_classes_and_zero_caps_are_refused() {
        let classes = RateClasses::default();
        assert!(MemoryOptions::default().validate(&classes).is_ok());
        let unknown = MemoryOptions::default().with_class("apі", ClassMemoryOptions::default());
        assert!(matches!(
            unknown.validate(&classes),
            Err(ConfigError::UnknownClassOptions(_))
        ));
        let zero = MemoryOptions::default().with_class(
            "api",
            ClassMemoryOptions {
                max_keys: Some(0),
                ..Default::default()
            },
        );
        assert!(matches!(
            zero.validate(&classes),
            Err(ConfigError::ZeroKeyCap)
        ));
        assert!(toml::from_str::<MemoryOptions>("[classes.api]\nmax_kyes = 3").is_err());
    }
}
