//! The strict access-token verifier and its builder.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;
use time::OffsetDateTime;

use super::cache::{CachedToken, DEFAULT_CACHE_CAPACITY, TokenCache, digest_token};
use super::claims::{AccessClaims, ClaimRules, NoExtraClaims, check_times, parse_access_claims};
use super::crypto::KeyVerifier;
use super::error::{KeyError, TokenError};
use super::header::{
    CompactParts, RawHeader, decode_part, is_access_token_type, parse_header, split_compact,
};
use super::issuer::MAX_ACCESS_TOKEN_TTL;
use super::key_set::KeySet;
use super::keys::Algorithm;
use super::parties::{Audience, Issuer};
use crate::clock::{self, Clock};
use crate::revocation::{RevocationCheck, RevocationQuery};

/// Largest leeway a verifier accepts for clock skew.
pub const MAX_LEEWAY: Duration = Duration::from_secs(60);

/// Verifies access tokens issued with a [`KeySet`].
///
/// Every token goes through these checks, in this order, and the first failure refuses it:
///
/// 1. at most [`MAX_TOKEN_BYTES`](super::MAX_TOKEN_BYTES) long;
/// 2. a token seen before (same SHA-256 of the whole text) is answered from the cache, after
///    re-checking that its key has not been retired, its `exp`/`nbf`/`iat` against the clock and
///    the revocation check (steps 3 to 9 are what put it in the cache);
/// 3. exactly three non-empty unpadded base64url parts;
/// 4. the raw header: no duplicate members, no `crit`/`jku`/`x5u`/`x5c`/`jwk`/`enc`/`zip`/`b64`;
/// 5. `alg` is exactly one of `HS256`, `RS256`, `ES256`, `EdDSA` (so `none` in any spelling fails);
/// 6. `typ` is `at+jwt` (RFC 9068), so ID tokens or other JWTs signed by the same key cannot stand
///    in for an access token;
/// 7. `kid` names a key of the key set, and `alg` is that key's algorithm (the algorithm comes
///    from the key, never from the token: no HS/RS confusion);
/// 8. the signature verifies (ES256 signatures with r = 0 or s = 0 are refused first);
/// 9. the claims: `exp`, `iss`, `aud` and the rest present, `iss` and `aud` the configured ones,
///    `exp`, `nbf`, `iat` within the leeway (at most 60 s);
/// 10. the revocation check (an error from it refuses the token).
///
/// Cheap to share behind an `Arc`; `verify` takes `&self`.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use agency_auth::tokens::{Audience, Issuer, AccessTokenRequest, Algorithm, KeySet, SigningKey, TokenIssuer, TokenVerifier};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let keys = KeySet::new(SigningKey::generate(Algorithm::Es256).unwrap());
/// let issuer = TokenIssuer::new(keys.clone(), Issuer::new("agency-swarm"), Audience::new("swarm-api"), Duration::from_secs(3600)).unwrap();
/// let verifier = TokenVerifier::builder(keys, Issuer::new("agency-swarm"), Audience::new("swarm-api")).build().unwrap();
///
/// let issued = issuer.issue(&AccessTokenRequest::new("user-1", "default", "admin").session("s1")).unwrap();
/// let claims = verifier.verify(&issued.token).await.unwrap();
/// assert_eq!((claims.sub.as_str(), claims.tid.as_str(), claims.sid.as_deref()), ("user-1", "default", Some("s1")));
///
/// let mut forged = issued.token.clone();
/// forged.pop();
/// assert!(verifier.verify(&forged).await.is_err());
/// # });
/// ```
pub struct TokenVerifier<T = NoExtraClaims> {
    keys: KeySet,
    rules: ClaimRules,
    revocation: Option<Arc<dyn RevocationCheck>>,
    cache: Option<TokenCache<AccessClaims<T>>>,
    clock: Arc<dyn Clock>,
}

impl<T> fmt::Debug for TokenVerifier<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifier")
            .field("keys", &self.keys)
            .field("issuer", &self.rules.issuer)
            .field("audience", &self.rules.audience)
            .field("leeway_secs", &self.rules.leeway)
            .field("max_lifetime_secs", &self.rules.max_lifetime)
            .field("revocation", &self.revocation.is_some())
            .field(
                "cache_capacity",
                &self.cache.as_ref().map(TokenCache::capacity),
            )
            .finish()
    }
}

