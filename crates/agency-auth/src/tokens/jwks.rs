//! JSON Web Key Sets (RFC 7517): publishing the public keys of a [`KeySet`](super::KeySet) and
//! reading the keys of an outside identity provider.
//!
//! Guarantees: only public, signature keys are ever published (HS256 secrets never are); when
//! reading a provider's set, symmetric (`oct`) keys, keys carrying private parts, encryption keys
//! and keys too weak for their algorithm are skipped, and every accepted key is bound to exactly
//! one algorithm.

use aws_lc_rs::encoding::AsDer as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};

use super::crypto::KeyVerifier;
use super::keys::{Algorithm, MIN_RSA_BITS, b64url};

/// One public key as a JWK: `kid`, `kty`, `alg`, `use: "sig"`, and the key's parameters
/// (`n`/`e` for RSA, `crv`/`x`/`y` for EC, `crv`/`x` for OKP).
///
/// ```
/// use agency_auth::tokens::{Algorithm, SigningKey};
///
/// let key = SigningKey::generate(Algorithm::EdDsa).unwrap();
/// let jwk = key.public_jwk().unwrap();
/// assert_eq!((jwk.kty.as_str(), jwk.alg.as_str(), jwk.use_.as_str()), ("OKP", "EdDSA", "sig"));
/// assert_eq!(jwk.kid, key.kid());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicJwk {
    /// Key id, matched against the token header's `kid`.
    pub kid: String,
    /// Key type: `RSA`, `EC` or `OKP`.
    pub kty: String,
    /// The one algorithm this key is used with.
    pub alg: String,
    /// Always `sig`.
    #[serde(rename = "use")]
    pub use_: String,
    /// RSA modulus (base64url, big-endian).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub n: Option<String>,
    /// RSA public exponent (base64url, big-endian).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub e: Option<String>,
    /// Curve: `P-256` or `Ed25519`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub crv: Option<String>,
    /// EC x coordinate, or the Ed25519 public key.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub x: Option<String>,
    /// EC y coordinate.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub y: Option<String>,
}

impl PublicJwk {
    pub(crate) fn rsa(n: &[u8], e: &[u8]) -> Self {
        Self::empty("RSA", Some(b64url(n)), Some(b64url(e)), None, None, None)
    }

    pub(crate) fn ec_p256(x: &[u8], y: &[u8]) -> Self {
        Self::empty(
            "EC",
            None,
            None,
            Some("P-256"),
            Some(b64url(x)),
            Some(b64url(y)),
        )
    }

    pub(crate) fn ed25519(x: &[u8]) -> Self {
        Self::empty("OKP", None, None, Some("Ed25519"), Some(b64url(x)), None)
    }

    fn empty(
        kty: &str,
        n: Option<String>,
        e: Option<String>,
        crv: Option<&str>,
        x: Option<String>,
        y: Option<String>,
    ) -> Self {
        Self {
            kid: String::new(),
            kty: kty.to_owned(),
            alg: String::new(),
            use_: "sig".to_owned(),
            n,
            e,
            crv: crv.map(str::to_owned),
            x,
            y,
        }
    }

    /// The RFC 7638 JWK thumbprint (SHA-256, base64url): a stable id derived from the public key.
    pub(crate) fn thumbprint(&self) -> String {
        let opt = |v: &Option<String>| v.clone().unwrap_or_default();
        // Members in lexicographic order, no whitespace, as RFC 7638 section 3 requires.
        let canonical = match self.kty.as_str() {
            "RSA" => format!(
                r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
                opt(&self.e),
                opt(&self.n)
            ),
            "EC" => format!(
                r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#,
                opt(&self.crv),
                opt(&self.x),
                opt(&self.y)
            ),
            _ => format!(
                r#"{{"crv":"{}","kty":"OKP","x":"{}"}}"#,
                opt(&self.crv),
                opt(&self.x)
            ),
        };
        b64url(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, canonical.as_bytes()).as_ref())
    }
}

/// A JWKS document: `{"keys": [...]}`, as served at `/.well-known/jwks.json`.
///
/// ```
/// use agency_auth::tokens::{Algorithm, KeySet, SigningKey};
///
/// let keys = KeySet::new(SigningKey::generate(Algorithm::Es256).unwrap());
/// let jwks = keys.jwks();
/// assert_eq!(jwks.keys.len(), 1);
/// let json = serde_json::to_value(&jwks).unwrap();
/// assert_eq!(json["keys"][0]["use"], "sig");
///
/// // An HS256-only key set publishes nothing: the server answers 404.
/// let hs = KeySet::new(SigningKey::generate(Algorithm::Hs256).unwrap());
/// assert!(hs.jwks().is_empty());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwks {
    /// The public keys.
    pub keys: Vec<PublicJwk>,
}

