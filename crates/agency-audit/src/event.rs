//! Audit events: what happened, who did it, to what, and whether it worked.
//!
//! Build events with [`AuditEvent::builder`]; the writer neutralises control characters and
//! redacts secrets before the event is hashed or stored. Timestamps are UTC with microsecond
//! precision (what PostgreSQL stores), so an event reads back exactly as it was hashed.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::chain::ChainHash;

/// Who performed an action.
///
/// ```
/// use agency_audit::ActorKind;
/// assert_eq!(ActorKind::ApiKey.as_str(), "api_key");
/// assert_eq!("system".parse::<ActorKind>(), Ok(ActorKind::System));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActorKind {
    /// A signed-in user.
    User,
    /// An API key acting for its owner.
    ApiKey,
    /// The system itself (jobs, start-up, retention).
    System,
}

impl ActorKind {
    /// The stored name: `user`, `api_key` or `system`.
    pub fn as_str(self) -> &'static str {
        match self {
            ActorKind::User => "user",
            ActorKind::ApiKey => "api_key",
            ActorKind::System => "system",
        }
    }
}

impl std::str::FromStr for ActorKind {
    type Err = ();
    fn from_str(s: &str) -> Result<Self, ()> {
        match s {
            "user" => Ok(ActorKind::User),
            "api_key" => Ok(ActorKind::ApiKey),
            "system" => Ok(ActorKind::System),
            _ => Err(()),
        }
    }
}

/// One audit event, with the fields of the swarm API contract.
///
/// Construct it with [`AuditEvent::builder`]. Fields are public for reading; the struct is
/// `non_exhaustive` so every event goes through the builder.
///
/// ```
/// use agency_audit::{ActorKind, AuditEvent};
/// let event = AuditEvent::builder("agent.create")
///     .actor(ActorKind::User, "u-42", "alice")
///     .tenant("acme")
///     .resource("agent", "a-7")
///     .new_value(serde_json::json!({"name": "crawler"}))
///     .request_id("req-1")
///     .build();
/// assert_eq!(event.action, "agent.create");
/// assert!(event.success);
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AuditEvent {
    /// UUID v7 (time ordered).
    pub id: Uuid,
    /// When it happened (UTC, microsecond precision).
    #[serde(with = "time::serde::rfc3339")]
    pub timestamp: OffsetDateTime,
    /// The actor's stable id (user id, key id), when known.
    pub actor_id: Option<String>,
    /// The actor's display name (username, key name), when known.
    pub actor: Option<String>,
    /// What kind of actor.
    pub actor_kind: ActorKind,
    /// The tenant the action happened in.
    pub tenant_id: Option<String>,
    /// The action, for example `user.create` or `auth.login_failed`.
    pub action: String,
    /// Type of the resource acted on, for example `agent`.
    pub resource_type: Option<String>,
    /// Id of the resource acted on.
    pub resource_id: Option<String>,
    /// The value before the change (redacted before storage).
    pub old_value: Option<Value>,
    /// The value after the change (redacted before storage).
    pub new_value: Option<Value>,
    /// The client's IP address.
    pub ip_address: Option<IpAddr>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// Whether the action succeeded.
    pub success: bool,
    /// Why it failed, when it did.
    pub error_message: Option<String>,
    /// The request id that correlates this event with logs.
    pub request_id: Option<String>,
}

/// Truncates to microseconds and converts to UTC.
pub(crate) fn normalize_timestamp(t: OffsetDateTime) -> OffsetDateTime {
    let t = t.to_offset(time::UtcOffset::UTC);
    let micros = t.microsecond();
    t.replace_microsecond(micros).unwrap_or(t)
}

impl AuditEvent {
    /// Starts an event for `action`, with a fresh UUID v7, the current time, a `system` actor and
    /// `success = true`.
    pub fn builder(action: impl Into<String>) -> AuditEventBuilder {
        AuditEventBuilder {
            event: AuditEvent {
                id: Uuid::now_v7(),
                timestamp: normalize_timestamp(OffsetDateTime::now_utc()),
                actor_id: None,
                actor: None,
                actor_kind: ActorKind::System,
                tenant_id: None,
                action: action.into(),
                resource_type: None,
                resource_id: None,
                old_value: None,
                new_value: None,
                ip_address: None,
                user_agent: None,
                success: true,
                error_message: None,
                request_id: None,
            },
        }
    }
}

