//! Streamed export as JSON lines or CSV: pages are fetched one at a time (keyset pagination,
//! 1000 events each) and written to any [`std::io::Write`], so an export never holds more than
//! one page in memory.
//!
//! CSV formula injection: a cell that starts with `=`, `+`, `-`, `@` (or a tab or carriage
//! return, which neutralisation already removes) is prefixed with `'`, so spreadsheet programs
//! show it as text instead of evaluating it (OWASP's recommendation). The leading `'` is the
//! only change; JSON lines export is never altered.

use std::io::Write;

use serde_json::Value;

use crate::AuditError;
use crate::chain::canonical_json;
use crate::event::RecordedEvent;
use crate::query::{AuditQuery, Cursor, MAX_LIMIT};
use crate::sink::AuditStore;

/// Export format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportFormat {
    /// One JSON object per line, as stored.
    JsonLines,
    /// CSV with a header row.
    Csv,
}

impl std::str::FromStr for ExportFormat {
    type Err = AuditError;
    fn from_str(s: &str) -> Result<Self, AuditError> {
        match s {
            "jsonl" => Ok(ExportFormat::JsonLines),
            "csv" => Ok(ExportFormat::Csv),
            _ => Err(AuditError::InvalidQuery("format must be jsonl or csv")),
        }
    }
}

/// CSV column names, in order.
pub const CSV_HEADER: [&str; 19] = [
    "id",
    "timestamp",
    "actor_id",
    "actor",
    "actor_kind",
    "tenant_id",
    "action",
    "resource_type",
    "resource_id",
    "old_value",
    "new_value",
    "ip_address",
    "user_agent",
    "success",
    "error_message",
    "request_id",
    "stream",
    "seq",
    "hash",
];

/// Makes a CSV cell safe to open in a spreadsheet.
///
/// ```
/// use agency_audit::export::csv_safe;
/// assert_eq!(csv_safe("=HYPERLINK(\"http://evil\")"), "'=HYPERLINK(\"http://evil\")");
/// assert_eq!(csv_safe("alice"), "alice");
/// ```
pub fn csv_safe(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => std::borrow::Cow::Owned(format!("'{cell}")),
        _ => std::borrow::Cow::Borrowed(cell),
    }
}

fn csv_row(r: &RecordedEvent) -> Vec<String> {
    let e = &r.event;
    let o = |v: &Option<String>| v.clone().unwrap_or_default();
    let j = |v: &Option<Value>| v.as_ref().map(canonical_json).unwrap_or_default();
    let ts = e
        .timestamp
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    [
        e.id.to_string(),
        ts,
        o(&e.actor_id),
        o(&e.actor),
        e.actor_kind.as_str().to_owned(),
        o(&e.tenant_id),
        e.action.clone(),
        o(&e.resource_type),
        o(&e.resource_id),
        j(&e.old_value),
        j(&e.new_value),
        e.ip_address.map(|i| i.to_string()).unwrap_or_default(),
        o(&e.user_agent),
        e.success.to_string(),
        o(&e.error_message),
        o(&e.request_id),
        r.stream.to_string(),
        r.seq.to_string(),
        r.hash.to_hex(),
    ]
    .into_iter()
    .map(|c| csv_safe(&c).into_owned())
    .collect()
}

/// Writes events to `out` in `format`, one page at a time.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use agency_audit::{AuditEvent, AuditQuery, AuditWriter, WriterConfig, export::{ExportFormat, Exporter}};
/// use agency_audit::sink::MemoryStore;
/// let store = std::sync::Arc::new(MemoryStore::new());
/// let writer = AuditWriter::spawn(store.clone(), WriterConfig::default()).unwrap();
/// writer.record_durable(AuditEvent::builder("user.create").actor_name(agency_audit::ActorKind::User, "=cmd").build()).await.unwrap();
/// let mut out = Vec::new();
/// let n = Exporter::new(ExportFormat::Csv).export(store.as_ref(), &AuditQuery::new(), &mut out).await.unwrap();
/// assert_eq!(n, 1);
/// assert!(String::from_utf8(out).unwrap().contains("'=cmd"));
/// # });
/// ```
#[derive(Debug)]
pub struct Exporter {
    format: ExportFormat,
}

impl Exporter {
    /// An exporter in `format`.
    pub fn new(format: ExportFormat) -> Self {
        Exporter { format }
    }

