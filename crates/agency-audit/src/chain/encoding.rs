//! Canonical encoding of events (version 1), specified byte for byte in `docs/audit.md`.
//!
//! ```text
//! encoding = "agency-audit/event/v1"              (21 ASCII bytes, the version tag)
//!         || uuid(stream) || u64(seq) || uuid(id) || i128(timestamp, Unix nanoseconds)
//!         || opt(actor_id) || opt(actor) || str(actor_kind) || opt(tenant_id) || str(action)
//!         || opt(resource_type) || opt(resource_id)
//!         || opt(canonical_json(old_value)) || opt(canonical_json(new_value))
//!         || opt(ip_address) || opt(user_agent) || u8(success) || opt(error_message)
//!         || opt(request_id)
//! str(s)  = u32(byte length of s) || UTF-8 bytes of s
//! opt(x)  = 0x00 when absent, 0x01 || str(x) when present
//! integers big-endian; uuid = its 16 bytes; u8(success) = 0x01 or 0x00
//! hash    = SHA-256(previous hash (32 bytes) || encoding)
//! ```
//!
//! Every variable-length field is length-prefixed and every optional field has a presence byte,
//! so no two different events share an encoding.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::event::{AuditEvent, StreamId};

/// The version tag that starts every canonical encoding.
pub const ENCODING_VERSION: &str = "agency-audit/event/v1";

/// A SHA-256 chain hash; serialised as 64 lowercase hex digits.
///
/// ```
/// use agency_audit::chain::ChainHash;
/// let h: ChainHash = "00".repeat(32).parse().unwrap();
/// assert_eq!(h, ChainHash::GENESIS);
/// assert!("zz".parse::<ChainHash>().is_err());
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// The previous hash of the first event of a stream: 32 zero bytes.
    pub const GENESIS: ChainHash = ChainHash([0u8; 32]);

    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChainHash({})", self.to_hex())
    }
}

impl std::fmt::Display for ChainHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl std::str::FromStr for ChainHash {
    type Err = crate::AuditError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out)
            .map_err(|_| crate::AuditError::Corrupt("bad hash hex".into()))?;
        Ok(ChainHash(out))
    }
}

impl Serialize for ChainHash {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for ChainHash {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Canonical JSON: object keys sorted by their UTF-8 bytes, no whitespace, strings escaped as
/// `serde_json` does, numbers as `serde_json` prints them. Parsing the output and encoding it
/// again gives the same text.
///
/// ```
/// use serde_json::json;
/// assert_eq!(agency_audit::chain::canonical_json(&json!({"b": 1, "a": [true, null, "x"]})),
///            r#"{"a":[true,null,"x"],"b":1}"#);
/// ```
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&n.to_string()),
        Value::String(s) => write_json_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_json_string(k, out);
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
    }
}

fn write_json_string(s: &str, out: &mut String) {
    // serde_json's string escaping is deterministic; serialising a &str cannot fail.
    match serde_json::to_string(s) {
        Ok(quoted) => out.push_str(&quoted),
        Err(_) => out.push_str("\"\""),
    }
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    // Text fields over 4 GiB cannot occur (serde_json and the databases refuse them first);
    // saturate rather than wrap if one ever did.
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    buf.extend_from_slice(&len.to_be_bytes());
    buf.extend_from_slice(s.as_bytes());
}

fn put_opt(buf: &mut Vec<u8>, s: Option<&str>) {
    match s {
        None => buf.push(0),
        Some(s) => {
            buf.push(1);
            put_str(buf, s);
        }
    }
}

/// The canonical encoding (version 1) of an event at `(stream, seq)`.
pub fn canonical_encoding(stream: &StreamId, seq: u64, event: &AuditEvent) -> Vec<u8> {
    let mut buf = Vec::with_capacity(256);
    buf.extend_from_slice(ENCODING_VERSION.as_bytes());
    buf.extend_from_slice(stream.0.as_bytes());
    buf.extend_from_slice(&seq.to_be_bytes());
    buf.extend_from_slice(event.id.as_bytes());
    buf.extend_from_slice(&event.timestamp.unix_timestamp_nanos().to_be_bytes());
    put_opt(&mut buf, event.actor_id.as_deref());
    put_opt(&mut buf, event.actor.as_deref());
    put_str(&mut buf, event.actor_kind.as_str());
    put_opt(&mut buf, event.tenant_id.as_deref());
    put_str(&mut buf, &event.action);
    put_opt(&mut buf, event.resource_type.as_deref());
    put_opt(&mut buf, event.resource_id.as_deref());
    put_opt(
        &mut buf,
        event.old_value.as_ref().map(canonical_json).as_deref(),
    );
    put_opt(
        &mut buf,
        event.new_value.as_ref().map(canonical_json).as_deref(),
    );
    put_opt(
        &mut buf,
        event.ip_address.map(|ip| ip.to_string()).as_deref(),
    );
    put_opt(&mut buf, event.user_agent.as_deref());
    buf.push(u8::from(event.success));
    put_opt(&mut buf, event.error_message.as_deref());
    put_opt(&mut buf, event.request_id.as_deref());
    buf
}

