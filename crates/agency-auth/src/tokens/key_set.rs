//! A rotating set of keys selected by `kid`: one active key signs, older keys still verify.
//!
//! Zero-downtime rotation: [`KeySet::insert`] a new key everywhere first (it verifies but does not
//! sign), then [`KeySet::activate`] it (new tokens carry its `kid`; tokens of the previous key
//! keep verifying), and once the previous key's tokens have expired, [`KeySet::retire`] it.
//! Retiring a key also invalidates every cached verification of its tokens.
//!
//! Guarantees: a token is only ever verified with the key its `kid` names, with that key's own
//! algorithm; a retired key verifies nothing, cached or not; the active key cannot be retired.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, PoisonError, RwLock};

use super::error::KeyError;
use super::jwks::Jwks;
use super::keys::{SigningKey, VerifyingKey};

/// A cheaply cloneable, shared handle to a set of keys: clones see the same keys, so an issuer
/// and a verifier built from clones of one `KeySet` rotate together.
///
/// ```
/// use agency_auth::tokens::{Algorithm, KeySet, SigningKey};
///
/// let old = SigningKey::generate(Algorithm::EdDsa).unwrap().with_kid("2026-10").unwrap();
/// let keys = KeySet::new(old);
///
/// // Rotate: the new key signs from now on, the old one still verifies.
/// let new = SigningKey::generate(Algorithm::EdDsa).unwrap().with_kid("2026-11").unwrap();
/// keys.rotate(new).unwrap();
/// assert_eq!(keys.active_kid().as_deref(), Some("2026-11"));
/// assert_eq!(keys.kids(), ["2026-10", "2026-11"]);
///
/// // Later, when every token of the old key has expired:
/// keys.retire("2026-10").unwrap();
/// assert_eq!(keys.kids(), ["2026-11"]);
/// ```
#[derive(Clone, Default)]
pub struct KeySet {
    inner: Arc<RwLock<Arc<KeySetState>>>,
}

/// One immutable version of the set; replaced as a whole on every change.
#[derive(Default)]
pub(crate) struct KeySetState {
    /// Every key that verifies, by `kid`.
    pub(crate) keys: HashMap<String, Arc<VerifyingKey>>,
    /// The keys that can sign (a subset of `keys`).
    pub(crate) signing: HashMap<String, Arc<SigningKey>>,
    pub(crate) active: Option<Arc<SigningKey>>,
    /// Bumped whenever a key leaves the set, so cached verifications made with it die.
    pub(crate) retire_generation: u64,
}

impl fmt::Debug for KeySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.snapshot();
        f.debug_struct("KeySet")
            .field("kids", &sorted_kids(&state))
            .field("active", &state.active.as_ref().map(|k| k.kid().to_owned()))
            .finish()
    }
}

impl KeySet {
    /// A key set whose only key, `signing_key`, is active.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, KeySet, SigningKey};
    /// let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    /// assert!(keys.active_kid().is_some());
    /// ```
    pub fn new(signing_key: SigningKey) -> Self {
        let mut state = KeySetState::default();
        // Adding to an empty set cannot meet a duplicate kid.
        if let Ok(key) = add_signing(&mut state, signing_key) {
            state.active = Some(key);
        }
        let set = Self::default();
        set.replace(state);
        set
    }

    /// An empty key set: verifies nothing and signs nothing until keys are added. Useful for a
    /// verify-only service that [`insert_verifying_key`](KeySet::insert_verifying_key)s the keys it
    /// trusts.
    ///
    /// ```
    /// let keys = agency_auth::tokens::KeySet::empty();
    /// assert!(keys.kids().is_empty());
    /// ```
    pub fn empty() -> Self {
        Self::default()
    }

    /// Adds a key that verifies but does not sign (yet). Inserting the same key again is a no-op;
    /// a different key under an existing `kid` is refused.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, KeySet, SigningKey};
    /// let keys = KeySet::empty();
    /// let key = SigningKey::generate(Algorithm::Es256).unwrap();
    /// keys.insert(key.clone()).unwrap();
    /// keys.insert(key).unwrap();
    /// assert_eq!(keys.kids().len(), 1);
    /// assert_eq!(keys.active_kid(), None);
    /// ```
    pub fn insert(&self, key: SigningKey) -> Result<(), KeyError> {
        self.update(|state| add_signing(state, key).map(|_| ()))
    }

