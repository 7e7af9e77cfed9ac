//! JWT access tokens: issue and verify HS256, RS256, ES256 and EdDSA tokens with a rotating key
//! set, publish the public keys as a JWKS, and verify tokens of outside identity providers.
//!
//! # What this module guarantees
//!
//! - **The algorithm comes from the key.** A token's `kid` selects a key of the configured
//!   [`KeySet`]; the token's `alg` must be exactly that key's algorithm. An HS256 token "signed"
//!   with an RSA public key as HMAC secret, `alg: none` in any spelling, and every other
//!   confusion are refused.
//! - **Strict form.** Tokens over 8 KiB and anything but a three-part compact JWS (JWE, JSON
//!   serialisation, whitespace, padding, empty parts) are refused before any decoding. Headers
//!   with `crit`, `jku`, `x5u`, `x5c`, `jwk` (and `enc`, `zip`, `b64`) or duplicate members are
//!   refused: the raw header JSON is read here, because jsonwebtoken's `Header` ignores them.
//! - **Strict claims.** `exp`, `iss` and `aud` (and, for this crate's own tokens, `nbf`, `iat`,
//!   `sub`, `jti`, `tid`, `role`) are required; `iss` and `aud` must be the configured ones;
//!   `exp`, `nbf` and `iat` are checked with a leeway of at most 60 s.
//! - **Token types cannot be swapped.** Access tokens carry `typ: "at+jwt"` (RFC 9068) and the
//!   verifier requires it, so an ID token or another JWT signed by the same key is refused.
//! - **ES256 all-zero signatures** (r = 0 or s = 0, CVE-2022-21449) are refused explicitly.
//! - **Revocation on every use.** With a [`RevocationCheck`](crate::revocation::RevocationCheck),
//!   every successful verification, cached or not, asks it about the token's `sid`/`jti`/`sub`;
//!   an error refuses the token.
//! - **A cache that cannot be fooled.** Verified tokens are cached under the SHA-256 of the
//!   whole token text (no altered token can hit), bounded in size, and every hit re-checks the
//!   clock, revocation and whether the signing key was retired.
//! - **Keys.** HS256 secrets are at least 32 bytes, RSA keys at least 2048 bits; secrets and
//!   private keys are zeroized on drop and never shown by `Debug`; HS256 keys are never
//!   published.
//! - **Errors never echo token contents.** See [`TokenError`].
//!
//! Crypto backend: jsonwebtoken with `aws_lc_rs` (see `docs/tokens.md`): the `rust_crypto`
//! backend pulls the `rsa` crate with RUSTSEC-2023-0071 (Marvin timing attack, which matters
//! because this crate signs RS256) and is several times slower for RS256 and ES256. Tokens are
//! signed by `jsonwebtoken::encode`; verification uses the same aws-lc-rs primitives with keys
//! parsed once and bound to one algorithm.
//!
//! # Example
//!
//! ```
//! use std::time::Duration;
//! use agency_auth::tokens::{Audience, Issuer, AccessTokenRequest, Algorithm, KeySet, SigningKey, TokenIssuer, TokenVerifier};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let keys = KeySet::new(SigningKey::generate(Algorithm::EdDsa).unwrap());
//! let issuer = TokenIssuer::new(keys.clone(), Issuer::new("agency-swarm"), Audience::new("swarm-api"), Duration::from_secs(3600)).unwrap();
//! let verifier = TokenVerifier::builder(keys.clone(), Issuer::new("agency-swarm"), Audience::new("swarm-api"))
//!     .leeway(Duration::from_secs(30))
//!     .build()
//!     .unwrap();
//!
//! let issued = issuer.issue(&AccessTokenRequest::new("user-1", "default", "admin").session("s-1")).unwrap();
//! let claims = verifier.verify(&issued.token).await.unwrap();
//! assert_eq!(claims.role, "admin");
//!
//! // Publish the public keys at /.well-known/jwks.json.
//! let jwks = serde_json::to_string(&keys.jwks()).unwrap();
//! assert!(jwks.contains("\"kty\":\"OKP\""));
//! # });
//! ```

mod cache;
mod claims;
mod crypto;
mod error;
mod header;
#[cfg(feature = "jwks-http")]
mod http;
mod issuer;
mod jwks;
mod key_set;
mod keys;
mod parties;
mod remote;
mod verifier;

pub use cache::DEFAULT_CACHE_CAPACITY;
pub use claims::{AccessClaims, NoExtraClaims};
pub use error::{KeyError, TokenError};
pub use header::{MAX_HEADER_PARAMS, MAX_TOKEN_BYTES};
#[cfg(feature = "jwks-http")]
pub use http::{HttpJwksFetcher, HttpJwksFetcherBuilder};
pub use issuer::{
    ACCESS_TOKEN_TYPE, AccessTokenRequest, IssuedToken, MAX_ACCESS_TOKEN_TTL, TokenIssuer,
};
pub use jwks::{Jwks, PublicJwk};
pub use key_set::KeySet;
pub use keys::{
    Algorithm, MIN_HS256_SECRET_BYTES, MIN_RSA_BITS, RsaKeySize, SigningKey, VerifyingKey,
};
pub use parties::{Audience, Issuer};
pub use remote::{
    DEFAULT_JWKS_MAX_AGE, DEFAULT_MIN_REFRESH_INTERVAL, JwksFetchError, JwksFetcher, RemoteClaims,
    RemoteVerifier, RemoteVerifierBuilder,
};
pub use verifier::{MAX_LEEWAY, TokenVerifier, TokenVerifierBuilder};
