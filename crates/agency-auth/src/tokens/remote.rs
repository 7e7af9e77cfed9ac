//! Verifying tokens of an outside identity provider (Supabase, Auth0, Keycloak, ...) against the
//! provider's JWKS.
//!
//! Guarantees: keys come only from the configured [`JwksFetcher`], which has no way to be told a
//! URL, so a token's `jku`/`x5u` (refused anyway) or a URL-shaped `kid` can never make this
//! verifier fetch anything else; only asymmetric keys are used (RS256, ES256, EdDSA; `oct` keys
//! are skipped) and a token's `alg` must equal its key's; an unknown `kid` triggers at most one
//! refresh per `min_refresh_interval` (concurrent refreshes are merged), so a flood of tokens
//! with random `kid`s cannot turn into a flood of requests to the provider; keys are also
//! refreshed when older than `max_age`, and the last good keys stay in use while the provider is
//! unreachable. The raw-header, compact-form and claim checks are those of
//! [`TokenVerifier`](super::TokenVerifier); the token type is checked only when configured
//! (providers differ: `JWT`, `at+jwt`).

use crate::ErrorKind;
use std::collections::HashMap;
use std::fmt;
use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::claims::{NoExtraClaims, RawAudience, check_times};
use super::error::{KeyError, TokenError};
use super::header::{decode_part, parse_header, split_compact};
use super::jwks::{RemoteKey, parse_remote_jwks};
use super::keys::Algorithm;
use super::parties::{Audience, Issuer};
use super::verifier::{MAX_LEEWAY, accepted_algorithm, verify_signature};

/// Why a JWKS could not be fetched.
///
/// ```
/// let error = agency_auth::tokens::JwksFetchError("timed out".into());
/// assert_eq!(error.to_string(), "JWKS fetch failed: timed out");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("JWKS fetch failed: {0}")]
pub struct JwksFetchError(pub String);

impl JwksFetchError {
    /// What kind of failure this is, for mapping to a response in one place
    /// (see [`ErrorKind`]).
    ///
    /// ```
    /// use agency_auth::ErrorKind;
    /// use agency_auth::tokens::JwksFetchError;
    /// assert_eq!(JwksFetchError("timed out".into()).kind(), ErrorKind::Unavailable);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::Unavailable
    }
}

/// Fetches one provider's JWKS document. The fetcher is built with its URL; the verifier never
/// passes one, so no token can choose where keys come from.
///
/// ```
/// use agency_auth::tokens::{JwksFetchError, JwksFetcher};
///
/// /// Serves a fixed document (tests, or keys shipped with the application).
/// struct Static(Vec<u8>);
///
/// #[async_trait::async_trait]
/// impl JwksFetcher for Static {
///     async fn fetch_jwks(&self) -> Result<Vec<u8>, JwksFetchError> {
///         Ok(self.0.clone())
///     }
/// }
/// ```
#[async_trait]
pub trait JwksFetcher: Send + Sync + 'static {
    /// The JWKS document's bytes.
    async fn fetch_jwks(&self) -> Result<Vec<u8>, JwksFetchError>;
}

/// Claims of an outside provider's token: the registered claims this verifier checks, plus the
/// provider's own claims in `extra` (for Supabase e.g. `role`, `email`, `app_metadata`).
///
/// ```
/// use agency_auth::tokens::{NoExtraClaims, RemoteClaims};
/// let claims = RemoteClaims::<NoExtraClaims> {
///     sub: "u1".into(), iss: "https://idp".into(), aud: "api".into(), exp: 2_000_000_000,
///     nbf: None, iat: None, jti: None, extra: NoExtraClaims {},
/// };
/// assert_eq!(claims.sub, "u1");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteClaims<T = NoExtraClaims> {
    /// Subject.
    pub sub: String,
    /// Issuer (the configured one).
    pub iss: String,
    /// The configured audience, which the token's `aud` contained.
    pub aud: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: i64,
    /// Not before, when present.
    pub nbf: Option<i64>,
    /// Issued at, when present.
    pub iat: Option<i64>,
    /// Token id, when present.
    pub jti: Option<String>,
    /// The provider's other claims.
    #[serde(flatten)]
    pub extra: T,
}

