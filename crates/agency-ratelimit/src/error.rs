//! Errors at the crate boundary: [`RateLimitError`] for a check, [`ConfigError`] for building a
//! limiter. Neither ever carries a rate-limit key (keys can be personal data, such as an IP address
//! or a username) nor a Redis URL (it can hold a password).

use agency_error_kind::ErrorKind;

/// Why a check could not produce a [`Decision`](crate::Decision).
///
/// A refusal is *not* an error: it is a `Decision` with `is_allowed() == false`. These variants are
/// programming or configuration mistakes the caller can act on (an unknown class is never treated
/// as "allowed").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RateLimitError {
    /// The class named in the check is not configured.
    #[error("unknown rate-limit class `{0}`")]
    UnknownClass(String),
    /// A weighted check asked for zero cells.
    #[error("a rate-limit check must cost at least 1")]
    ZeroCost,
    /// A weighted check asked for more cells than the class's burst: it can never succeed.
    #[error("cost {cost} exceeds the burst {burst} of class `{class}`: it can never be allowed")]
    CostExceedsBurst {
        /// The class checked.
        class: String,
        /// The cost asked for.
        cost: u32,
        /// The largest cost the class can ever allow.
        burst: u32,
    },
}

impl RateLimitError {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_ratelimit::{ErrorKind, RateLimitError};
    /// // A refusal is a `Decision`, not an error: these are the caller's mistakes.
    /// assert_eq!(RateLimitError::ZeroCost.kind(), ErrorKind::Internal);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::UnknownClass(_) | Self::ZeroCost | Self::CostExceedsBurst { .. } => {
                ErrorKind::Internal
            }
        }
    }
}

/// Why a limiter (or its configuration) could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// A class name is empty, too long, or uses characters outside `[a-z0-9_.-]`.
    #[error("invalid rate-limit class name `{0}`: use 1 to 32 characters of [a-z0-9_.-]")]
    InvalidClassName(String),
    /// A class has a limit of zero.
    #[error("class `{0}`: limit must be at least 1")]
    ZeroLimit(String),
    /// A class has a burst of zero.
    #[error("class `{0}`: burst must be at least 1")]
    ZeroBurst(String),
    /// A class's window is zero or longer than the supported maximum.
    #[error("class `{class}`: window must be between 1 s and {max_secs} s")]
    InvalidWindow {
        /// The class.
        class: String,
        /// The longest window supported.
        max_secs: u64,
    },
    /// A class would need more than one cell per microsecond, or a bucket that takes longer than
    /// the supported maximum to refill.
    #[error("class `{0}`: limit too high for its window, or burst too large")]
    OutOfRange(String),
    /// No class is configured.
    #[error("no rate-limit class is configured")]
    NoClasses,
    /// The memory limiter's key cap, or a class's, is zero.
    #[error("max_keys_per_class and every class's max_keys must be at least 1")]
    ZeroKeyCap,
    /// The memory options name a class that is not configured.
    #[error("memory options for unknown rate-limit class `{0}`")]
    UnknownClassOptions(String),
    /// The Redis key prefix is too long or contains control characters or whitespace.
    #[error("invalid Redis key prefix: at most 64 printable ASCII characters without spaces")]
    InvalidKeyPrefix,
    /// A timeout or interval is zero.
    #[error("`{0}` must be greater than zero")]
    ZeroDuration(&'static str),
    /// The Redis URL could not be parsed. The URL itself is not repeated: it may hold a password.
    #[error("invalid Redis URL: {0}")]
    RedisUrl(String),
    /// A background task needs a Tokio runtime and none is running.
    #[error("no Tokio runtime is running: call this from within a runtime")]
    NoRuntime,
    /// A CIDR in the trusted-proxy list could not be parsed.
    #[error(
        "invalid trusted proxy network `{0}`: expected an address or a CIDR such as 10.0.0.0/8"
    )]
    InvalidProxyNetwork(String),
}

impl ConfigError {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_ratelimit::{ConfigError, ErrorKind};
    /// assert_eq!(ConfigError::NoClasses.kind(), ErrorKind::Internal);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::InvalidClassName(_)
            | Self::ZeroLimit(_)
            | Self::ZeroBurst(_)
            | Self::InvalidWindow { .. }
            | Self::OutOfRange(_)
            | Self::NoClasses
            | Self::ZeroKeyCap
            | Self::UnknownClassOptions(_)
            | Self::InvalidKeyPrefix
            | Self::ZeroDuration(_)
            | Self::RedisUrl(_)
            | Self::NoRuntime
            | Self::InvalidProxyNetwork(_) => ErrorKind::Internal,
        }
    }
}