/// Configures a [`TokenVerifier`]; created by [`TokenVerifier::builder`].
///
/// ```
/// use std::time::Duration;
/// use agency_auth::tokens::{Audience, Issuer, Algorithm, KeySet, SigningKey, TokenVerifier};
///
/// let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
/// let verifier = TokenVerifier::builder(keys.clone(), Issuer::new("iss"), Audience::new("aud"))
///     .leeway(Duration::from_secs(30))
///     .cache_capacity(1_000)
///     .build()
///     .unwrap();
/// # let _ = verifier;
///
/// // More than 60 s of leeway is a configuration error.
/// let too_lax = TokenVerifier::builder(keys, Issuer::new("iss"), Audience::new("aud"))
///     .leeway(Duration::from_secs(61))
///     .build();
/// assert!(too_lax.is_err());
/// ```
pub struct TokenVerifierBuilder {
    keys: KeySet,
    issuer: String,
    audience: String,
    leeway: Duration,
    max_lifetime: Duration,
    revocation: Option<Arc<dyn RevocationCheck>>,
    cache_capacity: usize,
    clock: Arc<dyn Clock>,
}

impl fmt::Debug for TokenVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenVerifierBuilder")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("leeway", &self.leeway)
            .field("max_lifetime", &self.max_lifetime)
            .field("revocation", &self.revocation.is_some())
            .field("cache_capacity", &self.cache_capacity)
            .field("clock", &self.clock)
            .finish()
    }
}

impl TokenVerifierBuilder {
    /// Clock-skew allowance for `exp`, `nbf` and `iat`; default 0, at most [`MAX_LEEWAY`]
    /// (`build` refuses more).
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    /// let builder = TokenVerifier::builder(keys, Issuer::new("iss"), Audience::new("aud")).leeway(std::time::Duration::from_secs(5));
    /// assert!(builder.build().is_ok());
    /// ```
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Consult `check` on every successful verification, cached or not; an error from it
    /// refuses the token (fail closed).
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// use std::sync::Arc;
    /// use agency_auth::revocation::{RevocationCheck, RevocationError, RevocationQuery};
    ///
    /// struct NothingRevoked;
    /// #[async_trait::async_trait]
    /// impl RevocationCheck for NothingRevoked {
    ///     async fn is_revoked(&self, _: &RevocationQuery<'_>) -> Result<bool, RevocationError> { Ok(false) }
    /// }
    /// # let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    /// let verifier = TokenVerifier::builder(keys, Issuer::new("iss"), Audience::new("aud"))
    ///     .revocation(Arc::new(NothingRevoked))
    ///     .build()
    ///     .unwrap();
    /// # let _ = verifier;
    /// ```
    pub fn revocation(mut self, check: Arc<dyn RevocationCheck>) -> Self {
        self.revocation = Some(check);
        self
    }

    /// The longest lifetime (`exp - iat`) a token may have and still be accepted; default and
    /// maximum [`MAX_ACCESS_TOKEN_TTL`] (24 h). Set it to the issuer's lifetime
    /// ([`TokenIssuer::lifetime`](super::TokenIssuer::lifetime)).
    ///
    /// It bounds how long a revocation must be remembered: [`build`](Self::build) refuses a
    /// revocation check whose [`retention`](RevocationCheck::retention) is shorter than this
    /// plus the leeway, because a revoked token would be accepted again once its entry is
    /// purged.
    ///
    /// ```
    /// use std::time::Duration;
    /// # use agency_auth::tokens::*;
    /// # let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    /// let verifier = TokenVerifier::builder(keys.clone(), Issuer::new("iss"), Audience::new("aud"))
    ///     .max_lifetime(Duration::from_secs(3600))
    ///     .build();
    /// assert!(verifier.is_ok());
    /// assert!(TokenVerifier::builder(keys, Issuer::new("iss"), Audience::new("aud")).max_lifetime(Duration::ZERO).build().is_err());
    /// ```
    #[must_use]
    pub fn max_lifetime(mut self, lifetime: Duration) -> Self {
        self.max_lifetime = lifetime;
        self
    }

    /// Reads "now" from `clock` instead of the system clock.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use agency_auth::ManualClock;
    /// # use agency_auth::tokens::*;
    /// # let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    /// let clock = ManualClock::starting_now();
    /// let verifier = TokenVerifier::builder(keys, Issuer::new("iss"), Audience::new("aud")).clock(Arc::new(clock)).build();
    /// assert!(verifier.is_ok());
    /// ```
    #[must_use]
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Capacity of the verified-token cache (default [`DEFAULT_CACHE_CAPACITY`]); 0 turns the
    /// cache off. See the `cache` module docs for the eviction policy.
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    /// let verifier = TokenVerifier::builder(keys, Issuer::new("iss"), Audience::new("aud")).cache_capacity(0).build().unwrap();
    /// assert_eq!(verifier.cached_tokens(), 0);
    /// ```
    pub fn cache_capacity(mut self, capacity: usize) -> Self {
        self.cache_capacity = capacity;
        self
    }