#[derive(Deserialize)]
struct RawRemoteClaims<T> {
    sub: Option<String>,
    iss: Option<String>,
    aud: Option<RawAudience>,
    exp: Option<i64>,
    nbf: Option<i64>,
    iat: Option<i64>,
    jti: Option<String>,
    #[serde(flatten)]
    extra: T,
}

struct LoadedKeys {
    keys: HashMap<String, RemoteKey>,
    fetched_at: Instant,
}

/// Configures a [`RemoteVerifier`]; created by [`RemoteVerifier::builder`].
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use agency_auth::tokens::{Audience, Issuer, Algorithm, JwksFetchError, JwksFetcher, NoExtraClaims, RemoteVerifier};
/// # struct Empty;
/// # #[async_trait::async_trait]
/// # impl JwksFetcher for Empty {
/// #     async fn fetch_jwks(&self) -> Result<Vec<u8>, JwksFetchError> { Ok(br#"{"keys":[]}"#.to_vec()) }
/// # }
///
/// let verifier = RemoteVerifier::builder(Arc::new(Empty), Issuer::new("https://tenant.auth0.com/"), Audience::new("my-api"))
///     .algorithms(&[Algorithm::Rs256])
///     .min_refresh_interval(Duration::from_secs(60))
///     .max_age(Duration::from_secs(3600))
///     .require_type("at+jwt")
///     .build()
///     .unwrap();
/// # let _ = verifier;
///
/// // Symmetric algorithms are never accepted from an outside provider.
/// let hs = RemoteVerifier::builder(Arc::new(Empty), Issuer::new("iss"), Audience::new("aud")).algorithms(&[Algorithm::Hs256]).build();
/// assert!(hs.is_err());
/// ```
pub struct RemoteVerifierBuilder {
    fetcher: Arc<dyn JwksFetcher>,
    issuer: String,
    audience: String,
    algorithms: Vec<Algorithm>,
    leeway: Duration,
    min_refresh_interval: Duration,
    max_age: Duration,
    required_type: Option<String>,
}

impl fmt::Debug for RemoteVerifierBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteVerifierBuilder")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("algorithms", &self.algorithms)
            .finish_non_exhaustive()
    }
}

/// Default minimum time between two refreshes of a provider's JWKS.
pub const DEFAULT_MIN_REFRESH_INTERVAL: Duration = Duration::from_secs(30);
/// Default age after which a provider's JWKS is fetched again.
pub const DEFAULT_JWKS_MAX_AGE: Duration = Duration::from_secs(15 * 60);

impl RemoteVerifierBuilder {
    /// The algorithms accepted (default RS256, ES256 and EdDSA). HS256 is refused by `build`.
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # use std::sync::Arc;
    /// # struct E;
    /// # #[async_trait::async_trait]
    /// # impl JwksFetcher for E { async fn fetch_jwks(&self) -> Result<Vec<u8>, JwksFetchError> { Ok(vec![]) } }
    /// let b = RemoteVerifier::builder(Arc::new(E), Issuer::new("i"), Audience::new("a")).algorithms(&[Algorithm::Es256]);
    /// assert!(b.build().is_ok());
    /// ```
    pub fn algorithms(mut self, algorithms: &[Algorithm]) -> Self {
        self.algorithms = algorithms.to_vec();
        self
    }