impl Jwks {
    /// True when there is no key to publish (HS256-only key sets).
    ///
    /// ```
    /// assert!(agency_auth::tokens::Jwks::default().is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

/// A key read from an outside provider's JWKS, bound to one algorithm.
#[derive(Clone)]
pub(crate) struct RemoteKey {
    pub(crate) verifier: KeyVerifier,
}

/// The members of a provider's JWK this crate looks at; anything else is ignored.
#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    kid: Option<String>,
    alg: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    crv: Option<String>,
    n: Option<String>,
    e: Option<String>,
    x: Option<String>,
    y: Option<String>,
    d: Option<serde_json::Value>,
    k: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawJwks {
    keys: Vec<serde_json::Value>,
}

/// Most keys a provider's JWKS may hold; more is refused as a whole.
pub(crate) const MAX_REMOTE_KEYS: usize = 64;

/// Parses a provider's JWKS, keeping only usable signature keys whose algorithm is in `allowed`.
/// `None` when the document itself is not a JWKS.
pub(crate) fn parse_remote_jwks(
    body: &[u8],
    allowed: &[Algorithm],
) -> Option<Vec<(String, RemoteKey)>> {
    let raw: RawJwks = serde_json::from_slice(body).ok()?;
    if raw.keys.len() > MAX_REMOTE_KEYS {
        return None;
    }
    let mut out = Vec::with_capacity(raw.keys.len());
    let mut ambiguous: Vec<String> = Vec::new();
    for value in raw.keys {
        // One odd key (an encryption key, an unknown kty) must not make the whole set unusable.
        let Ok(jwk) = serde_json::from_value::<RawJwk>(value) else {
            continue;
        };
        let Some((kid, key)) = remote_key(&jwk, allowed) else {
            continue;
        };
        if ambiguous.contains(&kid) {
            continue;
        }
        if out
            .iter()
            .any(|(existing, _): &(String, RemoteKey)| *existing == kid)
        {
            // Two keys under one kid: ambiguous, use none of them.
            out.retain(|(existing, _)| *existing != kid);
            ambiguous.push(kid);
            continue;
        }
        out.push((kid, key));
    }
    Some(out)
}

fn remote_key(jwk: &RawJwk, allowed: &[Algorithm]) -> Option<(String, RemoteKey)> {
    let kid = jwk
        .kid
        .as_ref()
        .filter(|k| !k.is_empty() && k.len() <= 256)?
        .clone();
    if jwk.d.is_some() || jwk.k.is_some() {
        return None; // private or symmetric material: never trust a set that publishes it
    }
    if jwk.use_.as_deref().is_some_and(|u| u != "sig") {
        return None;
    }
    if jwk
        .key_ops
        .as_ref()
        .is_some_and(|ops| !ops.iter().any(|op| op == "verify"))
    {
        return None;
    }
    let decode = |v: &Option<String>| v.as_ref().and_then(|s| URL_SAFE_NO_PAD.decode(s).ok());
    let verifier = match (jwk.kty.as_deref()?, jwk.alg.as_deref()) {
        ("RSA", Some("RS256") | None) => {
            let n = decode(&jwk.n)?;
            let e = decode(&jwk.e)?;
            let bits = n.iter().skip_while(|b| **b == 0).count() * 8;
            if bits < MIN_RSA_BITS || e.is_empty() || e.len() > 8 {
                return None;
            }
            // aws-lc builds the SubjectPublicKeyInfo and refuses invalid components.
            let components = aws_lc_rs::rsa::PublicKeyComponents {
                n: &n[..],
                e: &e[..],
            };
            let spki = components.as_der().ok()?;
            KeyVerifier::public(Algorithm::Rs256, spki.as_ref()).ok()?
        }
        ("EC", Some("ES256") | None) if jwk.crv.as_deref() == Some("P-256") => {
            let x = decode(&jwk.x)?;
            let y = decode(&jwk.y)?;
            if x.len() != 32 || y.len() != 32 {
                return None;
            }
            let mut point = Vec::with_capacity(65);
            point.push(4);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            KeyVerifier::public(Algorithm::Es256, &point).ok()?
        }
        ("OKP", Some("EdDSA" | "Ed25519") | None) if jwk.crv.as_deref() == Some("Ed25519") => {
            let x = decode(&jwk.x)?;
            if x.len() != 32 {
                return None;
            }
            KeyVerifier::public(Algorithm::EdDsa, &x).ok()?
        }
        _ => return None,
    };
    allowed
        .contains(&verifier.algorithm())
        .then_some((kid, RemoteKey { verifier }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokens::SigningKey;

    const ALL: [Algorithm; 3] = [Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa];

    #[test]
    fn published_jwks_reads_back_as_remote_keys() {
        let mut keys = Vec::new();
        for alg in ALL {
            keys.push(
                SigningKey::generate(alg)
                    .unwrap()
                    .public_jwk()
                    .unwrap()
                    .clone(),
            );
        }
        let body = serde_json::to_vec(&Jwks { keys }).unwrap();
        let parsed = parse_remote_jwks(&body, &ALL).unwrap();
        let algs: Vec<_> = parsed.iter().map(|(_, k)| k.verifier.algorithm()).collect();
        assert_eq!(algs, ALL);
    }

    #[test]
    fn symmetric_and_private_keys_in_a_provider_jwks_are_skipped() {
        let body = br#"{"keys":[
            {"kty":"oct","kid":"h","alg":"HS256","k":"c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0"},
            {"kty":"EC","kid":"p","crv":"P-256","x":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","y":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA","d":"AAAA"}
        ]}"#;
        assert!(parse_remote_jwks(body, &ALL).unwrap().is_empty());
    }

    #[test]
    fn jwk_alg_mismatching_its_key_type_is_skipped() {
        let mut jwk = SigningKey::generate(Algorithm::Es256)
            .unwrap()
            .public_jwk()
            .unwrap()
            .clone();
        jwk.alg = "RS256".into();
        let body = serde_json::to_vec(&Jwks { keys: vec![jwk] }).unwrap();
        assert!(parse_remote_jwks(&body, &ALL).unwrap().is_empty());
    }

    #[test]
    fn encryption_keys_and_disallowed_algorithms_are_skipped() {
        let mut enc = SigningKey::generate(Algorithm::EdDsa)
            .unwrap()
            .public_jwk()
            .unwrap()
            .clone();
        enc.use_ = "enc".into();
        let ed = SigningKey::generate(Algorithm::EdDsa)
            .unwrap()
            .public_jwk()
            .unwrap()
            .clone();
        let body = serde_json::to_vec(&Jwks {
            keys: vec![enc, ed],
        })
        .unwrap();
        assert!(
            parse_remote_jwks(&body, &[Algorithm::Rs256])
                .unwrap()
                .is_empty()
        );
        assert_eq!(parse_remote_jwks(&body, &ALL).unwrap().len(), 1);
    }

    #[test]
    fn rsa_jwk_under_2048_bits_is_skipped() {
        let n = b64url(&[0xC5; 128]); // 1024-bit modulus
        let body = format!(
            r#"{{"keys":[{{"kty":"RSA","kid":"weak","alg":"RS256","n":"{n}","e":"AQAB"}}]}}"#
        );
        assert!(parse_remote_jwks(body.as_bytes(), &ALL).unwrap().is_empty());
    }

    #[test]
    fn jwks_with_too_many_keys_or_not_a_jwks_is_refused() {
        let jwk = SigningKey::generate(Algorithm::EdDsa)
            .unwrap()
            .public_jwk()
            .unwrap()
            .clone();
        let keys = vec![jwk; MAX_REMOTE_KEYS + 1];
        let body = serde_json::to_vec(&Jwks { keys }).unwrap();
        assert!(parse_remote_jwks(&body, &ALL).is_none());
        assert!(parse_remote_jwks(b"<html>", &ALL).is_none());
        assert!(parse_remote_jwks(br#"{"keys":{}}"#, &ALL).is_none());
    }

    #[test]
    fn duplicate_kid_in_provider_jwks_uses_neither_key() {
        let a = SigningKey::generate(Algorithm::EdDsa)
            .unwrap()
            .with_kid("same")
            .unwrap();
        let b = SigningKey::generate(Algorithm::EdDsa)
            .unwrap()
            .with_kid("same")
            .unwrap();
        let keys = vec![
            a.public_jwk().unwrap().clone(),
            b.public_jwk().unwrap().clone(),
        ];
        let body = serde_json::to_vec(&Jwks { keys }).unwrap();
        assert!(parse_remote_jwks(&body, &ALL).unwrap().is_empty());
    }
}
