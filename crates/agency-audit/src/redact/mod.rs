//! Redaction of secrets and neutralisation of control characters, applied before an event is
//! hashed or stored.
//!
//! # Matching rule
//!
//! A JSON object key is *sensitive* when its **normalised form contains** a normalised sensitive
//! word. Normalising lowercases the key and removes every character that is not an ASCII letter
//! or digit, so `X-Api-Key`, `x_api_key` and `xApiKey` all become `xapikey` and match `api_key`;
//! `clientSecret` matches `secret`, `db_password` matches `password`. The built-in words are
//! `password`, `passwd`, `pwd`, `passphrase`, `token` (which covers `access_token` and
//! `refresh_token`), `api_key`, `secret`, `authorization`, `cookie`, `credit_card`,
//! `card_number`, `cvv`, `cvc` and `private_key`; `pan` (a card's primary account number) is
//! matched only as the whole key, since as a substring it would hide `company`. Add more with
//! [`Redactor::with_sensitive_key`]. Substring matching errs towards redacting: `tokens_used`
//! is redacted too, which is the safe mistake.
//!
//! Name/value shapes are caught as well: a two-element array whose first element names a
//! sensitive key (`["Authorization", "Bearer …"]`, as header lists are often logged) has its
//! second element redacted, and so does the `value` of an object whose `name`, `key`, `header`
//! or `field` names one (`{"name": "password", "value": "…"}`).
//!
//! Values under a sensitive key are replaced whole (objects and arrays included), at any depth of
//! `old_value` and `new_value`, by `"[REDACTED]"`, or, in HMAC mode, by
//! `"hmac-sha256:<hex>"` of the value's canonical JSON under a secret key, so equal values can be
//! matched across events without being revealed (as Vault's audit devices do).
//!
//! Values nested deeper than [`MAX_DEPTH`] are replaced by `"[TRUNCATED]"`, so hostile input
//! cannot exhaust the stack later. Every string (keys and values) and every text field of the
//! event is passed through [`crate::sanitize::neutralize`].
//!
//! A string that holds a JSON object or array, or a form body (`a=1&password=…`), is parsed and
//! redacted by the same rules, and written back only if something was hidden. Credentials this
//! workspace issues, and JWTs, are recognised by their shape in every string, free-text fields
//! included ([`scrub_credentials`]): a secret that reaches the chain cannot be removed without
//! breaking verification, so the rules err on the side of hiding.

use hmac::{Hmac, Mac};
use serde_json::{Map, Value};
use sha2::Sha256;
use zeroize::Zeroizing;

mod credentials;

pub use credentials::scrub_credentials;

use crate::chain::canonical_json;
use crate::event::AuditEvent;
use crate::sanitize::{neutralize, neutralize_in_place};

/// Depth of nested JSON kept in `old_value` / `new_value`.
pub const MAX_DEPTH: usize = 64;

/// The placeholder for a redacted value.
pub const REDACTED: &str = "[REDACTED]";

const BUILT_IN: &[&str] = &[
    "password",
    "passwd",
    "token",
    "api_key",
    "secret",
    "authorization",
    "cookie",
    "credit_card",
    "private_key",
    "pwd",
    "passphrase",
    "card_number",
    "cvv",
    "cvc",
];

/// Sensitive only as the whole (normalised) key: as substrings these would hide ordinary keys.
const WHOLE_KEY_ONLY: &[&str] = &["pan"];

/// Keys of a name/value object that say which key the value belongs to.
const NAME_FIELDS: &[&str] = &["name", "key", "header", "field"];

/// Keys of a name/value object that hold the value.
const VALUE_FIELDS: &[&str] = &["value", "val", "values", "content"];