impl AuditEvent {
    /// Sets the actor: kind, id and display name (the builder's and the request context's one
    /// way to name an actor).
    pub(crate) fn set_actor(&mut self, kind: ActorKind, id: String, name: String) {
        self.actor_kind = kind;
        self.actor_id = Some(id);
        self.actor = Some(name);
    }
}

/// Builder for [`AuditEvent`]; see [`AuditEvent::builder`].
#[derive(Debug, Clone)]
#[must_use = "call build() to get the event"]
pub struct AuditEventBuilder {
    event: AuditEvent,
}

impl AuditEventBuilder {
    /// Sets the actor: kind, id and display name.
    pub fn actor(
        mut self,
        kind: ActorKind,
        id: impl Into<String>,
        name: impl Into<String>,
    ) -> Self {
        self.event.set_actor(kind, id.into(), name.into());
        self
    }

    /// Sets only the actor's display name (for example the username of a failed login, when no
    /// user id is known).
    pub fn actor_name(mut self, kind: ActorKind, name: impl Into<String>) -> Self {
        self.event.actor_kind = kind;
        self.event.actor = Some(name.into());
        self
    }

    /// Sets the tenant.
    pub fn tenant(mut self, tenant_id: impl Into<String>) -> Self {
        self.event.tenant_id = Some(tenant_id.into());
        self
    }

    /// Sets the resource acted on.
    pub fn resource(
        mut self,
        resource_type: impl Into<String>,
        resource_id: impl Into<String>,
    ) -> Self {
        self.event.resource_type = Some(resource_type.into());
        self.event.resource_id = Some(resource_id.into());
        self
    }

    /// Sets only the resource type (for actions on a collection).
    pub fn resource_type(mut self, resource_type: impl Into<String>) -> Self {
        self.event.resource_type = Some(resource_type.into());
        self
    }

    /// Sets the value before the change.
    pub fn old_value(mut self, value: Value) -> Self {
        self.event.old_value = Some(value);
        self
    }

    /// Sets the value after the change.
    pub fn new_value(mut self, value: Value) -> Self {
        self.event.new_value = Some(value);
        self
    }

    /// Sets the client IP address.
    pub fn ip(mut self, ip: IpAddr) -> Self {
        self.event.ip_address = Some(ip);
        self
    }

    /// Sets the client user agent.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.event.user_agent = Some(user_agent.into());
        self
    }

    /// Sets the request id.
    pub fn request_id(mut self, request_id: impl Into<String>) -> Self {
        self.event.request_id = Some(request_id.into());
        self
    }

    /// Marks the action as failed with a reason.
    pub fn failure(mut self, error_message: impl Into<String>) -> Self {
        self.event.success = false;
        self.event.error_message = Some(error_message.into());
        self
    }

    /// Overrides the timestamp (for imports and tests); it is truncated to microseconds, in UTC.
    pub fn timestamp(mut self, timestamp: OffsetDateTime) -> Self {
        self.event.timestamp = normalize_timestamp(timestamp);
        self
    }

    /// Finishes the event.
    pub fn build(self) -> AuditEvent {
        self.event
    }
}

/// The id of a hash-chain stream: one per writer instance.
///
/// ```
/// let a = agency_audit::StreamId::new();
/// assert_ne!(a, agency_audit::StreamId::new());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StreamId(pub Uuid);

impl StreamId {
    /// A fresh stream id (UUID v7, so streams sort by creation time).
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        StreamId(Uuid::now_v7())
    }
}