/// `SHA-256(prev || canonical_encoding(stream, seq, event))`.
///
/// ```
/// use agency_audit::{AuditEvent, StreamId, chain::{ChainHash, chain_hash}};
/// let e = AuditEvent::builder("auth.logout").build();
/// let s = StreamId::new();
/// assert_ne!(chain_hash(&ChainHash::GENESIS, &s, 1, &e), chain_hash(&ChainHash::GENESIS, &s, 2, &e));
/// ```
pub fn chain_hash(prev: &ChainHash, stream: &StreamId, seq: u64, event: &AuditEvent) -> ChainHash {
    let mut h = Sha256::new();
    h.update(prev.0);
    h.update(canonical_encoding(stream, seq, event));
    ChainHash(h.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ActorKind;
    use proptest::prelude::*;
    use serde_json::json;
    use time::OffsetDateTime;
    use uuid::Uuid;

    pub(crate) fn vector_event() -> (StreamId, AuditEvent) {
        let stream = StreamId(Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0001));
        let mut e = AuditEvent::builder("user.create")
            .actor(ActorKind::User, "u-1", "alice")
            .tenant("acme")
            .resource("user", "u-2")
            .new_value(json!({"role": "viewer", "name": "bob"}))
            .ip("192.0.2.7".parse().unwrap())
            .request_id("req-9")
            .timestamp(OffsetDateTime::from_unix_timestamp(1_767_225_600).unwrap())
            .build();
        e.id = Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0002);
        (stream, e)
    }

    /// The fixed test vector published in docs/audit.md.
    #[test]
    fn fixed_vector_matches_the_specification() {
        let (stream, e) = vector_event();
        let enc = canonical_encoding(&stream, 1, &e);
        let expected_hex = concat!(
            "6167656e63792d61756469742f6576656e742f7631", // "agency-audit/event/v1"
            "01920000000070008000000000000001",           // stream
            "0000000000000001",                           // seq
            "01920000000070008000000000000002",           // id
            "000000000000000018867251edfa0000",           // 2026-01-01T00:00:00Z in ns
            "0100000003752d31",                           // actor_id "u-1"
            "0100000005616c696365",                       // actor "alice"
            "0000000475736572",                           // actor_kind "user"
            "010000000461636d65",                         // tenant "acme"
            "0000000b757365722e637265617465",             // action
            "010000000475736572",                         // resource_type
            "0100000003752d32",                           // resource_id
            "00",                                         // old_value absent
            "010000001e",                                 // new_value: 30 bytes of canonical JSON
            "7b226e616d65223a22626f62222c22726f6c65223a22766965776572227d",
            "01000000093139322e302e322e37", // ip "192.0.2.7"
            "00",                           // user_agent absent
            "01",                           // success
            "00",                           // error_message absent
            "01000000057265712d39",         // request_id
        );
        assert_eq!(hex::encode(&enc), expected_hex);
        let h = chain_hash(&ChainHash::GENESIS, &stream, 1, &e);
        assert_eq!(h.to_hex(), VECTOR_HASH);
    }

    pub(crate) const VECTOR_HASH: &str =
        "1aec00bf3776d620c8643a2107af363e7d9bb3a33d51c1f0eeaf36d982f85678";

    fn arb_value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<u64>().prop_map(|n| json!(n)),
            any::<f64>()
                .prop_filter("finite", |f| f.is_finite())
                .prop_map(|f| json!(f)),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 24, 5, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(any::<String>(), inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn canonical_json_is_stable_through_a_parse(v in arb_value()) {
            let text = canonical_json(&v);
            let back: Value = serde_json::from_str(&text).unwrap();
            prop_assert_eq!(canonical_json(&back), text);
        }

        #[test]
        fn different_field_splits_never_collide(a in ".{0,8}", b in ".{0,8}", c in ".{0,8}", d in ".{0,8}") {
            prop_assume!((a.clone(), b.clone()) != (c.clone(), d.clone()));
            let (stream, base) = vector_event();
            let mut e1 = base.clone();
            e1.actor_id = Some(a);
            e1.actor = Some(b);
            let mut e2 = base;
            e2.actor_id = Some(c);
            e2.actor = Some(d);
            prop_assert_ne!(canonical_encoding(&stream, 1, &e1), canonical_encoding(&stream, 1, &e2));
        }

        #[test]
        fn stored_json_round_trip_keeps_the_hash(v in arb_value(), ua in any::<String>()) {
            // The redactor stores a top-level null as absent (they read back alike).
            prop_assume!(!v.is_null());
            let (stream, mut e) = vector_event();
            e.old_value = Some(v);
            e.user_agent = Some(ua);
            let h = chain_hash(&ChainHash::GENESIS, &stream, 3, &e);
            let back: AuditEvent = serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
            prop_assert_eq!(chain_hash(&ChainHash::GENESIS, &stream, 3, &back), h);
        }
    }
}