    /// Clock-skew allowance; at most 60 s (`build` refuses more). Default 0.
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # use std::sync::Arc;
    /// # struct E;
    /// # #[async_trait::async_trait]
    /// # impl JwksFetcher for E { async fn fetch_jwks(&self) -> Result<Vec<u8>, JwksFetchError> { Ok(vec![]) } }
    /// let b = RemoteVerifier::builder(Arc::new(E), Issuer::new("i"), Audience::new("a")).leeway(std::time::Duration::from_secs(120));
    /// assert!(b.build().is_err());
    /// ```
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.leeway = leeway;
        self
    }

    /// Minimum time between two fetches (default [`DEFAULT_MIN_REFRESH_INTERVAL`]).
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # use std::sync::Arc;
    /// # struct E;
    /// # #[async_trait::async_trait]
    /// # impl JwksFetcher for E { async fn fetch_jwks(&self) -> Result<Vec<u8>, JwksFetchError> { Ok(vec![]) } }
    /// let b = RemoteVerifier::builder(Arc::new(E), Issuer::new("i"), Audience::new("a")).min_refresh_interval(std::time::Duration::from_secs(10));
    /// assert!(b.build().is_ok());
    /// ```
    pub fn min_refresh_interval(mut self, interval: Duration) -> Self {
        self.min_refresh_interval = interval;
        self
    }

    /// Age after which keys are fetched again on the next verification (default
    /// [`DEFAULT_JWKS_MAX_AGE`]).
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # use std::sync::Arc;
    /// # struct E;
    /// # #[async_trait::async_trait]
    /// # impl JwksFetcher for E { async fn fetch_jwks(&self) -> Result<Vec<u8>, JwksFetchError> { Ok(vec![]) } }
    /// let b = RemoteVerifier::builder(Arc::new(E), Issuer::new("i"), Audience::new("a")).max_age(std::time::Duration::from_secs(600));
    /// assert!(b.build().is_ok());
    /// ```
    pub fn max_age(mut self, max_age: Duration) -> Self {
        self.max_age = max_age;
        self
    }

    /// Require this `typ` header (compared case-insensitively, `application/` prefix allowed).
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # use std::sync::Arc;
    /// # struct E;
    /// # #[async_trait::async_trait]
    /// # impl JwksFetcher for E { async fn fetch_jwks(&self) -> Result<Vec<u8>, JwksFetchError> { Ok(vec![]) } }
    /// let b = RemoteVerifier::builder(Arc::new(E), Issuer::new("i"), Audience::new("a")).require_type("at+jwt");
    /// assert!(b.build().is_ok());
    /// ```
    pub fn require_type(mut self, typ: impl Into<String>) -> Self {
        self.required_type = Some(typ.into());
        self
    }

    /// Builds the verifier; refuses HS256, an empty algorithm list, an empty issuer or audience,
    /// and a leeway over 60 s.
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # use std::sync::Arc;
    /// # struct E;
    /// # #[async_trait::async_trait]
    /// # impl JwksFetcher for E { async fn fetch_jwks(&self) -> Result<Vec<u8>, JwksFetchError> { Ok(vec![]) } }
    /// assert!(RemoteVerifier::builder(Arc::new(E), Issuer::new("i"), Audience::new("")).build().is_err());
    /// ```
    pub fn build(self) -> Result<RemoteVerifier<NoExtraClaims>, KeyError> {
        self.build_with_claims()
    }

    /// Like [`build`](Self::build), keeping the provider's other claims as `T` (for example
    /// `serde_json::Value`, or a struct of the claims the application reads).
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # use std::sync::Arc;
    /// # struct E;
    /// # #[async_trait::async_trait]
    /// # impl JwksFetcher for E { async fn fetch_jwks(&self) -> Result<Vec<u8>, JwksFetchError> { Ok(vec![]) } }
    /// let verifier: RemoteVerifier<serde_json::Value> =
    ///     RemoteVerifier::builder(Arc::new(E), Issuer::new("i"), Audience::new("a")).build_with_claims().unwrap();
    /// # let _ = verifier;
    /// ```
    pub fn build_with_claims<T>(self) -> Result<RemoteVerifier<T>, KeyError> {
        if self.issuer.is_empty() || self.audience.is_empty() {
            return Err(KeyError::InvalidConfig(
                "issuer and audience must not be empty",
            ));
        }
        if self.algorithms.is_empty() || self.algorithms.iter().any(|a| a.is_symmetric()) {
            return Err(KeyError::InvalidConfig(
                "algorithms must be a non-empty set of RS256, ES256, EdDSA",
            ));
        }
        if self.leeway > MAX_LEEWAY {
            return Err(KeyError::InvalidConfig("leeway must be at most 60 seconds"));
        }
        Ok(RemoteVerifier {
            fetcher: self.fetcher,
            issuer: self.issuer,
            audience: self.audience,
            algorithms: self.algorithms,
            leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
            min_refresh_interval: self.min_refresh_interval,
            max_age: self.max_age,
            required_type: self.required_type,
            keys: RwLock::new(None),
            last_attempt: Mutex::new(None),
            refresh: tokio::sync::Mutex::new(()),
            claims: PhantomData,
        })
    }
}

