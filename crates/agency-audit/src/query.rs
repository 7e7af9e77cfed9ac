//! Query filters, opaque keyset cursors and pages, newest first.
//!
//! Events are ordered by `(timestamp, id)` descending; the cursor names the last event of a page
//! and the next page starts strictly below it, so pages never skip or repeat events even when
//! new ones arrive. A cursor is `base64url("c1" || i64 timestamp micros || 16-byte id)`; anything
//! else, including a tampered cursor, is [`AuditError::InvalidCursor`] and never reaches SQL.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use time::OffsetDateTime;
use uuid::Uuid;

use crate::AuditError;
use crate::event::RecordedEvent;

/// Largest page size.
pub const MAX_LIMIT: u32 = 1000;
/// Default page size.
pub const DEFAULT_LIMIT: u32 = 100;

/// A keyset position: the `(timestamp, id)` of the last event returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cursor {
    /// Timestamp in Unix microseconds.
    pub ts_micros: i64,
    /// Event id.
    pub id: Uuid,
}

impl Cursor {
    /// The cursor after `event`.
    pub fn after(event: &RecordedEvent) -> Self {
        Cursor {
            ts_micros: micros(event.event.timestamp),
            id: event.event.id,
        }
    }

    /// Opaque text form.
    ///
    /// ```
    /// use agency_audit::query::Cursor;
    /// let c = Cursor { ts_micros: 1_700_000_000_000_000, id: uuid::Uuid::nil() };
    /// assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
    /// assert!(Cursor::decode("' OR 1=1 --").is_err());
    /// ```
    pub fn encode(&self) -> String {
        let mut b = Vec::with_capacity(26);
        b.extend_from_slice(b"c1");
        b.extend_from_slice(&self.ts_micros.to_be_bytes());
        b.extend_from_slice(self.id.as_bytes());
        URL_SAFE_NO_PAD.encode(b)
    }

    /// Parses an opaque cursor.
    pub fn decode(text: &str) -> Result<Self, AuditError> {
        if text.len() > 64 {
            return Err(AuditError::InvalidCursor);
        }
        let b = URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| AuditError::InvalidCursor)?;
        if b.len() != 26 || &b[..2] != b"c1" {
            return Err(AuditError::InvalidCursor);
        }
        let mut ts = [0u8; 8];
        ts.copy_from_slice(&b[2..10]);
        let id = Uuid::from_slice(&b[10..26]).map_err(|_| AuditError::InvalidCursor)?;
        Ok(Cursor {
            ts_micros: i64::from_be_bytes(ts),
            id,
        })
    }
}

/// Unix microseconds of a timestamp (saturating far outside the supported range).
pub(crate) fn micros(t: OffsetDateTime) -> i64 {
    i64::try_from(t.unix_timestamp_nanos() / 1000).unwrap_or(i64::MAX)
}

/// Filters for a page of events. All filters are exact matches and are combined with AND.
///
/// ```
/// use agency_audit::AuditQuery;
/// let q = AuditQuery::new().tenant("acme").action("auth.login_failed").limit(50);
/// assert!(q.validate().is_ok());
/// assert!(AuditQuery::new().limit(5000).validate().is_err());
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuditQuery {
    /// Tenant.
    pub tenant_id: Option<String>,
    /// Actor id (the contract's `actor` filter).
    pub actor_id: Option<String>,
    /// Action.
    pub action: Option<String>,
    /// Resource type.
    pub resource_type: Option<String>,
    /// Resource id.
    pub resource_id: Option<String>,
    /// Success or failure.
    pub success: Option<bool>,
    /// Inclusive lower bound on the timestamp.
    pub since: Option<OffsetDateTime>,
    /// Exclusive upper bound on the timestamp.
    pub until: Option<OffsetDateTime>,
    /// Page size, 1 to [`MAX_LIMIT`] (default [`DEFAULT_LIMIT`]).
    pub limit: Option<u32>,
    /// Continue after this cursor.
    pub cursor: Option<Cursor>,
}

impl AuditQuery {
    /// No filters, default limit.
    pub fn new() -> Self {
        Self::default()
    }
    /// Filters by tenant.
    pub fn tenant(mut self, v: impl Into<String>) -> Self {
        self.tenant_id = Some(v.into());
        self
    }
    /// Filters by actor id.
    pub fn actor(mut self, v: impl Into<String>) -> Self {
        self.actor_id = Some(v.into());
        self
    }
    /// Filters by action.
    pub fn action(mut self, v: impl Into<String>) -> Self {
        self.action = Some(v.into());
        self
    }
    /// Filters by resource type and, optionally, id.
    pub fn resource(
        mut self,
        resource_type: impl Into<String>,
        resource_id: Option<String>,
    ) -> Self {
        self.resource_type = Some(resource_type.into());
        self.resource_id = resource_id;
        self
    }
    /// Filters by outcome.
    pub fn success(mut self, v: bool) -> Self {
        self.success = Some(v);
        self
    }
    /// Time range `[since, until)`.
    pub fn between(mut self, since: Option<OffsetDateTime>, until: Option<OffsetDateTime>) -> Self {
        self.since = since;
        self.until = until;
        self
    }
    /// Page size.
    pub fn limit(mut self, limit: u32) -> Self {
        self.limit = Some(limit);
        self
    }
    /// Continues after an opaque cursor from a previous page.
    pub fn after_cursor(mut self, cursor: &str) -> Result<Self, AuditError> {
        self.cursor = Some(Cursor::decode(cursor)?);
        Ok(self)
    }