    /// Builds the verifier, refusing an empty issuer or audience and a leeway over 60 s.
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    /// assert!(TokenVerifier::builder(keys, Issuer::new(""), Audience::new("aud")).build().is_err());
    /// ```
    pub fn build(self) -> Result<TokenVerifier<NoExtraClaims>, KeyError> {
        self.build_with_claims()
    }

    /// Like [`build`](Self::build), for tokens carrying application claims `T`.
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// #[derive(serde::Deserialize)]
    /// struct Scopes { scope: String }
    /// # let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    /// let verifier: TokenVerifier<Scopes> = TokenVerifier::builder(keys, Issuer::new("iss"), Audience::new("aud")).build_with_claims().unwrap();
    /// # let _ = verifier;
    /// ```
    pub fn build_with_claims<T>(self) -> Result<TokenVerifier<T>, KeyError> {
        if self.issuer.is_empty() {
            return Err(KeyError::InvalidConfig("issuer must not be empty"));
        }
        if self.audience.is_empty() {
            return Err(KeyError::InvalidConfig("audience must not be empty"));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(KeyError::InvalidConfig("leeway must be at most 60 seconds"));
        }
        if self.max_lifetime.as_secs() == 0 || self.max_lifetime > MAX_ACCESS_TOKEN_TTL {
            return Err(KeyError::InvalidConfig("max_lifetime must be 1 s to 24 h"));
        }
        // A revoked token stays verifiable (signature, `exp`) until `iat + lifetime + leeway`;
        // its revocation must outlive that, or the token works again once the entry is purged.
        let must_remember = self.max_lifetime.saturating_add(self.leeway);
        if self
            .revocation
            .as_ref()
            .and_then(|check| check.retention())
            .is_some_and(|retention| retention < must_remember)
        {
            return Err(KeyError::InvalidConfig(
                "revocation retention must be at least max_lifetime plus leeway",
            ));
        }
        // Both fit: at most 60 s and 24 h, checked above.
        let leeway = i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX);
        let max_lifetime = i64::try_from(self.max_lifetime.as_secs()).unwrap_or(i64::MAX);
        Ok(TokenVerifier {
            keys: self.keys,
            rules: ClaimRules {
                issuer: self.issuer,
                audience: self.audience,
                leeway,
                max_lifetime,
            },
            revocation: self.revocation,
            cache: (self.cache_capacity > 0).then(|| TokenCache::new(self.cache_capacity.max(2))),
            clock: self.clock,
        })
    }
}

impl TokenVerifier<NoExtraClaims> {
    /// Starts configuring a verifier for tokens signed by `keys` with this `iss` and `aud`.
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// let keys = KeySet::new(SigningKey::generate(Algorithm::EdDsa).unwrap());
    /// let verifier = TokenVerifier::builder(keys, Issuer::new("agency-swarm"), Audience::new("swarm-api")).build().unwrap();
    /// # let _ = verifier;
    /// ```
    pub fn builder(keys: KeySet, issuer: Issuer, audience: Audience) -> TokenVerifierBuilder {
        TokenVerifierBuilder {
            keys,
            issuer: issuer.into_string(),
            audience: audience.into_string(),
            leeway: Duration::ZERO,
            max_lifetime: MAX_ACCESS_TOKEN_TTL,
            revocation: None,
            cache_capacity: DEFAULT_CACHE_CAPACITY,
            clock: clock::system(),
        }
    }
}

impl<T> TokenVerifier<T> {
    /// Number of tokens currently in the verified-token cache.
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    /// let verifier = TokenVerifier::builder(keys, Issuer::new("iss"), Audience::new("aud")).build().unwrap();
    /// assert_eq!(verifier.cached_tokens(), 0);
    /// ```
    pub fn cached_tokens(&self) -> usize {
        self.cache.as_ref().map_or(0, TokenCache::len)
    }
}