    /// Adds a verify-only key (for example the public key of another service's signing key).
    /// Inserting the same key again is a no-op; a different key under an existing `kid` is
    /// refused. A verify-only key can never be activated.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, KeyError, KeySet, SigningKey};
    /// let signing = SigningKey::generate(Algorithm::EdDsa).unwrap();
    /// let keys = KeySet::empty();
    /// keys.insert_verifying_key(signing.verifying_key()).unwrap();
    /// assert_eq!(keys.kids(), [signing.kid()]);
    /// assert_eq!(keys.activate(signing.kid()), Err(KeyError::UnknownKeyId));
    /// ```
    pub fn insert_verifying_key(&self, key: VerifyingKey) -> Result<(), KeyError> {
        self.update(|state| {
            if let Some(existing) = state.keys.get(key.kid()) {
                return if existing.same_as(&key) {
                    Ok(())
                } else {
                    Err(KeyError::DuplicateKeyId)
                };
            }
            state.keys.insert(key.kid().to_owned(), Arc::new(key));
            Ok(())
        })
    }

    /// Makes the key `kid` (already in the set) the one that signs new tokens.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, KeySet, SigningKey};
    /// let keys = KeySet::empty();
    /// let key = SigningKey::generate(Algorithm::Hs256).unwrap().with_kid("k1").unwrap();
    /// keys.insert(key).unwrap();
    /// keys.activate("k1").unwrap();
    /// assert_eq!(keys.active_kid().as_deref(), Some("k1"));
    /// assert!(keys.activate("nope").is_err());
    /// ```
    pub fn activate(&self, kid: &str) -> Result<(), KeyError> {
        self.update(|state| {
            let key = state.signing.get(kid).ok_or(KeyError::UnknownKeyId)?;
            state.active = Some(Arc::clone(key));
            Ok(())
        })
    }

    /// Inserts `key` and makes it active in one step; the previous key keeps verifying.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, KeySet, SigningKey};
    /// let keys = KeySet::new(SigningKey::generate(Algorithm::Es256).unwrap());
    /// let next = SigningKey::generate(Algorithm::Es256).unwrap();
    /// let next_kid = next.kid().to_owned();
    /// keys.rotate(next).unwrap();
    /// assert_eq!(keys.active_kid(), Some(next_kid));
    /// assert_eq!(keys.kids().len(), 2);
    /// ```
    pub fn rotate(&self, key: SigningKey) -> Result<(), KeyError> {
        self.update(|state| {
            state.active = Some(add_signing(state, key)?);
            Ok(())
        })
    }

    /// Removes key `kid`: its tokens stop verifying at once, cached or not. The active key cannot
    /// be retired.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, KeyError, KeySet, SigningKey};
    /// let key = SigningKey::generate(Algorithm::Hs256).unwrap().with_kid("only").unwrap();
    /// let keys = KeySet::new(key);
    /// assert_eq!(keys.retire("only"), Err(KeyError::RetiringActiveKey));
    /// ```
    pub fn retire(&self, kid: &str) -> Result<(), KeyError> {
        self.update(|state| {
            if state.active.as_ref().is_some_and(|k| k.kid() == kid) {
                return Err(KeyError::RetiringActiveKey);
            }
            state.keys.remove(kid).ok_or(KeyError::UnknownKeyId)?;
            state.signing.remove(kid);
            state.retire_generation = state.retire_generation.wrapping_add(1);
            Ok(())
        })
    }

    /// The `kid` of the key that signs new tokens.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, KeySet, SigningKey};
    /// let key = SigningKey::generate(Algorithm::Hs256).unwrap().with_kid("a").unwrap();
    /// assert_eq!(KeySet::new(key).active_kid().as_deref(), Some("a"));
    /// ```
    pub fn active_kid(&self) -> Option<String> {
        self.snapshot().active.as_ref().map(|k| k.kid().to_owned())
    }

    /// Every `kid` in the set, sorted.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, KeySet, SigningKey};
    /// let key = SigningKey::generate(Algorithm::Hs256).unwrap().with_kid("a").unwrap();
    /// assert_eq!(KeySet::new(key).kids(), ["a"]);
    /// ```
    pub fn kids(&self) -> Vec<String> {
        sorted_kids(&self.snapshot())
    }