    /// Checks the limit.
    pub fn validate(&self) -> Result<(), AuditError> {
        match self.limit {
            Some(0) => Err(AuditError::InvalidQuery("limit must be at least 1")),
            Some(n) if n > MAX_LIMIT => Err(AuditError::InvalidQuery("limit must be at most 1000")),
            _ => Ok(()),
        }
    }

    /// The effective page size.
    pub fn effective_limit(&self) -> u32 {
        self.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT)
    }

    /// Whether an event passes the filters (cursor included); used by in-memory backends.
    pub fn matches(&self, r: &RecordedEvent) -> bool {
        let e = &r.event;
        let eq = |f: &Option<String>, v: &Option<String>| {
            f.as_ref().is_none_or(|f| v.as_deref() == Some(f.as_str()))
        };
        eq(&self.tenant_id, &e.tenant_id)
            && eq(&self.actor_id, &e.actor_id)
            && self.action.as_ref().is_none_or(|a| *a == e.action)
            && eq(&self.resource_type, &e.resource_type)
            && eq(&self.resource_id, &e.resource_id)
            && self.success.is_none_or(|s| s == e.success)
            && self.since.is_none_or(|s| e.timestamp >= s)
            && self.until.is_none_or(|u| e.timestamp < u)
            && self
                .cursor
                .is_none_or(|c| (micros(e.timestamp), e.id) < (c.ts_micros, c.id))
    }
}

/// One page of results.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditPage {
    /// Events, newest first.
    pub events: Vec<RecordedEvent>,
    /// Cursor for the next page, when there may be one.
    pub next_cursor: Option<String>,
}

impl AuditPage {
    /// Builds a page from up to `limit + 1` sorted rows: the extra row only signals a next page.
    pub(crate) fn from_rows(mut rows: Vec<RecordedEvent>, limit: u32) -> Self {
        let limit = limit as usize;
        let more = rows.len() > limit;
        rows.truncate(limit);
        let next_cursor = if more {
            rows.last().map(|r| Cursor::after(r).encode())
        } else {
            None
        };
        AuditPage {
            events: rows,
            next_cursor,
        }
    }
}

/// Picks a page from an unsorted stream of events: keeps the newest `limit + 1` matches with a
/// bounded heap, so memory stays O(limit) whatever the number of events scanned.
pub(crate) struct TopK {
    limit: usize,
    heap: std::collections::BinaryHeap<std::cmp::Reverse<Keyed>>,
}

struct Keyed((i64, Uuid), RecordedEvent);
impl PartialEq for Keyed {
    fn eq(&self, o: &Self) -> bool {
        self.0 == o.0
    }
}
impl Eq for Keyed {}
impl PartialOrd for Keyed {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Keyed {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.0.cmp(&o.0)
    }
}

impl TopK {
    pub(crate) fn new(limit: u32) -> Self {
        TopK {
            limit: limit as usize + 1,
            heap: std::collections::BinaryHeap::new(),
        }
    }
    pub(crate) fn push(&mut self, r: RecordedEvent) {
        let key = (micros(r.event.timestamp), r.event.id);
        if self.heap.len() < self.limit {
            self.heap.push(std::cmp::Reverse(Keyed(key, r)));
        } else if self.heap.peek().is_some_and(|min| min.0.0 < key) {
            self.heap.pop();
            self.heap.push(std::cmp::Reverse(Keyed(key, r)));
        }
    }
    pub(crate) fn into_page(self, limit: u32) -> AuditPage {
        let mut rows: Vec<Keyed> = self.heap.into_iter().map(|r| r.0).collect();
        rows.sort_by_key(|k| std::cmp::Reverse(k.0));
        AuditPage::from_rows(rows.into_iter().map(|k| k.1).collect(), limit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn tampered_cursor_is_a_clear_error() {
        let c = Cursor {
            ts_micros: 5,
            id: Uuid::now_v7(),
        }
        .encode();
        let mut bytes = c.into_bytes();
        bytes[0] = if bytes[0] == b'A' { b'B' } else { b'A' };
        let tampered = String::from_utf8(bytes).unwrap();
        assert!(matches!(
            Cursor::decode(&tampered),
            Err(AuditError::InvalidCursor)
        ));
        assert!(matches!(
            Cursor::decode("1'; DROP TABLE audit_events; --"),
            Err(AuditError::InvalidCursor)
        ));
        assert!(matches!(
            Cursor::decode(&"A".repeat(10_000)),
            Err(AuditError::InvalidCursor)
        ));
    }

    proptest! {
        #[test]
        fn cursor_round_trips(ts in any::<i64>(), id in any::<u128>()) {
            let c = Cursor { ts_micros: ts, id: Uuid::from_u128(id) };
            prop_assert_eq!(Cursor::decode(&c.encode()).unwrap(), c);
        }

        #[test]
        fn arbitrary_cursor_text_never_panics(s in ".{0,80}") {
            let _ = Cursor::decode(&s);
        }
    }
}