fn normalize_key(key: &str) -> String {
    key.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

/// Redacts secrets in events; cheap to clone is not needed, the writer holds one.
///
/// ```
/// use agency_audit::{AuditEvent, Redactor};
/// use serde_json::json;
/// let redactor = Redactor::new().with_sensitive_key("pin");
/// let mut event = AuditEvent::builder("user.update")
///     .new_value(json!({"name": "bob", "db_password": "hunter2", "nested": {"X-Api-Key": "k", "PIN": 1234}}))
///     .build();
/// redactor.apply(&mut event);
/// assert_eq!(event.new_value, Some(json!({"name": "bob", "db_password": "[REDACTED]",
///     "nested": {"X-Api-Key": "[REDACTED]", "PIN": "[REDACTED]"}})));
/// ```
pub struct Redactor {
    words: Vec<String>,
    hmac_key: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for Redactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redactor")
            .field("words", &self.words)
            .field("hmac_key", &self.hmac_key.as_ref().map(|_| "[REDACTED]"))
            .finish()
    }
}

impl Default for Redactor {
    fn default() -> Self {
        Self::new()
    }
}

impl Redactor {
    /// A redactor with the built-in sensitive words, replacing values by `"[REDACTED]"`.
    pub fn new() -> Self {
        Redactor {
            words: BUILT_IN.iter().map(|w| normalize_key(w)).collect(),
            hmac_key: None,
        }
    }

    /// Adds a sensitive word (normalised like keys; empty words are ignored).
    pub fn with_sensitive_key(mut self, word: &str) -> Self {
        let w = normalize_key(word);
        if !w.is_empty() && !self.words.contains(&w) {
            self.words.push(w);
        }
        self
    }

    /// Switches to HMAC mode: sensitive values become `hmac-sha256:<hex>` under `key`. The key is
    /// held zeroized and never printed. Keys shorter than 32 bytes are refused.
    ///
    /// ```
    /// use agency_audit::Redactor;
    /// let r = Redactor::new().with_hmac_key(vec![7u8; 32]).unwrap();
    /// assert!(format!("{r:?}").contains("[REDACTED]"));
    /// assert!(Redactor::new().with_hmac_key(vec![1u8; 8]).is_err());
    /// ```
    pub fn with_hmac_key(mut self, key: Vec<u8>) -> Result<Self, crate::AuditError> {
        let key = Zeroizing::new(key);
        if key.len() < 32 {
            return Err(crate::AuditError::InvalidKey(
                "HMAC redaction key must be at least 32 bytes",
            ));
        }
        self.hmac_key = Some(key);
        Ok(self)
    }

    /// Whether a key name is sensitive under this redactor's rule.
    ///
    /// ```
    /// let r = agency_audit::Redactor::new();
    /// assert!(r.is_sensitive("clientSecret"));
    /// assert!(r.is_sensitive("Refresh-Token"));
    /// assert!(!r.is_sensitive("author"));
    /// ```
    pub fn is_sensitive(&self, key: &str) -> bool {
        // Normalise into a stack buffer: this runs for every key of every recorded value.
        let mut buf = [0u8; 64];
        let mut len = 0;
        for b in key.bytes().filter(u8::is_ascii_alphanumeric) {
            if len == buf.len() {
                // Longer than any whole-key-only word, so only substrings can match.
                let k = normalize_key(key);
                return self.words.iter().any(|w| k.contains(w.as_str()));
            }
            buf[len] = b.to_ascii_lowercase();
            len += 1;
        }
        let k = &buf[..len];
        WHOLE_KEY_ONLY.iter().any(|w| k == w.as_bytes())
            || self
                .words
                .iter()
                .any(|w| k.windows(w.len()).any(|win| win == w.as_bytes()))
    }

