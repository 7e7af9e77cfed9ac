//! Telling other instances about a revocation at once, instead of at their next refresh.

use async_trait::async_trait;

use super::{RevocationEntry, RevocationError};

/// Called by [`CachedRevocationChecker::revoke_at`](super::CachedRevocationChecker::revoke_at)
/// after the revocation is stored, so other instances can apply it to their memory at once
/// ([`CachedRevocationChecker::apply_remote`](super::CachedRevocationChecker::apply_remote))
/// instead of at their next refresh. The store stays the source of truth: a notification that
/// is lost only delays the revocation to the next refresh (`refresh_interval`, default 5 s).
///
/// With the `redis` feature, `RedisRevocationNotifier` publishes on a Redis channel.
///
/// ```
/// use agency_auth::revocation::{RevocationEntry, RevocationError, RevocationNotifier};
/// struct Log;
/// #[async_trait::async_trait]
/// impl RevocationNotifier for Log {
///     async fn notify(&self, entry: &RevocationEntry) -> Result<(), RevocationError> {
///         println!("revoked: {:?}", entry.target);
///         Ok(())
///     }
/// }
/// ```
#[async_trait]
pub trait RevocationNotifier: Send + Sync + 'static {
    /// Tells the other instances about `entry`, which is already stored.
    async fn notify(&self, entry: &RevocationEntry) -> Result<(), RevocationError>;
}