/// Verifies tokens of an outside identity provider.
///
/// Keys come only from the configured [`JwksFetcher`]; only RS256, ES256 and EdDSA keys are used
/// and a token's `alg` must equal its key's; an unknown `kid` refreshes the keys at most once per
/// `min_refresh_interval`; keys older than `max_age` are refetched and the last good keys stay in
/// use while the provider is down. Form, header and claim checks are those of
/// [`TokenVerifier`](super::TokenVerifier) (`exp`, `iss`, `aud`, `sub` required), and `typ` only
/// when [`require_type`](RemoteVerifierBuilder::require_type) is set.
///
/// ```
/// use std::sync::Arc;
/// use agency_auth::tokens::{Audience, Issuer, JwksFetchError, JwksFetcher, NoExtraClaims, RemoteVerifier, TokenError};
///
/// struct Unreachable;
/// #[async_trait::async_trait]
/// impl JwksFetcher for Unreachable {
///     async fn fetch_jwks(&self) -> Result<Vec<u8>, JwksFetchError> { Err(JwksFetchError("down".into())) }
/// }
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let verifier = RemoteVerifier::builder(Arc::new(Unreachable), Issuer::new("https://idp/"), Audience::new("api")).build().unwrap();
/// let token = "eyJhbGciOiJSUzI1NiIsImtpZCI6ImsifQ.e30.c2ln";
/// assert_eq!(verifier.verify(token).await.unwrap_err(), TokenError::KeysUnavailable);
/// # });
/// ```
pub struct RemoteVerifier<T = NoExtraClaims> {
    fetcher: Arc<dyn JwksFetcher>,
    issuer: String,
    audience: String,
    algorithms: Vec<Algorithm>,
    leeway: i64,
    min_refresh_interval: Duration,
    max_age: Duration,
    required_type: Option<String>,
    keys: RwLock<Option<Arc<LoadedKeys>>>,
    last_attempt: Mutex<Option<Instant>>,
    /// Serialises refreshes so concurrent misses cause one fetch.
    refresh: tokio::sync::Mutex<()>,
    claims: PhantomData<fn() -> T>,
}

impl<T> fmt::Debug for RemoteVerifier<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RemoteVerifier")
            .field("issuer", &self.issuer)
            .field("audience", &self.audience)
            .field("algorithms", &self.algorithms)
            .field("min_refresh_interval", &self.min_refresh_interval)
            .field("max_age", &self.max_age)
            .finish_non_exhaustive()
    }
}

impl RemoteVerifier<NoExtraClaims> {
    /// Starts configuring a verifier for tokens with this `iss` and `aud`, whose keys `fetcher`
    /// provides.
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # use std::sync::Arc;
    /// # struct E;
    /// # #[async_trait::async_trait]
    /// # impl JwksFetcher for E { async fn fetch_jwks(&self) -> Result<Vec<u8>, JwksFetchError> { Ok(vec![]) } }
    /// let verifier = RemoteVerifier::builder(Arc::new(E), Issuer::new("https://project.supabase.co/auth/v1"), Audience::new("authenticated"))
    ///     .build()
    ///     .unwrap();
    /// # let _ = verifier;
    /// ```
    pub fn builder(
        fetcher: Arc<dyn JwksFetcher>,
        issuer: Issuer,
        audience: Audience,
    ) -> RemoteVerifierBuilder {
        RemoteVerifierBuilder {
            fetcher,
            issuer: issuer.into_string(),
            audience: audience.into_string(),
            algorithms: vec![Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa],
            leeway: Duration::ZERO,
            min_refresh_interval: DEFAULT_MIN_REFRESH_INTERVAL,
            max_age: DEFAULT_JWKS_MAX_AGE,
            required_type: None,
        }
    }
}

impl<T> RemoteVerifier<T> {
    fn current_keys(&self) -> Option<Arc<LoadedKeys>> {
        self.keys
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Fetches the JWKS unless another task just did or the last attempt is too recent.
    async fn refresh(&self, seen: Option<Instant>) -> Option<Arc<LoadedKeys>> {
        let _single_flight = self.refresh.lock().await;
        let current = self.current_keys();
        if let Some(keys) = &current
            && Some(keys.fetched_at) != seen
        {
            return current; // refreshed by another task while we waited
        }
        {
            let mut last = self
                .last_attempt
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| at.elapsed() < self.min_refresh_interval) {
                return current;
            }
            *last = Some(Instant::now());
        }
        let parsed = match self.fetcher.fetch_jwks().await {
            Ok(body) => parse_remote_jwks(&body, &self.algorithms),
            Err(error) => {
                tracing::warn!(%error, "JWKS refresh failed; keeping the previous keys");
                return current;
            }
        };
        let Some(keys) = parsed else {
            tracing::warn!("JWKS refresh returned no JWKS document; keeping the previous keys");
            return current;
        };
        let loaded = Arc::new(LoadedKeys {
            keys: keys.into_iter().collect(),
            fetched_at: Instant::now(),
        });
        *self.keys.write().unwrap_or_else(PoisonError::into_inner) = Some(Arc::clone(&loaded));
        Some(loaded)
    }
}