impl std::fmt::Display for StreamId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// An event as stored: the event plus its place in the hash chain.
///
/// Serialised (JSON lines, API) as the event's fields plus `stream`, `seq` and `hash` (hex).
///
/// ```
/// use agency_audit::{AuditEvent, StreamId, chain::{ChainHash, chain_hash}};
/// let event = AuditEvent::builder("auth.login").build();
/// let stream = StreamId::new();
/// let hash = chain_hash(&ChainHash::GENESIS, &stream, 1, &event);
/// let recorded = agency_audit::RecordedEvent { stream, seq: 1, hash, event };
/// let json = serde_json::to_string(&recorded).unwrap();
/// let back: agency_audit::RecordedEvent = serde_json::from_str(&json).unwrap();
/// assert_eq!(back, recorded);
/// ```
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct RecordedEvent {
    /// The writer stream the event belongs to.
    pub stream: StreamId,
    /// Position in the stream, from 1.
    pub seq: u64,
    /// `SHA-256(previous hash || canonical encoding)`.
    pub hash: ChainHash,
    /// The event.
    #[serde(flatten)]
    pub event: AuditEvent,
}

/// Serialises the flat shape by hand: `#[serde(flatten)]` would buffer every field through a
/// map, and this runs once per event on the file sink's hot path.
impl Serialize for RecordedEvent {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        struct Rfc3339<'a>(&'a OffsetDateTime);
        impl Serialize for Rfc3339<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                time::serde::rfc3339::serialize(self.0, s)
            }
        }
        let e = &self.event;
        let mut st = serializer.serialize_struct("RecordedEvent", 19)?;
        st.serialize_field("stream", &self.stream)?;
        st.serialize_field("seq", &self.seq)?;
        st.serialize_field("hash", &self.hash)?;
        st.serialize_field("id", &e.id)?;
        st.serialize_field("timestamp", &Rfc3339(&e.timestamp))?;
        st.serialize_field("actor_id", &e.actor_id)?;
        st.serialize_field("actor", &e.actor)?;
        st.serialize_field("actor_kind", &e.actor_kind)?;
        st.serialize_field("tenant_id", &e.tenant_id)?;
        st.serialize_field("action", &e.action)?;
        st.serialize_field("resource_type", &e.resource_type)?;
        st.serialize_field("resource_id", &e.resource_id)?;
        st.serialize_field("old_value", &e.old_value)?;
        st.serialize_field("new_value", &e.new_value)?;
        st.serialize_field("ip_address", &e.ip_address)?;
        st.serialize_field("user_agent", &e.user_agent)?;
        st.serialize_field("success", &e.success)?;
        st.serialize_field("error_message", &e.error_message)?;
        st.serialize_field("request_id", &e.request_id)?;
        st.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_written_serialisation_matches_the_flattened_shape() {
        #[derive(Serialize)]
        struct Flat<'a> {
            stream: StreamId,
            seq: u64,
            hash: ChainHash,
            #[serde(flatten)]
            event: &'a AuditEvent,
        }
        let event = AuditEvent::builder("user.create")
            .actor(ActorKind::User, "u1", "alice")
            .new_value(serde_json::json!({"a": [1, 2.5, null]}))
            .ip("::1".parse().unwrap())
            .failure("nope")
            .build();
        let r = RecordedEvent {
            stream: StreamId::new(),
            seq: 9,
            hash: ChainHash([7; 32]),
            event,
        };
        let flat = Flat {
            stream: r.stream,
            seq: r.seq,
            hash: r.hash,
            event: &r.event,
        };
        let a: serde_json::Value = serde_json::to_value(&r).unwrap();
        let b: serde_json::Value = serde_json::to_value(&flat).unwrap();
        assert_eq!(a, b);
        let back: RecordedEvent = serde_json::from_value(a).unwrap();
        assert_eq!(back, r);
    }

    #[test]
    fn builder_sets_fields_and_truncates_time() {
        let t = OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_123_456_789).unwrap();
        let e = AuditEvent::builder("user.update")
            .actor(ActorKind::ApiKey, "k1", "ci-key")
            .failure("denied")
            .timestamp(t)
            .build();
        assert_eq!(
            e.timestamp.unix_timestamp_nanos(),
            1_700_000_000_123_456_000
        );
        assert!(!e.success);
        assert_eq!(e.actor_kind, ActorKind::ApiKey);
        assert_eq!(e.id.get_version_num(), 7);
    }
}
