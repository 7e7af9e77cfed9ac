//! The verified-token cache: a token seen before skips signature verification and JSON parsing.
//!
//! Guarantees: entries are keyed by the SHA-256 digest of the whole token text, so a token that
//! differs in any byte (and cannot be made to collide with SHA-256) never hits; only tokens that
//! passed every check are inserted; every hit is re-checked by the verifier against the clock,
//! the revocation check and the key set's retire generation; the number of entries never exceeds
//! the configured capacity.
//!
//! Eviction: the cache is split into shards, each holding two maps, `current` and `previous`.
//! Inserts go to `current`; when `current` holds half of the shard's capacity, `previous` is
//! dropped and `current` becomes `previous`. A hit in `previous` moves the entry back to
//! `current`. This approximates LRU (entries used within the last half-capacity inserts of their
//! shard survive) in O(1) per operation with no per-entry bookkeeping. Expired entries are
//! removed when hit and otherwise age out through the same rotation.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::{Arc, Mutex, PoisonError};

/// SHA-256 of the whole token text.
pub(crate) type TokenDigest = [u8; 32];

/// Default number of cached tokens.
pub const DEFAULT_CACHE_CAPACITY: usize = 16_384;

const SHARDS: usize = 16;

pub(crate) fn digest_token(token: &str) -> TokenDigest {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes());
    let mut out = [0_u8; 32];
    out.copy_from_slice(digest.as_ref());
    out
}

/// A verified token's cached state.
pub(crate) struct CachedToken<C> {
    pub(crate) claims: Arc<C>,
    pub(crate) exp: i64,
    pub(crate) nbf: i64,
    pub(crate) iat: i64,
    /// The key set's retire generation when the token was verified.
    pub(crate) generation: u64,
}

impl<C> Clone for CachedToken<C> {
    fn clone(&self) -> Self {
        Self {
            claims: Arc::clone(&self.claims),
            exp: self.exp,
            nbf: self.nbf,
            iat: self.iat,
            generation: self.generation,
        }
    }
}

/// The digest is already uniformly distributed: its first eight bytes are the hash. Only tokens
/// that verified are inserted, so an attacker cannot flood one bucket without valid tokens.
#[derive(Default)]
struct DigestHasher(u64);

impl Hasher for DigestHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for (i, b) in bytes.iter().take(8).enumerate() {
            self.0 |= u64::from(*b) << (8 * i);
        }
    }
}

type DigestMap<C> = HashMap<TokenDigest, CachedToken<C>, BuildHasherDefault<DigestHasher>>;

struct Shard<C> {
    current: DigestMap<C>,
    previous: DigestMap<C>,
}

/// A bounded map from token digest to verified claims.
pub(crate) struct TokenCache<C> {
    shards: Box<[Mutex<Shard<C>>]>,
    /// Entries per map per shard (each shard holds at most twice this).
    half: usize,
}

impl<C> TokenCache<C> {
    /// A cache holding at most `capacity` entries (`capacity` at least 2).
    pub(crate) fn new(capacity: usize) -> Self {
        let shards = SHARDS.min((capacity / 2).max(1));
        let half = (capacity / shards / 2).max(1);
        let shards = (0..shards)
            .map(|_| {
                Mutex::new(Shard {
                    current: DigestMap::default(),
                    previous: DigestMap::default(),
                })
            })
            .collect();
        Self { shards, half }
    }

    fn shard(&self, digest: &TokenDigest) -> &Mutex<Shard<C>> {
        // Byte 31 is independent of the bytes the in-shard hasher uses.
        &self.shards[usize::from(digest[31]) % self.shards.len()]
    }

    pub(crate) fn get(&self, digest: &TokenDigest) -> Option<CachedToken<C>> {
        let mut shard = self
            .shard(digest)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(hit) = shard.current.get(digest) {
            return Some(hit.clone());
        }
        let promoted = shard.previous.remove(digest)?;
        let hit = promoted.clone();
        Self::insert_locked(&mut shard, self.half, *digest, promoted);
        Some(hit)
    }

    pub(crate) fn insert(&self, digest: TokenDigest, entry: CachedToken<C>) {
        let mut shard = self
            .shard(&digest)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        shard.previous.remove(&digest);
        Self::insert_locked(&mut shard, self.half, digest, entry);
    }

    pub(crate) fn remove(&self, digest: &TokenDigest) {
        let mut shard = self
            .shard(digest)
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        shard.current.remove(digest);
        shard.previous.remove(digest);
    }

    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| {
                let shard = s.lock().unwrap_or_else(PoisonError::into_inner);
                shard.current.len() + shard.previous.len()
            })
            .sum()
    }

    pub(crate) fn capacity(&self) -> usize {
        self.shards.len() * self.half * 2
    }

    fn insert_locked(
        shard: &mut Shard<C>,
        half: usize,
        digest: TokenDigest,
        entry: CachedToken<C>,
    ) {
        if shard.current.len() >= half && !shard.current.contains_key(&digest) {
            shard.previous = std::mem::take(&mut shard.current);
        }
        shard.current.insert(digest, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: i64) -> CachedToken<i64> {
        CachedToken {
            claims: Arc::new(n),
            exp: n,
            nbf: 0,
            iat: 0,
            generation: 0,
        }
    }

    fn digest(n: u32) -> TokenDigest {
        digest_token(&n.to_string())
    }

    #[test]
    fn cache_never_grows_beyond_its_capacity() {
        let cache = TokenCache::new(100);
        for n in 0..10_000 {
            cache.insert(digest(n), entry(i64::from(n)));
            assert!(cache.len() <= cache.capacity());
        }
        assert!(cache.capacity() <= 100);
    }

    #[test]
    fn recently_used_entries_survive_rotation() {
        let cache = TokenCache::new(64);
        cache.insert(digest(0), entry(0));
        for n in 1..2_000 {
            cache.insert(digest(n), entry(i64::from(n)));
            assert!(cache.get(&digest(0)).is_some(), "evicted after {n} inserts");
        }
    }

    #[test]
    fn a_different_token_text_never_hits() {
        let cache = TokenCache::new(16);
        cache.insert(digest_token("a.b.c"), entry(1));
        assert!(cache.get(&digest_token("a.b.c")).is_some());
        assert!(cache.get(&digest_token("a.b.d")).is_none());
        assert!(cache.get(&digest_token("a.b.c ")).is_none());
        cache.remove(&digest_token("a.b.c"));
        assert!(cache.get(&digest_token("a.b.c")).is_none());
    }
}