    /// Neutralises control characters in every text field and redacts old and new values.
    pub fn apply(&self, event: &mut AuditEvent) {
        for field in [
            &mut event.actor_id,
            &mut event.actor,
            &mut event.tenant_id,
            &mut event.resource_type,
            &mut event.resource_id,
            &mut event.user_agent,
            &mut event.error_message,
            &mut event.request_id,
        ]
        .into_iter()
        .flatten()
        {
            neutralize_in_place(field);
            scrub_in_place(field);
        }
        neutralize_in_place(&mut event.action);
        // A JSON null reads back as an absent value; store it as absent so hashes reproduce.
        if event.old_value.as_ref().is_some_and(Value::is_null) {
            event.old_value = None;
        }
        if event.new_value.as_ref().is_some_and(Value::is_null) {
            event.new_value = None;
        }
        if let Some(v) = event.old_value.as_mut() {
            self.redact_value(v, 0);
        }
        if let Some(v) = event.new_value.as_mut() {
            self.redact_value(v, 0);
        }
    }

    fn replacement(&self, value: &Value) -> Value {
        match &self.hmac_key {
            None => Value::String(REDACTED.to_owned()),
            Some(key) => {
                let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
                    return Value::String(REDACTED.to_owned());
                };
                mac.update(canonical_json(value).as_bytes());
                Value::String(format!(
                    "hmac-sha256:{}",
                    hex::encode(mac.finalize().into_bytes())
                ))
            }
        }
    }

    fn redact_value(&self, value: &mut Value, depth: usize) {
        if depth >= MAX_DEPTH {
            *value = Value::String("[TRUNCATED]".to_owned());
            return;
        }
        match value {
            Value::String(s) => {
                neutralize_in_place(s);
                self.redact_embedded(s, depth);
                scrub_in_place(s);
            }
            Value::Array(items) => {
                // `["Authorization", "Bearer …"]`: a name followed by its value.
                let named_secret = items.len() == 2
                    && items
                        .first()
                        .and_then(Value::as_str)
                        .is_some_and(|name| self.is_sensitive(name));
                for (i, item) in items.iter_mut().enumerate() {
                    if named_secret && i == 1 {
                        *item = self.replacement(item);
                    } else {
                        self.redact_value(item, depth + 1);
                    }
                }
            }
            Value::Object(map) => {
                // `{"name": "password", "value": "…"}`: the value belongs to a sensitive name.
                let named_secret = NAME_FIELDS.iter().any(|field| {
                    map.get(*field)
                        .and_then(Value::as_str)
                        .is_some_and(|name| self.is_sensitive(name))
                });
                // In place: most objects have clean keys, so nothing is reallocated.
                for (k, v) in map.iter_mut() {
                    let holds_named_value =
                        named_secret && VALUE_FIELDS.iter().any(|f| k.eq_ignore_ascii_case(f));
                    if holds_named_value || self.is_sensitive(k) {
                        *v = self.replacement(v);
                    } else {
                        self.redact_value(v, depth + 1);
                    }
                }
                if map
                    .keys()
                    .any(|k| k.chars().any(crate::sanitize::is_dangerous))
                {
                    let old = std::mem::take(map);
                    *map = old
                        .into_iter()
                        .map(|(k, v)| (neutralize(&k).into_owned(), v))
                        .collect::<Map<_, _>>();
                }
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }

    /// A string holding a JSON object or array, or a form body, is redacted as what it holds;
    /// it is rewritten only when something in it was hidden.
    fn redact_embedded(&self, s: &mut String, depth: usize) {
        let trimmed = s.trim_start();
        if trimmed.starts_with('{') || trimmed.starts_with('[') {
            if let Ok(parsed) = serde_json::from_str::<Value>(s) {
                let mut redacted = parsed.clone();
                self.redact_value(&mut redacted, depth + 1);
                if redacted != parsed {
                    *s = redacted.to_string();
                }
            }
            return;
        }
        if s.contains('=') && !s.contains(char::is_whitespace) {
            let mut changed = false;
            let parts: Vec<String> = s
                .split('&')
                .map(|part| match part.split_once('=') {
                    Some((name, _)) if self.is_sensitive(name) => {
                        changed = true;
                        format!("{name}={REDACTED}")
                    }
                    _ => part.to_owned(),
                })
                .collect();
            if changed {
                *s = parts.join("&");
            }
        }
    }
}

fn scrub_in_place(s: &mut String) {
    if let std::borrow::Cow::Owned(clean) = scrub_credentials(s) {
        *s = clean;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sanitize::is_dangerous;
    use proptest::prelude::*;
    use serde_json::json;

    fn event_with(v: Value) -> AuditEvent {
        AuditEvent::builder("config.update")
            .new_value(v.clone())
            .old_value(v)
            .build()
    }

    #[test]
    fn password_in_nested_array_is_redacted() {
        let r = Redactor::new();
        let mut e = event_with(
            json!({"users": [{"name": "a", "password": "p1"}, {"creds": {"access_token": "t"}}]}),
        );
        r.apply(&mut e);
        let s = e.new_value.unwrap().to_string();
        assert!(!s.contains("p1") && !s.contains("\"t\""), "{s}");
        assert!(!e.old_value.unwrap().to_string().contains("p1"));
    }

    #[test]
    fn compound_and_case_variants_are_caught() {
        let r = Redactor::new();
        for k in [
            "Authorization",
            "x-api-key",
            "clientSecret",
            "db_password",
            "Set-Cookie",
            "creditCard",
            "REFRESH_TOKEN",
            "ssh.private-key",
        ] {
            assert!(r.is_sensitive(k), "{k}");
        }
        for k in ["name", "author", "state", "agent_id"] {
            assert!(!r.is_sensitive(k), "{k}");
        }
    }

    /// The leaks a review found, each as it would reach the log.
    #[test]
    fn common_secret_names_and_shapes_are_redacted() {
        let r = Redactor::new();
        let jwt = "eyJhbGciOiJFUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1In0.c2lnbmF0dXJl";
        let api_key =
            "agk_abcdefghijklmnopqrstuvwx_abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx";
        let refresh = "rt_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB";
        let v = json!({
            "pwd": "s1", "passphrase": "s2", "card_number": "s3", "cardNumber": "s4",
            "cvv": "s5", "cvc": "s6", "pan": "s7",
            "headers": [["Authorization", format!("Bearer {jwt}")], ["Accept", "text/html"]],
            "fields": [{"name": "password", "value": "s8"}, {"name": "user", "value": "bob"}],
            "body": "{\"user\":\"bob\",\"password\":\"s9\"}",
            "form": "user=bob&password=s10&remember=1",
            "note": format!("retry with {api_key}"),
            "refresh": refresh,
            "company": "acme",
        });
        let mut e = AuditEvent::builder("http.request")
            .new_value(v)
            .failure(format!("token {jwt} was refused"))
            .build();
        r.apply(&mut e);
        let out = e.new_value.clone().unwrap().to_string();
        for secret in [
            "s1\"", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10", jwt, api_key, refresh,
        ] {
            assert!(!out.contains(secret), "{secret} leaked: {out}");
        }
        assert!(!e.error_message.as_deref().unwrap().contains(jwt));
        // Positive controls: ordinary values stay readable.
        for kept in ["acme", "text/html", "bob", "remember=1", "retry with"] {
            assert!(out.contains(kept), "{kept} was hidden: {out}");
        }
        assert!(!r.is_sensitive("company") && r.is_sensitive("PAN"));
    }

    #[test]
    fn secret_object_is_replaced_whole() {
        let r = Redactor::new();
        let mut e = event_with(json!({"secret": {"a": "b"}}));
        r.apply(&mut e);
        assert_eq!(e.new_value, Some(json!({"secret": "[REDACTED]"})));
    }

    #[test]
    fn hmac_mode_matches_equal_values_without_revealing_them() {
        let r = Redactor::new().with_hmac_key(vec![9u8; 32]).unwrap();
        let mut a = event_with(json!({"token": "abc"}));
        let mut b = event_with(json!({"token": "abc"}));
        let mut c = event_with(json!({"token": "abd"}));
        r.apply(&mut a);
        r.apply(&mut b);
        r.apply(&mut c);
        assert_eq!(a.new_value, b.new_value);
        assert_ne!(a.new_value, c.new_value);
        let s = a.new_value.unwrap().to_string();
        assert!(s.contains("hmac-sha256:") && !s.contains("abc"));
    }

    #[test]
    fn deeply_nested_value_is_truncated() {
        let mut v = json!("leaf");
        for _ in 0..200 {
            v = json!([v]);
        }
        let mut e = event_with(v);
        Redactor::new().apply(&mut e);
        assert!(e.new_value.unwrap().to_string().contains("[TRUNCATED]"));
    }

    #[test]
    fn control_characters_in_keys_and_fields_are_neutralised() {
        let mut e = AuditEvent::builder("auth.login\n")
            .actor(crate::ActorKind::User, "id\r", "evil\u{1b}[31m")
            .user_agent("ua\u{202e}")
            .new_value(json!({"k\n": "v\u{2028}"}))
            .build();
        Redactor::new().apply(&mut e);
        let s = serde_json::to_string(&e).unwrap();
        let back: AuditEvent = serde_json::from_str(&s).unwrap();
        let all = format!(
            "{:?}{:?}{:?}{:?}{}",
            back.action,
            back.actor_id,
            back.actor,
            back.user_agent,
            back.new_value.unwrap()
        );
        assert!(!all.chars().any(is_dangerous));
        assert!(!e.actor.unwrap().contains('\u{1b}'));
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|n| json!(n)),
            any::<String>().prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 32, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map(
                    prop_oneof![
                        any::<String>(),
                        Just("password".to_owned()),
                        Just("X-Api-Key".to_owned())
                    ],
                    inner,
                    0..4
                )
                .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    fn strings_in(v: &Value, out: &mut Vec<String>) {
        match v {
            Value::String(s) => out.push(s.clone()),
            Value::Array(a) => a.iter().for_each(|x| strings_in(x, out)),
            Value::Object(m) => m.iter().for_each(|(k, x)| {
                out.push(k.clone());
                strings_in(x, out)
            }),
            _ => {}
        }
    }

    fn no_secret_left(r: &Redactor, v: &Value) -> bool {
        match v {
            Value::Array(a) => a.iter().all(|x| no_secret_left(r, x)),
            Value::Object(m) => m.iter().all(|(k, x)| {
                if r.is_sensitive(k) {
                    x == &json!(REDACTED)
                } else {
                    no_secret_left(r, x)
                }
            }),
            _ => true,
        }
    }

    proptest! {
        #[test]
        fn stack_matching_agrees_with_the_documented_rule(key in ".{0,100}", word in "[a-zA-Z_-]{1,12}") {
            let r = Redactor::new().with_sensitive_key(&word);
            let k = normalize_key(&key);
            let expected = WHOLE_KEY_ONLY.contains(&k.as_str()) || r.words.iter().any(|w| k.contains(w.as_str()));
            prop_assert_eq!(r.is_sensitive(&key), expected);
        }

        #[test]
        fn redacted_values_hold_no_secret_and_no_control_character(v in arb_json(), actor in any::<String>()) {
            let r = Redactor::new();
            let mut e = AuditEvent::builder("x").actor(crate::ActorKind::User, actor.clone(), actor).new_value(v).build();
            r.apply(&mut e);
            let nv = e.new_value.unwrap_or(Value::Null);
            prop_assert!(no_secret_left(&r, &nv));
            let mut strings = Vec::new();
            strings_in(&nv, &mut strings);
            strings.push(e.actor.unwrap());
            strings.push(e.actor_id.unwrap());
            for s in strings {
                prop_assert!(!s.chars().any(is_dangerous));
            }
        }
    }
}
