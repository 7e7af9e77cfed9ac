//! The [`RateLimiter`] trait every backend implements.

use async_trait::async_trait;

use crate::class::RateClasses;
use crate::decision::Decision;
use crate::error::RateLimitError;
use crate::key::RateLimitKey;

/// Whether a decision spends: what separates `check` from `peek` in every backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Decide, and spend the cells when allowed.
    Spend,
    /// Decide, and write nothing: not the state, not a new key.
    Peek,
}

/// Checks keys against named classes. Implemented by [`MemoryRateLimiter`](crate::MemoryRateLimiter)
/// and, with the `redis` feature, `RedisRateLimiter`; object safe, so a server can hold an
/// `Arc<dyn RateLimiter>` chosen by configuration.
///
/// A check *spends* capacity when it is allowed and spends nothing when refused; a peek spends
/// nothing either way.
///
/// ```
/// use std::sync::Arc;
/// use agency_ratelimit::{MemoryRateLimiter, RateLimitKey, RateLimiter, RateClasses};
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let limiter: Arc<dyn RateLimiter> = Arc::new(MemoryRateLimiter::new(RateClasses::default()));
/// let key = RateLimitKey::api_key("key-7");
/// let d = limiter.check_n("api", &key, 10).await.unwrap();
/// assert!(d.is_allowed());
/// assert_eq!(d.remaining(), 90);
/// assert_eq!(limiter.classes().get("api").unwrap().limit(), 100);
/// # });
/// ```
#[async_trait]
pub trait RateLimiter: Send + Sync {
    /// Checks one request of `key` under `class`.
    ///
    /// # Errors
    ///
    /// [`RateLimitError::UnknownClass`] when `class` is not configured (never "allowed").
    async fn check(&self, class: &str, key: &RateLimitKey) -> Result<Decision, RateLimitError> {
        self.check_n(class, key, 1).await
    }

    /// Checks a request of weight `cost` (all or nothing).
    ///
    /// # Errors
    ///
    /// [`RateLimitError::UnknownClass`], [`RateLimitError::ZeroCost`], or
    /// [`RateLimitError::CostExceedsBurst`] when `cost` could never be allowed.
    async fn check_n(
        &self,
        class: &str,
        key: &RateLimitKey,
        cost: u32,
    ) -> Result<Decision, RateLimitError>;

    /// Decides one request of `key` under `class` as [`check`](Self::check) would now, and
    /// spends nothing. For limits that count only failures (failed logins per account): peek
    /// before the attempt and refuse if the peek is refused; [`check`](Self::check) after a
    /// failure. Between the peek and the check other requests may spend, so a burst of
    /// concurrent failures can pass the peek together; the checks that follow still count each
    /// one.
    ///
    /// # Errors
    ///
    /// As [`check`](Self::check).
    ///
    /// ```
    /// use agency_ratelimit::{MemoryRateLimiter, RateLimitKey, RateLimiter, RateClasses};
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let limiter = MemoryRateLimiter::new(RateClasses::default());
    /// let account = RateLimitKey::account("alice");
    /// // Ten failed logins: each is peeked first, then counted.
    /// for _ in 0..10 {
    ///     assert!(limiter.peek("auth", &account).await.unwrap().is_allowed());
    ///     limiter.check("auth", &account).await.unwrap();
    /// }
    /// // The eleventh attempt is refused before the password is even verified.
    /// assert!(!limiter.peek("auth", &account).await.unwrap().is_allowed());
    /// # });
    /// ```
    async fn peek(&self, class: &str, key: &RateLimitKey) -> Result<Decision, RateLimitError> {
        self.peek_n(class, key, 1).await
    }

    /// [`peek`](Self::peek) for a request of weight `cost`.
    ///
    /// # Errors
    ///
    /// As [`check_n`](Self::check_n).
    async fn peek_n(
        &self,
        class: &str,
        key: &RateLimitKey,
        cost: u32,
    ) -> Result<Decision, RateLimitError>;

    /// The classes this limiter enforces (for `RateLimit-Policy` on every response).
    fn classes(&self) -> &RateClasses;
}