    /// Writes one page of events (no CSV header).
    pub fn write_events<W: Write>(
        &self,
        events: &[RecordedEvent],
        out: &mut W,
    ) -> Result<(), AuditError> {
        match self.format {
            ExportFormat::JsonLines => {
                for r in events {
                    serde_json::to_writer(&mut *out, r).map_err(|e| AuditError::Io(e.into()))?;
                    out.write_all(b"\n")?;
                }
            }
            ExportFormat::Csv => {
                let mut w = csv::WriterBuilder::new()
                    .has_headers(false)
                    .from_writer(&mut *out);
                for r in events {
                    w.write_record(csv_row(r))?;
                }
                w.flush()?;
            }
        }
        Ok(())
    }

    /// Writes the CSV header row (nothing for JSON lines).
    pub fn write_header<W: Write>(&self, out: &mut W) -> Result<(), AuditError> {
        if self.format == ExportFormat::Csv {
            let mut w = csv::Writer::from_writer(&mut *out);
            w.write_record(CSV_HEADER)?;
            w.flush()?;
        }
        Ok(())
    }

    /// Exports every event matching `query` (its `limit` and `cursor` are ignored), newest first;
    /// returns how many were written. Reads one page at a time ([`Pages`]), so memory stays one
    /// page whatever the size of the log.
    pub async fn export<S: AuditStore + ?Sized, W: Write>(
        &self,
        store: &S,
        query: &AuditQuery,
        out: &mut W,
    ) -> Result<u64, AuditError> {
        self.write_header(out)?;
        let mut whole = query.clone();
        whole.limit = None;
        whole.cursor = None;
        let mut pages = Pages::new(store, &whole);
        let mut count = 0u64;
        while let Some(events) = pages.next_page().await? {
            self.write_events(&events, out)?;
            count += events.len() as u64;
        }
        out.flush()?;
        Ok(count)
    }
}

/// Every event matching a query, one page at a time, newest first: for a streamed export, each
/// page becomes one chunk of the response body, and the whole log is never in memory.
///
/// The query's `limit` is the page size (default and cap: the largest page the query allows);
/// its cursor, if any, is where the first page starts. Each page continues with a keyset cursor
/// after the previous page's last event, so events recorded meanwhile do not shift it.
///
/// ```
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// use agency_audit::{AuditEvent, AuditQuery, AuditWriter, WriterConfig, export::Pages, sink::MemoryStore};
/// let store = std::sync::Arc::new(MemoryStore::new());
/// let writer = AuditWriter::spawn(store.clone(), WriterConfig::default()).unwrap();
/// for i in 0..5 {
///     writer.record_durable(AuditEvent::builder(format!("agent.create.{i}")).build()).await.unwrap();
/// }
/// let mut pages = Pages::new(store.as_ref(), &AuditQuery::new().limit(2));
/// let mut sizes = Vec::new();
/// while let Some(page) = pages.next_page().await.unwrap() {
///     sizes.push(page.len());
/// }
/// assert_eq!(sizes, [2, 2, 1]);
/// # });
/// ```
pub struct Pages<'a, S: AuditStore + ?Sized> {
    store: &'a S,
    query: AuditQuery,
    done: bool,
}

impl<S: AuditStore + ?Sized> std::fmt::Debug for Pages<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pages")
            .field("query", &self.query)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl<'a, S: AuditStore + ?Sized> Pages<'a, S> {
    /// The pages of `query` in `store`.
    pub fn new(store: &'a S, query: &AuditQuery) -> Self {
        let mut query = query.clone();
        query.limit = Some(query.limit.map_or(MAX_LIMIT, |l| l.clamp(1, MAX_LIMIT)));
        Self {
            store,
            query,
            done: false,
        }
    }

    /// The next page, or `None` after the last one (an empty result gives no page at all).
    ///
    /// # Errors
    ///
    /// The store's error; the iterator can be asked again (it resumes at the same page).
    pub async fn next_page(&mut self) -> Result<Option<Vec<RecordedEvent>>, AuditError> {
        if self.done {
            return Ok(None);
        }
        let page = self.store.query(&self.query).await?;
        match (&page.next_cursor, page.events.last()) {
            (Some(_), Some(last)) => self.query.cursor = Some(Cursor::after(last)),
            _ => self.done = true,
        }
        if page.events.is_empty() {
            return Ok(None);
        }
        Ok(Some(page.events))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn formula_injection_cells_are_prefixed() {
        for evil in ["=1+1", "+SUM(A1)", "-2+3", "@cmd", "\tx", "\rx"] {
            assert!(csv_safe(evil).starts_with('\''), "{evil}");
        }
    }

    proptest! {
        #[test]
        fn no_csv_cell_starts_with_a_formula_character(s in any::<String>()) {
            let c = csv_safe(&s);
            prop_assert!(!matches!(c.chars().next(), Some('=' | '+' | '-' | '@' | '\t' | '\r')));
        }
    }
}
