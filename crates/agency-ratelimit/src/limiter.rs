//! The [`RateLimiter`] trait every backend implements.

use async_trait::async_trait;

use crate::class::RateClasses;
use crate::decision::Decision;
use crate::error::RateLimitError;
use crate::key::RateLimitKey;

/// Checks keys against named classes. Implemented by [`MemoryRateLimiter`](crate::MemoryRateLimiter)
/// and, with the `redis` feature, `RedisRateLimiter`; object safe, so a server can hold an
/// `Arc<dyn RateLimiter>` chosen by configuration.
///
/// A check *spends* capacity when it is allowed and spends nothing when refused.
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

    /// The classes this limiter enforces (for `RateLimit-Policy` on every response).
    fn classes(&self) -> &RateClasses;
}