impl<T: DeserializeOwned + Send + Sync + 'static> TokenVerifier<T> {
    /// Verifies `token` and returns its claims. See [`TokenVerifier`] for the checks.
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let keys = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
    /// let verifier = TokenVerifier::builder(keys, Issuer::new("iss"), Audience::new("aud")).build().unwrap();
    /// assert_eq!(verifier.verify("not a token").await.unwrap_err(), TokenError::Malformed);
    /// # });
    /// ```
    pub async fn verify(&self, token: &str) -> Result<Arc<AccessClaims<T>>, TokenError> {
        if token.len() > super::MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        let now = self.clock.now().unix_timestamp();
        let Some(cache) = &self.cache else {
            let verified = self.verify_uncached(token, now)?;
            self.check_revocation(&verified.claims).await?;
            return Ok(verified.claims);
        };
        let digest = digest_token(token);
        if let Some(hit) = cache.get(&digest) {
            if hit.generation != self.keys.snapshot().retire_generation {
                // Its key may have been retired: verify again from scratch.
                cache.remove(&digest);
            } else {
                if let Err(error) = check_times(
                    hit.exp,
                    Some(hit.nbf),
                    Some(hit.iat),
                    now,
                    self.rules.leeway,
                ) {
                    if error == TokenError::Expired {
                        cache.remove(&digest);
                    }
                    return Err(error);
                }
                self.check_revocation(&hit.claims).await?;
                return Ok(hit.claims);
            }
        }
        let verified = self.verify_uncached(token, now)?;
        self.check_revocation(&verified.claims).await?;
        let claims = Arc::clone(&verified.claims);
        cache.insert(digest, verified);
        Ok(claims)
    }

    /// Steps 3 to 9: everything but the cache and the revocation check.
    fn verify_uncached(
        &self,
        token: &str,
        now: i64,
    ) -> Result<CachedToken<AccessClaims<T>>, TokenError> {
        let parts = split_compact(token)?;
        let header = parse_header(parts.header)?;
        let header_alg = accepted_algorithm(&header)?;
        if !header.typ.as_deref().is_some_and(is_access_token_type) {
            return Err(TokenError::WrongType);
        }
        let state = self.keys.snapshot();
        let key = header
            .kid
            .as_deref()
            .and_then(|kid| state.keys.get(kid))
            .ok_or(TokenError::UnknownKey)?;
        if key.algorithm() != header_alg {
            return Err(TokenError::AlgorithmNotAccepted);
        }
        verify_signature(&parts, &key.verifier)?;
        let payload = decode_part(parts.payload)?;
        let claims = parse_access_claims::<T>(&payload, &self.rules, now)?;
        Ok(CachedToken {
            exp: claims.exp,
            nbf: claims.nbf,
            iat: claims.iat,
            claims: Arc::new(claims),
            generation: state.retire_generation,
        })
    }

    async fn check_revocation(&self, claims: &AccessClaims<T>) -> Result<(), TokenError> {
        let Some(check) = &self.revocation else {
            return Ok(());
        };
        // The millisecond instant when the issuer gave one (checked to lie within `iat`'s
        // second); otherwise the start of `iat`'s second, which a revoke-all made later in that
        // second also covers (the safe side).
        let issued_at = match claims.iat_ms {
            Some(ms) => OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
                .map_err(|_| TokenError::MissingClaim("iat_ms"))?,
            None => OffsetDateTime::from_unix_timestamp(claims.iat)
                .map_err(|_| TokenError::MissingClaim("iat"))?,
        };
        let query = RevocationQuery {
            subject: &claims.sub,
            session_id: claims.sid.as_deref(),
            token_id: &claims.jti,
            issued_at,
        };
        match check.is_revoked(&query).await {
            Ok(false) => Ok(()),
            Ok(true) => Err(TokenError::Revoked),
            Err(error) => {
                tracing::warn!(%error, "revocation check failed; refusing token");
                Err(TokenError::RevocationUnavailable)
            }
        }
    }
}

/// Step 5: the header's `alg`, exactly one of the four names (case-sensitive, as RFC 7515 says).
pub(crate) fn accepted_algorithm(header: &RawHeader) -> Result<Algorithm, TokenError> {
    header
        .alg
        .parse::<Algorithm>()
        .map_err(|_| TokenError::AlgorithmNotAccepted)
}

/// Step 8: the signature over `header.payload` with `key`, which is bound to one algorithm.
pub(crate) fn verify_signature(
    parts: &CompactParts<'_>,
    key: &KeyVerifier,
) -> Result<(), TokenError> {
    let signature = decode_part(parts.signature).map_err(|_| TokenError::InvalidSignature)?;
    if key.algorithm() == Algorithm::Es256
        && (signature.len() != 64
            || signature[..32].iter().all(|b| *b == 0)
            || signature[32..].iter().all(|b| *b == 0))
    {
        // CVE-2022-21449 ("psychic signatures"): r = 0 or s = 0 must never verify. aws-lc
        // refuses them too; this check does not depend on that.
        return Err(TokenError::InvalidSignature);
    }
    if key.verify(parts.signing_input.as_bytes(), &signature) {
        Ok(())
    } else {
        Err(TokenError::InvalidSignature)
    }
}