impl<T: DeserializeOwned> RemoteVerifier<T> {
    /// Verifies `token` against the provider's keys.
    ///
    /// ```
    /// # use agency_auth::tokens::*;
    /// # use std::sync::Arc;
    /// # struct E;
    /// # #[async_trait::async_trait]
    /// # impl JwksFetcher for E { async fn fetch_jwks(&self) -> Result<Vec<u8>, JwksFetchError> { Ok(br#"{"keys":[]}"#.to_vec()) } }
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let verifier = RemoteVerifier::builder(Arc::new(E), Issuer::new("i"), Audience::new("a")).build().unwrap();
    /// assert_eq!(verifier.verify("a.b").await.unwrap_err(), TokenError::Malformed);
    /// # });
    /// ```
    pub async fn verify(&self, token: &str) -> Result<RemoteClaims<T>, TokenError> {
        let parts = split_compact(token)?;
        let header = parse_header(parts.header)?;
        let algorithm = accepted_algorithm(&header)?;
        if !self.algorithms.contains(&algorithm) {
            return Err(TokenError::AlgorithmNotAccepted);
        }
        if let Some(required) = &self.required_type {
            let typ = header.typ.as_deref().unwrap_or_default();
            let typ = typ.strip_prefix("application/").unwrap_or(typ);
            if !typ.eq_ignore_ascii_case(required.strip_prefix("application/").unwrap_or(required))
            {
                return Err(TokenError::WrongType);
            }
        }
        let kid = header.kid.as_deref().ok_or(TokenError::UnknownKey)?;

        let mut keys = self.current_keys();
        if keys
            .as_ref()
            .is_none_or(|k| k.fetched_at.elapsed() >= self.max_age)
        {
            keys = self.refresh(keys.as_ref().map(|k| k.fetched_at)).await;
        }
        let mut loaded = keys.ok_or(TokenError::KeysUnavailable)?;
        if !loaded.keys.contains_key(kid) {
            // Maybe the provider rotated: refresh, at most once per interval.
            if let Some(refreshed) = self.refresh(Some(loaded.fetched_at)).await {
                loaded = refreshed;
            }
        }
        let key = loaded.keys.get(kid).ok_or(TokenError::UnknownKey)?;
        if key.verifier.algorithm() != algorithm {
            return Err(TokenError::AlgorithmNotAccepted);
        }
        verify_signature(&parts, &key.verifier)?;
        let payload = decode_part(parts.payload)?;
        self.check_claims(&payload)
    }

    fn check_claims(&self, payload: &[u8]) -> Result<RemoteClaims<T>, TokenError> {
        let raw: RawRemoteClaims<T> =
            serde_json::from_slice(payload).map_err(|_| TokenError::Malformed)?;
        let exp = raw.exp.ok_or(TokenError::MissingClaim("exp"))?;
        let iss = raw.iss.ok_or(TokenError::MissingClaim("iss"))?;
        let aud = raw.aud.ok_or(TokenError::MissingClaim("aud"))?;
        if iss != self.issuer {
            return Err(TokenError::InvalidIssuer);
        }
        if !aud.contains(&self.audience) {
            return Err(TokenError::InvalidAudience);
        }
        let now = OffsetDateTime::now_utc().unix_timestamp();
        check_times(exp, raw.nbf, raw.iat, now, self.leeway)?;
        Ok(RemoteClaims {
            sub: raw.sub.ok_or(TokenError::MissingClaim("sub"))?,
            iss,
            aud: self.audience.clone(),
            exp,
            nbf: raw.nbf,
            iat: raw.iat,
            jti: raw.jti,
            extra: raw.extra,
        })
    }
}