    /// The public keys as a JWKS document, sorted by `kid`. HS256 keys are never published, so
    /// the JWKS of an HS256-only set is empty (serve 404 for it).
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, KeySet, SigningKey};
    /// let keys = KeySet::new(SigningKey::generate(Algorithm::Rs256).unwrap());
    /// keys.insert(SigningKey::generate(Algorithm::Hs256).unwrap()).unwrap();
    /// let jwks = keys.jwks();
    /// assert_eq!(jwks.keys.len(), 1);
    /// assert_eq!(jwks.keys[0].kty, "RSA");
    /// ```
    pub fn jwks(&self) -> Jwks {
        let state = self.snapshot();
        let mut keys: Vec<_> = state
            .keys
            .values()
            .filter_map(|k| k.public_jwk().cloned())
            .collect();
        keys.sort_by(|a, b| a.kid.cmp(&b.kid));
        Jwks { keys }
    }

    pub(crate) fn snapshot(&self) -> Arc<KeySetState> {
        Arc::clone(&self.inner.read().unwrap_or_else(PoisonError::into_inner))
    }

    fn replace(&self, state: KeySetState) {
        *self.inner.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(state);
    }

    fn update(
        &self,
        change: impl FnOnce(&mut KeySetState) -> Result<(), KeyError>,
    ) -> Result<(), KeyError> {
        let mut guard = self.inner.write().unwrap_or_else(PoisonError::into_inner);
        let mut next = KeySetState {
            keys: guard.keys.clone(),
            signing: guard.signing.clone(),
            active: guard.active.clone(),
            retire_generation: guard.retire_generation,
        };
        change(&mut next)?;
        *guard = Arc::new(next);
        Ok(())
    }
}

fn sorted_kids(state: &KeySetState) -> Vec<String> {
    let mut kids: Vec<String> = state.keys.keys().cloned().collect();
    kids.sort();
    kids
}

/// Adds a signing key (and its verifying half); the same key again is a no-op.
fn add_signing(state: &mut KeySetState, key: SigningKey) -> Result<Arc<SigningKey>, KeyError> {
    let kid = key.kid().to_owned();
    if let Some(existing) = state.signing.get(&kid) {
        return if same_key(existing, &key) {
            Ok(Arc::clone(existing))
        } else {
            Err(KeyError::DuplicateKeyId)
        };
    }
    if state.keys.contains_key(&kid) {
        // A verify-only key under this kid: refuse rather than guess whether it is the same key.
        return Err(KeyError::DuplicateKeyId);
    }
    state
        .keys
        .insert(kid.clone(), Arc::new(key.verifying_key()));
    let key = Arc::new(key);
    state.signing.insert(kid, Arc::clone(&key));
    Ok(key)
}

fn same_key(a: &SigningKey, b: &SigningKey) -> bool {
    a.algorithm() == b.algorithm()
        && match (a.public_jwk(), b.public_jwk()) {
            (Some(x), Some(y)) => x == y,
            // HS256: compare the secrets in constant time.
            _ => a.secret_eq(b),
        }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::Algorithm;

    #[test]
    fn different_key_under_an_existing_kid_is_refused() {
        let a = SigningKey::generate(Algorithm::Hs256)
            .unwrap()
            .with_kid("k")
            .unwrap();
        let b = SigningKey::generate(Algorithm::Hs256)
            .unwrap()
            .with_kid("k")
            .unwrap();
        let keys = KeySet::new(a);
        assert_eq!(keys.insert(b.clone()), Err(KeyError::DuplicateKeyId));
        assert_eq!(keys.rotate(b), Err(KeyError::DuplicateKeyId));
    }

    #[test]
    fn retiring_bumps_the_generation_and_adding_does_not() {
        let keys = KeySet::new(SigningKey::generate(Algorithm::EdDsa).unwrap());
        let g0 = keys.snapshot().retire_generation;
        let next = SigningKey::generate(Algorithm::EdDsa).unwrap();
        let old = keys.active_kid().unwrap();
        keys.rotate(next).unwrap();
        assert_eq!(keys.snapshot().retire_generation, g0);
        keys.retire(&old).unwrap();
        assert_eq!(keys.snapshot().retire_generation, g0 + 1);
    }
}
