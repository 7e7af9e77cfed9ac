//! Revocations pushed between instances over Redis pub/sub (feature `redis`).
//!
//! Each revocation is published, after it is stored, as a small JSON message on one channel;
//! every instance subscribed applies it to its memory. A message can only *add* a revocation,
//! so whoever can publish on the channel can log users out (deny service) but never bring a
//! revoked token back. Messages lost while a subscriber is disconnected are caught by its next
//! refresh from the store, and the subscriber refreshes at once after every reconnection.

use std::sync::{Arc, Weak};
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::{
    CachedRevocationChecker, RevocationEntry, RevocationError, RevocationNotifier, RevocationTarget,
};

/// The wire form of a revocation (version 1). Times are Unix milliseconds.
#[derive(Serialize, Deserialize)]
struct Message {
    v: u8,
    kind: String,
    id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    before_ms: Option<i64>,
    created_ms: i64,
    expires_ms: i64,
}

fn millis(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

fn from_millis(ms: i64) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000).ok()
}

fn encode(entry: &RevocationEntry) -> Result<String, RevocationError> {
    let (kind, id, before_ms) = match &entry.target {
        RevocationTarget::Session(id) => ("session", id.clone(), None),
        RevocationTarget::Token(id) => ("token", id.clone(), None),
        RevocationTarget::UserTokensIssuedBefore { user_id, before } => {
            ("user_before", user_id.clone(), Some(millis(*before)))
        }
    };
    serde_json::to_string(&Message {
        v: 1,
        kind: kind.to_owned(),
        id,
        before_ms,
        created_ms: millis(entry.created_at),
        // Rounded up, so the entry is never dropped earlier than on the sending instance.
        expires_ms: millis(entry.expires_at).saturating_add(1),
    })
    .map_err(|_| RevocationError("could not encode revocation".into()))
}

/// `None` for anything that is not a well-formed version-1 message.
fn decode(payload: &[u8]) -> Option<RevocationEntry> {
    let m: Message = serde_json::from_slice(payload).ok()?;
    if m.v != 1 || m.id.is_empty() || m.id.len() > 256 {
        return None;
    }
    let target = match (m.kind.as_str(), m.before_ms) {
        ("session", None) => RevocationTarget::Session(m.id),
        ("token", None) => RevocationTarget::Token(m.id),
        ("user_before", Some(before)) => RevocationTarget::UserTokensIssuedBefore {
            user_id: m.id,
            before: from_millis(before)?,
        },
        _ => return None,
    };
    Some(RevocationEntry::new(
        target,
        from_millis(m.created_ms)?,
        from_millis(m.expires_ms)?,
    ))
}

/// Publishes revocations on a Redis channel and subscribes checkers to it.
///
/// ```no_run
/// use std::sync::Arc;
/// use agency_auth::revocation::{CachedRevocationChecker, RedisRevocationNotifier, RevocationCacheConfig};
/// use agency_auth::store::MemoryStore;
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let notifier = Arc::new(RedisRevocationNotifier::connect("redis://127.0.0.1:6379", "swarm:revocations").await?);
/// let checker = Arc::new(
///     CachedRevocationChecker::new(Arc::new(MemoryStore::new()), RevocationCacheConfig::default())?
///         .with_notifier(notifier.clone()),
/// );
/// let _subscription = notifier.subscribe(&checker); // keep it: dropping it unsubscribes
/// # Ok(()) }
/// ```
pub struct RedisRevocationNotifier {
    client: redis::Client,
    connection: ConnectionManager,
    channel: String,
}

impl std::fmt::Debug for RedisRevocationNotifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL is not shown: it may hold a password.
        f.debug_struct("RedisRevocationNotifier")
            .field("channel", &self.channel)
            .finish_non_exhaustive()
    }
}

impl RedisRevocationNotifier {
    /// Connects to Redis at `url` for publishing on `channel`.
    ///
    /// # Errors
    ///
    /// When the URL does not parse or Redis cannot be reached (the URL is never repeated).
    pub async fn connect(url: &str, channel: impl Into<String>) -> Result<Self, RevocationError> {
        let client = redis::Client::open(url)
            .map_err(|e| RevocationError(format!("invalid Redis URL ({:?})", e.kind())))?;
        let connection = ConnectionManager::new(client.clone())
            .await
            .map_err(|e| RevocationError(format!("could not connect to Redis ({:?})", e.kind())))?;
        Ok(Self {
            client,
            connection,
            channel: channel.into(),
        })
    }

    /// Subscribes `checker` to the channel: every revocation published by another instance is
    /// applied to its memory ([`CachedRevocationChecker::apply_remote`]). Reconnects by itself
    /// (waiting a second between attempts) and refreshes the checker from its store after each
    /// (re)subscription, so nothing published meanwhile is missed for longer than that. Stops
    /// when the returned guard or the checker is dropped. Needs a Tokio runtime.
    pub fn subscribe(&self, checker: &Arc<CachedRevocationChecker>) -> RevocationSubscription {
        let checker: Weak<CachedRevocationChecker> = Arc::downgrade(checker);
        let client = self.client.clone();
        let channel = self.channel.clone();
        let handle = tokio::spawn(async move {
            while let Next::Reconnect = listen(&client, &channel, &checker).await {
                if checker.strong_count() == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        });
        RevocationSubscription { handle }
    }
}

/// What the subscription task does after [`listen`] returns.
enum Next {
    /// The checker is gone.
    Stop,
    /// The connection failed or closed: try again.
    Reconnect,
}

/// One connection's life: subscribe, refresh the checker from its store (to catch what was
/// published while not subscribed), then apply every message until the connection closes.
async fn listen(
    client: &redis::Client,
    channel: &str,
    checker: &Weak<CachedRevocationChecker>,
) -> Next {
    let mut pubsub = match client.get_async_pubsub().await {
        Ok(pubsub) => pubsub,
        Err(error) => {
            tracing::warn!(kind = ?error.kind(), "revocation channel unreachable; retrying");
            return Next::Reconnect;
        }
    };
    if let Err(error) = pubsub.subscribe(channel).await {
        tracing::warn!(kind = ?error.kind(), "revocation channel subscribe failed");
        return Next::Reconnect;
    }
    let Some(current) = checker.upgrade() else {
        return Next::Stop;
    };
    if let Err(error) = current.refresh().await {
        tracing::warn!(%error, "revocation refresh after subscribing failed");
    }
    drop(current);
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        let Some(current) = checker.upgrade() else {
            return Next::Stop;
        };
        match decode(message.get_payload_bytes()) {
            Some(entry) => {
                if let Err(error) = current.apply_remote(&entry) {
                    tracing::warn!(%error, "could not apply a pushed revocation");
                }
            }
            None => tracing::warn!("ignored a malformed message on the revocation channel"),
        }
    }
    tracing::warn!("revocation channel closed; reconnecting");
    Next::Reconnect
}

#[async_trait]
impl RevocationNotifier for RedisRevocationNotifier {
    async fn notify(&self, entry: &RevocationEntry) -> Result<(), RevocationError> {
        let payload = encode(entry)?;
        let mut connection = self.connection.clone();
        redis::cmd("PUBLISH")
            .arg(&self.channel)
            .arg(payload)
            .query_async::<i64>(&mut connection)
            .await
            .map(|_| ())
            .map_err(|e| RevocationError(format!("could not publish revocation ({:?})", e.kind())))
    }
}

/// Guard of a subscription started by [`RedisRevocationNotifier::subscribe`]; dropping it
/// unsubscribes.
#[derive(Debug)]
pub struct RevocationSubscription {
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for RevocationSubscription {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::Duration as TimeDuration;

    #[test]
    fn messages_round_trip_and_garbage_is_refused() {
        let now = OffsetDateTime::from_unix_timestamp(1_900_000_000).unwrap();
        for target in [
            RevocationTarget::Session("s1".into()),
            RevocationTarget::Token("j1".into()),
            RevocationTarget::UserTokensIssuedBefore {
                user_id: "u1".into(),
                before: now,
            },
        ] {
            let entry = RevocationEntry::new(target, now, now + TimeDuration::hours(1));
            let decoded = decode(encode(&entry).unwrap().as_bytes()).unwrap();
            assert_eq!(decoded.target, entry.target);
            assert!(decoded.expires_at >= entry.expires_at);
        }
        for garbage in [
            &b""[..],
            b"{}",
            b"not json",
            br#"{"v":2,"kind":"session","id":"s","created_ms":0,"expires_ms":1}"#,
            br#"{"v":1,"kind":"session","id":"","created_ms":0,"expires_ms":1}"#,
            br#"{"v":1,"kind":"user_before","id":"u","created_ms":0,"expires_ms":1}"#,
            br#"{"v":1,"kind":"everyone","id":"u","created_ms":0,"expires_ms":1}"#,
        ] {
            assert!(
                decode(garbage).is_none(),
                "{:?}",
                String::from_utf8_lossy(garbage)
            );
        }
    }
}
