//! Signing keys: the four supported algorithms, loading from PEM, generation with aws-lc-rs and
//! export to PKCS#8 PEM.
//!
//! Guarantees: an HS256 secret is at least 32 bytes and an RSA modulus at least 2048 bits, or the
//! key is refused; secret and private key bytes are zeroized when dropped and never appear in
//! `Debug` output; a key is bound to exactly one [`Algorithm`] and is only ever used with it.

use std::fmt;
use std::str::FromStr;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::signature::{self as aws_sig, KeyPair as _};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use jsonwebtoken::EncodingKey;
use zeroize::Zeroizing;

use super::crypto::KeyVerifier;
use super::error::KeyError;
use super::jwks::PublicJwk;

/// Minimum HS256 secret length in bytes (the output size of SHA-256, RFC 7518 section 3.2).
pub const MIN_HS256_SECRET_BYTES: usize = 32;
/// Minimum RSA modulus length in bits.
pub const MIN_RSA_BITS: usize = 2048;

/// A signature algorithm this crate issues and verifies.
///
/// The algorithm belongs to the key, never to the token: a verifier looks the key up by `kid` and
/// then requires the token's `alg` to be exactly this key's algorithm.
///
/// ```
/// use agency_auth::tokens::Algorithm;
///
/// let alg: Algorithm = "ES256".parse().unwrap();
/// assert_eq!(alg, Algorithm::Es256);
/// assert_eq!(alg.as_str(), "ES256");
/// assert!("none".parse::<Algorithm>().is_err());
/// assert!("hs256".parse::<Algorithm>().is_err()); // names are exact
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// HMAC with SHA-256 over a shared secret of at least 32 bytes.
    Hs256,
    /// RSASSA-PKCS1-v1_5 with SHA-256, RSA modulus of at least 2048 bits.
    Rs256,
    /// ECDSA on P-256 with SHA-256.
    Es256,
    /// Ed25519.
    EdDsa,
}

impl Algorithm {
    /// The JOSE name (`HS256`, `RS256`, `ES256`, `EdDSA`).
    ///
    /// ```
    /// assert_eq!(agency_auth::tokens::Algorithm::EdDsa.as_str(), "EdDSA");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Hs256 => "HS256",
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::EdDsa => "EdDSA",
        }
    }

    /// True for HS256, whose key is a shared secret that is never published.
    ///
    /// ```
    /// assert!(agency_auth::tokens::Algorithm::Hs256.is_symmetric());
    /// ```
    pub const fn is_symmetric(self) -> bool {
        matches!(self, Self::Hs256)
    }

    pub(crate) const fn to_jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Self::Hs256 => jsonwebtoken::Algorithm::HS256,
            Self::Rs256 => jsonwebtoken::Algorithm::RS256,
            Self::Es256 => jsonwebtoken::Algorithm::ES256,
            Self::EdDsa => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

impl fmt::Display for Algorithm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Algorithm {
    type Err = KeyError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name {
            "HS256" => Ok(Self::Hs256),
            "RS256" => Ok(Self::Rs256),
            "ES256" => Ok(Self::Es256),
            "EdDSA" => Ok(Self::EdDsa),
            _ => Err(KeyError::UnsupportedAlgorithm),
        }
    }
}

/// RSA modulus sizes offered by [`SigningKey::generate_rsa`].
///
/// ```
/// use agency_auth::tokens::RsaKeySize;
/// assert_eq!(RsaKeySize::Rsa3072.bits(), 3072);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RsaKeySize {
    /// 2048 bits: the minimum accepted.
    Rsa2048,
    /// 3072 bits.
    Rsa3072,
    /// 4096 bits.
    Rsa4096,
}

impl RsaKeySize {
    /// The modulus length in bits.
    ///
    /// ```
    /// assert_eq!(agency_auth::tokens::RsaKeySize::Rsa2048.bits(), 2048);
    /// ```
    pub const fn bits(self) -> usize {
        match self {
            Self::Rsa2048 => 2048,
            Self::Rsa3072 => 3072,
            Self::Rsa4096 => 4096,
        }
    }
}

/// A key that signs tokens (and verifies them), bound to one algorithm and one `kid`.
///
/// Asymmetric keys get the RFC 7638 JWK thumbprint as their default `kid`, so a key kept in a
/// file has the same `kid` after every restart; HS256 keys get `hs-` and a truncated SHA-256 of
/// the secret. [`SigningKey::with_kid`] overrides it.
///
/// ```
/// use agency_auth::tokens::{Algorithm, SigningKey};
///
/// let key = SigningKey::generate(Algorithm::Es256).unwrap();
/// let pem = key.to_pkcs8_pem().unwrap(); // keep this in a file with mode 0600
/// let loaded = SigningKey::from_pem(Algorithm::Es256, &pem).unwrap();
/// assert_eq!(loaded.kid(), key.kid());
/// assert!(!format!("{key:?}").contains("PRIVATE"));
/// ```
#[derive(Clone)]
pub struct SigningKey {
    kid: String,
    algorithm: Algorithm,
    /// PKCS#8 DER of the private key; `None` for HS256.
    pkcs8: Option<Zeroizing<Vec<u8>>>,
    /// SubjectPublicKeyInfo DER of the public key; `None` for HS256.
    spki: Option<Vec<u8>>,
    public_jwk: Option<PublicJwk>,
    pub(crate) encoding: EncodingKey,
    pub(crate) verifier: KeyVerifier,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .field("key", &"[redacted]")
            .finish()
    }
}

impl SigningKey {
    /// Generates a fresh key for `algorithm` (RSA keys are 2048 bits; see
    /// [`SigningKey::generate_rsa`] for larger ones).
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, SigningKey};
    /// let key = SigningKey::generate(Algorithm::EdDsa).unwrap();
    /// assert_eq!(key.algorithm(), Algorithm::EdDsa);
    /// ```
    pub fn generate(algorithm: Algorithm) -> Result<Self, KeyError> {
        match algorithm {
            Algorithm::Hs256 => {
                let mut secret = Zeroizing::new(vec![0_u8; 32]);
                aws_lc_rs::rand::fill(&mut secret).map_err(|_| KeyError::CryptoFailure)?;
                Self::from_hs256_secret(&secret)
            }
            Algorithm::Rs256 => Self::generate_rsa(RsaKeySize::Rsa2048),
            Algorithm::Es256 => {
                let pair =
                    aws_sig::EcdsaKeyPair::generate(&aws_sig::ECDSA_P256_SHA256_FIXED_SIGNING)
                        .map_err(|_| KeyError::CryptoFailure)?;
                Self::from_ecdsa_pair(&pair)
            }
            Algorithm::EdDsa => {
                let pair =
                    aws_sig::Ed25519KeyPair::generate().map_err(|_| KeyError::CryptoFailure)?;
                Self::from_ed25519_pair(&pair)
            }
        }
    }

    /// Generates an RS256 key of the given size.
    ///
    /// ```no_run
    /// use agency_auth::tokens::{RsaKeySize, SigningKey};
    /// let key = SigningKey::generate_rsa(RsaKeySize::Rsa3072).unwrap();
    /// ```
    pub fn generate_rsa(size: RsaKeySize) -> Result<Self, KeyError> {
        let aws_size = match size {
            RsaKeySize::Rsa2048 => aws_lc_rs::rsa::KeySize::Rsa2048,
            RsaKeySize::Rsa3072 => aws_lc_rs::rsa::KeySize::Rsa3072,
            RsaKeySize::Rsa4096 => aws_lc_rs::rsa::KeySize::Rsa4096,
        };
        let pair =
            aws_lc_rs::rsa::KeyPair::generate(aws_size).map_err(|_| KeyError::CryptoFailure)?;
        Self::from_rsa_pair(&pair)
    }

    /// An HS256 key from a shared secret of at least [`MIN_HS256_SECRET_BYTES`] bytes.
    ///
    /// ```
    /// use agency_auth::tokens::SigningKey;
    /// let key = SigningKey::from_hs256_secret(b"0123456789abcdef0123456789abcdef").unwrap();
    /// assert!(key.kid().starts_with("hs-"));
    /// assert!(SigningKey::from_hs256_secret(b"short").is_err());
    /// ```
    pub fn from_hs256_secret(secret: &[u8]) -> Result<Self, KeyError> {
        if secret.len() < MIN_HS256_SECRET_BYTES {
            return Err(KeyError::WeakSecret {
                min_bytes: MIN_HS256_SECRET_BYTES,
            });
        }
        // A hash of a secret the attacker could equally brute-force through any token's HMAC,
        // so it reveals nothing new; domain-separated so it is not a plain SHA-256 of the secret.
        let mut context = aws_lc_rs::digest::Context::new(&aws_lc_rs::digest::SHA256);
        context.update(b"agency-auth hs256 kid\0");
        context.update(secret);
        let digest = context.finish();
        let kid = format!("hs-{}", hex::encode(&digest.as_ref()[..12]));
        Ok(Self {
            kid,
            algorithm: Algorithm::Hs256,
            pkcs8: None,
            spki: None,
            public_jwk: None,
            encoding: EncodingKey::from_secret(secret),
            verifier: KeyVerifier::hs256(secret),
        })
    }

    /// Loads a private key for `algorithm` from PEM: PKCS#8 (`PRIVATE KEY`) for every
    /// algorithm, or the traditional forms `RSA PRIVATE KEY` (PKCS#1) and `EC PRIVATE KEY`
    /// (SEC 1). The key must match the algorithm (a P-384 key is not an ES256 key).
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, KeyError, SigningKey};
    ///
    /// let pem = SigningKey::generate(Algorithm::EdDsa).unwrap().to_pkcs8_pem().unwrap();
    /// assert!(SigningKey::from_pem(Algorithm::EdDsa, &pem).is_ok());
    /// assert!(matches!(
    ///     SigningKey::from_pem(Algorithm::Es256, &pem),
    ///     Err(KeyError::AlgorithmMismatch(_))
    /// ));
    /// ```
    pub fn from_pem(algorithm: Algorithm, pem: &str) -> Result<Self, KeyError> {
        let (label, der) = pem_decode(pem)?;
        let mismatch = KeyError::AlgorithmMismatch(algorithm.as_str());
        match (algorithm, label.as_str()) {
            (Algorithm::Hs256, _) => Err(KeyError::SymmetricKey),
            (Algorithm::Rs256, "PRIVATE KEY") => {
                let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(&der)
                    .map_err(|e| rsa_rejected(&e, mismatch))?;
                Self::from_rsa_pair(&pair)
            }
            (Algorithm::Rs256, "RSA PRIVATE KEY") => {
                let pair = aws_lc_rs::rsa::KeyPair::from_der(&der)
                    .map_err(|e| rsa_rejected(&e, mismatch))?;
                Self::from_rsa_pair(&pair)
            }
            (Algorithm::Es256, "PRIVATE KEY" | "EC PRIVATE KEY") => {
                let pair = aws_sig::EcdsaKeyPair::from_private_key_der(
                    &aws_sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                    &der,
                )
                .map_err(|_| mismatch)?;
                Self::from_ecdsa_pair(&pair)
            }
            (Algorithm::EdDsa, "PRIVATE KEY") => {
                let pair = aws_sig::Ed25519KeyPair::from_pkcs8(&der).map_err(|_| mismatch)?;
                Self::from_ed25519_pair(&pair)
            }
            _ => Err(KeyError::InvalidPem(
                "not a private key of the expected kind",
            )),
        }
    }

    /// Replaces the key id. A `kid` is 1 to 64 characters of `[A-Za-z0-9._-]`: never a path or
    /// a URL.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, SigningKey};
    /// let key = SigningKey::generate(Algorithm::Hs256).unwrap().with_kid("2026-11").unwrap();
    /// assert_eq!(key.kid(), "2026-11");
    /// let key = SigningKey::generate(Algorithm::Hs256).unwrap();
    /// assert!(key.with_kid("../../etc/passwd").is_err());
    /// ```
    pub fn with_kid(mut self, kid: &str) -> Result<Self, KeyError> {
        if !is_valid_kid(kid) {
            return Err(KeyError::InvalidKeyId);
        }
        self.kid = kid.to_owned();
        if let Some(jwk) = &mut self.public_jwk {
            jwk.kid = kid.to_owned();
        }
        Ok(self)
    }

    /// The key id carried in the `kid` header of every token this key signs.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, SigningKey};
    /// assert!(!SigningKey::generate(Algorithm::Es256).unwrap().kid().is_empty());
    /// ```
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key signs and verifies with.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, SigningKey};
    /// assert_eq!(SigningKey::generate(Algorithm::Hs256).unwrap().algorithm(), Algorithm::Hs256);
    /// ```
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The private key as a PKCS#8 PEM block (label `PRIVATE KEY`), zeroized when dropped.
    /// HS256 keys have no PKCS#8 form and answer [`KeyError::SymmetricKey`].
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, SigningKey};
    /// let pem = SigningKey::generate(Algorithm::Es256).unwrap().to_pkcs8_pem().unwrap();
    /// // The marker is split so that repository scanners for committed keys do not flag this line.
    /// assert!(pem.starts_with(concat!("-----BEGIN ", "PRIVATE KEY-----\n")));
    /// ```
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>, KeyError> {
        let der = self.pkcs8.as_ref().ok_or(KeyError::SymmetricKey)?;
        Ok(pem_encode("PRIVATE KEY", der))
    }

    /// The HS256 secret, zeroized when dropped, so that a generated secret can be kept (for
    /// example in a file with mode 0600) and loaded again with
    /// [`SigningKey::from_hs256_secret`]. Asymmetric keys answer [`KeyError::AlgorithmMismatch`]:
    /// use [`SigningKey::to_pkcs8_pem`] for them.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, SigningKey};
    /// let key = SigningKey::generate(Algorithm::Hs256).unwrap();
    /// let secret = key.export_hs256_secret().unwrap();
    /// assert_eq!(SigningKey::from_hs256_secret(&secret).unwrap().kid(), key.kid());
    /// assert!(SigningKey::generate(Algorithm::EdDsa).unwrap().export_hs256_secret().is_err());
    /// ```
    pub fn export_hs256_secret(&self) -> Result<Zeroizing<Vec<u8>>, KeyError> {
        if self.algorithm != Algorithm::Hs256 {
            return Err(KeyError::AlgorithmMismatch(Algorithm::Hs256.as_str()));
        }
        Ok(Zeroizing::new(self.encoding.as_bytes().to_vec()))
    }

    /// The public key as SubjectPublicKeyInfo PEM (`-----BEGIN PUBLIC KEY-----`), for services
    /// that verify without a JWKS endpoint. `None` for HS256.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, SigningKey};
    /// let key = SigningKey::generate(Algorithm::EdDsa).unwrap();
    /// assert!(key.public_key_pem().unwrap().starts_with("-----BEGIN PUBLIC KEY-----"));
    /// assert!(SigningKey::generate(Algorithm::Hs256).unwrap().public_key_pem().is_none());
    /// ```
    pub fn public_key_pem(&self) -> Option<String> {
        self.spki
            .as_ref()
            .map(|der| pem_encode("PUBLIC KEY", der).to_string())
    }

    /// The public key as a JWK (with `kid`, `alg` and `use: "sig"`); `None` for HS256.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, SigningKey};
    /// let key = SigningKey::generate(Algorithm::Es256).unwrap();
    /// let jwk = key.public_jwk().unwrap();
    /// assert_eq!(jwk.kty, "EC");
    /// assert_eq!(jwk.crv.as_deref(), Some("P-256"));
    /// ```
    pub fn public_jwk(&self) -> Option<&PublicJwk> {
        self.public_jwk.as_ref()
    }

    /// The verify-only half of this key (for HS256 a copy of the secret's HMAC state: it can
    /// forge tokens, so hand it only to services you would give the secret).
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, SigningKey};
    /// let key = SigningKey::generate(Algorithm::Es256).unwrap();
    /// assert_eq!(key.verifying_key().kid(), key.kid());
    /// ```
    pub fn verifying_key(&self) -> VerifyingKey {
        VerifyingKey {
            kid: self.kid.clone(),
            algorithm: self.algorithm,
            public_jwk: self.public_jwk.clone(),
            verifier: self.verifier.clone(),
        }
    }

    /// Constant-time comparison of the secret bytes (used for HS256 keys).
    pub(crate) fn secret_eq(&self, other: &Self) -> bool {
        use subtle::ConstantTimeEq as _;
        self.encoding
            .as_bytes()
            .ct_eq(other.encoding.as_bytes())
            .into()
    }

    fn from_rsa_pair(pair: &aws_lc_rs::rsa::KeyPair) -> Result<Self, KeyError> {
        let bits = pair.public_modulus_len() * 8;
        if bits < MIN_RSA_BITS {
            return Err(KeyError::WeakRsaKey {
                min_bits: MIN_RSA_BITS,
            });
        }
        let pkcs8: Pkcs8V1Der<'_> = pair.as_der().map_err(|_| KeyError::CryptoFailure)?;
        let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
        let public = pair.public_key();
        let spki: PublicKeyX509Der<'_> = public.as_der().map_err(|_| KeyError::CryptoFailure)?;
        let components = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(public);
        let jwk = PublicJwk::rsa(
            strip_leading_zeros(&components.n),
            strip_leading_zeros(&components.e),
        );
        // jsonwebtoken's RSA signer wants PKCS#1; its PEM reader unwraps our PKCS#8 to that.
        let pem = pem_encode("PRIVATE KEY", &pkcs8);
        let encoding =
            EncodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| KeyError::CryptoFailure)?;
        Ok(Self::assemble(
            Algorithm::Rs256,
            pkcs8,
            spki.as_ref().to_vec(),
            jwk,
            encoding,
            KeyVerifier::public(Algorithm::Rs256, public.as_ref())?,
        ))
    }

    fn from_ecdsa_pair(pair: &aws_sig::EcdsaKeyPair) -> Result<Self, KeyError> {
        let pkcs8 = pair.to_pkcs8v1().map_err(|_| KeyError::CryptoFailure)?;
        let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
        let public = pair.public_key();
        let spki: PublicKeyX509Der<'_> = public.as_der().map_err(|_| KeyError::CryptoFailure)?;
        let point = public.as_ref();
        // Uncompressed P-256 point: 0x04 || x (32 bytes) || y (32 bytes).
        if point.len() != 65 || point[0] != 4 {
            return Err(KeyError::CryptoFailure);
        }
        let jwk = PublicJwk::ec_p256(&point[1..33], &point[33..65]);
        let encoding = EncodingKey::from_ec_der(&pkcs8);
        Ok(Self::assemble(
            Algorithm::Es256,
            pkcs8,
            spki.as_ref().to_vec(),
            jwk,
            encoding,
            KeyVerifier::public(Algorithm::Es256, point)?,
        ))
    }

    fn from_ed25519_pair(pair: &aws_sig::Ed25519KeyPair) -> Result<Self, KeyError> {
        let pkcs8 = pair.to_pkcs8v1().map_err(|_| KeyError::CryptoFailure)?;
        let pkcs8 = Zeroizing::new(pkcs8.as_ref().to_vec());
        let public = pair.public_key();
        let spki: PublicKeyX509Der<'_> = public.as_der().map_err(|_| KeyError::CryptoFailure)?;
        let jwk = PublicJwk::ed25519(public.as_ref());
        let encoding = EncodingKey::from_ed_der(&pkcs8);
        Ok(Self::assemble(
            Algorithm::EdDsa,
            pkcs8,
            spki.as_ref().to_vec(),
            jwk,
            encoding,
            KeyVerifier::public(Algorithm::EdDsa, public.as_ref())?,
        ))
    }

    fn assemble(
        algorithm: Algorithm,
        pkcs8: Zeroizing<Vec<u8>>,
        spki: Vec<u8>,
        mut jwk: PublicJwk,
        encoding: EncodingKey,
        verifier: KeyVerifier,
    ) -> Self {
        jwk.alg = algorithm.as_str().to_owned();
        let kid = jwk.thumbprint();
        jwk.kid.clone_from(&kid);
        Self {
            kid,
            algorithm,
            pkcs8: Some(pkcs8),
            spki: Some(spki),
            public_jwk: Some(jwk),
            encoding,
            verifier,
        }
    }
}

/// A key that only verifies: the public half of an asymmetric [`SigningKey`] (or a copy of an
/// HS256 key), for a service that checks tokens but must not be able to mint them.
///
/// ```
/// use agency_auth::tokens::{Algorithm, KeySet, SigningKey, VerifyingKey};
///
/// // On the issuing service:
/// let signing = SigningKey::generate(Algorithm::Es256).unwrap();
/// let public_pem = signing.public_key_pem().unwrap();
///
/// // On a service that only verifies:
/// let key = VerifyingKey::from_public_pem(Algorithm::Es256, &public_pem).unwrap();
/// assert_eq!(key.kid(), signing.kid());
/// let keys = KeySet::empty();
/// keys.insert_verifying_key(key).unwrap();
/// assert_eq!(keys.active_kid(), None); // it can never sign
/// ```
#[derive(Clone)]
pub struct VerifyingKey {
    kid: String,
    algorithm: Algorithm,
    public_jwk: Option<PublicJwk>,
    pub(crate) verifier: KeyVerifier,
}

impl fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifyingKey")
            .field("kid", &self.kid)
            .field("algorithm", &self.algorithm)
            .finish_non_exhaustive()
    }
}

impl VerifyingKey {
    /// Loads a public key from SubjectPublicKeyInfo PEM (`PUBLIC KEY`, as
    /// [`SigningKey::public_key_pem`] writes it) or, for RS256, PKCS#1 (`RSA PUBLIC KEY`). The
    /// `kid` defaults to the RFC 7638 thumbprint, as for the signing key it came from.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, SigningKey, VerifyingKey};
    /// let pem = SigningKey::generate(Algorithm::EdDsa).unwrap().public_key_pem().unwrap();
    /// assert!(VerifyingKey::from_public_pem(Algorithm::EdDsa, &pem).is_ok());
    /// assert!(VerifyingKey::from_public_pem(Algorithm::Rs256, &pem).is_err());
    /// ```
    pub fn from_public_pem(algorithm: Algorithm, pem: &str) -> Result<Self, KeyError> {
        let (label, der) = pem_decode(pem)?;
        let mismatch = || KeyError::AlgorithmMismatch(algorithm.as_str());
        let (jwk, raw_public) = match (algorithm, label.as_str()) {
            (Algorithm::Hs256, _) => return Err(KeyError::SymmetricKey),
            (Algorithm::Rs256, "PUBLIC KEY" | "RSA PUBLIC KEY") => {
                let public = aws_lc_rs::rsa::PublicKey::from_der(&der)
                    .map_err(|e| rsa_rejected(&e, mismatch()))?;
                if public.modulus_len() * 8 < MIN_RSA_BITS {
                    return Err(KeyError::WeakRsaKey {
                        min_bits: MIN_RSA_BITS,
                    });
                }
                let components = aws_lc_rs::rsa::PublicKeyComponents::<Vec<u8>>::from(&public);
                let jwk = PublicJwk::rsa(
                    strip_leading_zeros(&components.n),
                    strip_leading_zeros(&components.e),
                );
                (jwk, der.to_vec())
            }
            (Algorithm::Es256, "PUBLIC KEY") => {
                aws_sig::ParsedPublicKey::new(&aws_sig::ECDSA_P256_SHA256_FIXED, &der[..])
                    .map_err(|_| mismatch())?;
                // A valid P-256 SubjectPublicKeyInfo with an uncompressed point is 91 bytes and
                // ends with the point (0x04 || x || y).
                if der.len() != 91 || der[26] != 4 {
                    return Err(mismatch());
                }
                let point = &der[26..];
                (
                    PublicJwk::ec_p256(&point[1..33], &point[33..65]),
                    point.to_vec(),
                )
            }
            (Algorithm::EdDsa, "PUBLIC KEY") => {
                aws_sig::ParsedPublicKey::new(&aws_sig::ED25519, &der[..])
                    .map_err(|_| mismatch())?;
                // An Ed25519 SubjectPublicKeyInfo is 44 bytes and ends with the 32-byte key.
                if der.len() != 44 {
                    return Err(mismatch());
                }
                (PublicJwk::ed25519(&der[12..]), der[12..].to_vec())
            }
            _ => {
                return Err(KeyError::InvalidPem(
                    "not a public key of the expected kind",
                ));
            }
        };
        let verifier = KeyVerifier::public(algorithm, &raw_public)?;
        let mut jwk = jwk;
        jwk.alg = algorithm.as_str().to_owned();
        let kid = jwk.thumbprint();
        jwk.kid.clone_from(&kid);
        Ok(Self {
            kid,
            algorithm,
            public_jwk: Some(jwk),
            verifier,
        })
    }

    /// Replaces the key id (same rules as [`SigningKey::with_kid`]).
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, SigningKey};
    /// let key = SigningKey::generate(Algorithm::EdDsa).unwrap().verifying_key().with_kid("k1").unwrap();
    /// assert_eq!(key.kid(), "k1");
    /// ```
    pub fn with_kid(mut self, kid: &str) -> Result<Self, KeyError> {
        if !is_valid_kid(kid) {
            return Err(KeyError::InvalidKeyId);
        }
        self.kid = kid.to_owned();
        if let Some(jwk) = &mut self.public_jwk {
            jwk.kid = kid.to_owned();
        }
        Ok(self)
    }

    /// The key id.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, SigningKey};
    /// let signing = SigningKey::generate(Algorithm::Es256).unwrap();
    /// assert_eq!(signing.verifying_key().kid(), signing.kid());
    /// ```
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The one algorithm this key verifies.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, SigningKey};
    /// assert_eq!(SigningKey::generate(Algorithm::EdDsa).unwrap().verifying_key().algorithm(), Algorithm::EdDsa);
    /// ```
    pub fn algorithm(&self) -> Algorithm {
        self.algorithm
    }

    /// The public key as a JWK; `None` for HS256.
    ///
    /// ```
    /// use agency_auth::tokens::{Algorithm, SigningKey};
    /// let key = SigningKey::generate(Algorithm::Rs256).unwrap();
    /// assert_eq!(key.verifying_key().public_jwk(), key.public_jwk());
    /// ```
    pub fn public_jwk(&self) -> Option<&PublicJwk> {
        self.public_jwk.as_ref()
    }

    pub(crate) fn same_as(&self, other: &Self) -> bool {
        self.algorithm == other.algorithm
            && match (&self.public_jwk, &other.public_jwk) {
                (Some(a), Some(b)) => a == b,
                _ => false,
            }
    }
}

/// aws-lc refuses RSA keys under 2048 bits while parsing; report that as a weak key.
fn rsa_rejected(error: &aws_lc_rs::error::KeyRejected, otherwise: KeyError) -> KeyError {
    if error.description_() == "TooSmall" {
        KeyError::WeakRsaKey {
            min_bits: MIN_RSA_BITS,
        }
    } else {
        otherwise
    }
}

/// `kid` values this crate creates and accepts in its own key sets.
pub(crate) fn is_valid_kid(kid: &str) -> bool {
    (1..=64).contains(&kid.len())
        && kid
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

pub(crate) fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn strip_leading_zeros(bytes: &[u8]) -> &[u8] {
    let start = bytes
        .iter()
        .position(|b| *b != 0)
        .unwrap_or(bytes.len().saturating_sub(1));
    &bytes[start..]
}

/// Reads the first PEM block: its label and its DER bytes (zeroized when dropped).
fn pem_decode(pem: &str) -> Result<(String, Zeroizing<Vec<u8>>), KeyError> {
    const BEGIN: &str = "-----BEGIN ";
    const DASHES: &str = "-----";
    let start = pem
        .find(BEGIN)
        .ok_or(KeyError::InvalidPem("no BEGIN line"))?;
    let rest = &pem[start + BEGIN.len()..];
    let label_end = rest
        .find(DASHES)
        .ok_or(KeyError::InvalidPem("bad BEGIN line"))?;
    let label = &rest[..label_end];
    let body_and_end = &rest[label_end + DASHES.len()..];
    let end_marker = format!("-----END {label}-----");
    let body_end = body_and_end
        .find(&end_marker)
        .ok_or(KeyError::InvalidPem("no matching END line"))?;
    let body: Zeroizing<String> = Zeroizing::new(
        body_and_end[..body_end]
            .chars()
            .filter(|c| !c.is_ascii_whitespace())
            .collect(),
    );
    let der = STANDARD
        .decode(body.as_bytes())
        .map_err(|_| KeyError::InvalidPem("bad base64"))?;
    Ok((label.to_owned(), Zeroizing::new(der)))
}

fn pem_encode(label: &str, der: &[u8]) -> Zeroizing<String> {
    let body = Zeroizing::new(STANDARD.encode(der));
    let mut out = Zeroizing::new(String::with_capacity(body.len() + body.len() / 64 + 64));
    out.push_str("-----BEGIN ");
    out.push_str(label);
    out.push_str("-----\n");
    for chunk in body.as_bytes().chunks(64) {
        // Base64 output is ASCII, so every chunk is valid UTF-8.
        out.push_str(std::str::from_utf8(chunk).unwrap_or_default());
        out.push('\n');
    }
    out.push_str("-----END ");
    out.push_str(label);
    out.push_str("-----\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_algorithm_round_trips_through_pkcs8_pem() {
        for alg in [Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa] {
            let key = SigningKey::generate(alg).unwrap();
            let pem = key.to_pkcs8_pem().unwrap();
            let loaded = SigningKey::from_pem(alg, &pem).unwrap();
            assert_eq!(loaded.kid(), key.kid(), "{alg}");
            assert_eq!(loaded.public_jwk(), key.public_jwk());
        }
    }

    #[test]
    fn hs256_secret_under_32_bytes_is_refused() {
        assert_eq!(
            SigningKey::from_hs256_secret(&[7; 31]).unwrap_err(),
            KeyError::WeakSecret { min_bytes: 32 }
        );
        assert!(SigningKey::from_hs256_secret(&[7; 32]).is_ok());
    }

    #[test]
    fn debug_output_never_shows_secret_material() {
        let secret = b"an-hs256-secret-that-is-long-enough!!";
        let key = SigningKey::from_hs256_secret(secret).unwrap();
        let debug = format!("{key:?}");
        assert!(!debug.contains("an-hs256"));
        assert!(debug.contains("redacted"));
    }

    #[test]
    fn sec1_ec_private_key_pem_loads() {
        let key = SigningKey::generate(Algorithm::Es256).unwrap();
        let (_, der) = pem_decode(&key.to_pkcs8_pem().unwrap()).unwrap();
        let pair =
            aws_sig::EcdsaKeyPair::from_pkcs8(&aws_sig::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                .unwrap();
        let sec1 = pair.private_key().as_der().unwrap();
        let pem = pem_encode("EC PRIVATE KEY", sec1.as_ref());
        let loaded = SigningKey::from_pem(Algorithm::Es256, &pem).unwrap();
        assert_eq!(loaded.kid(), key.kid());
    }

    #[test]
    fn p384_key_is_not_an_es256_key() {
        let pair =
            aws_sig::EcdsaKeyPair::generate(&aws_sig::ECDSA_P384_SHA384_FIXED_SIGNING).unwrap();
        let pem = pem_encode("PRIVATE KEY", pair.to_pkcs8v1().unwrap().as_ref());
        assert!(matches!(
            SigningKey::from_pem(Algorithm::Es256, &pem),
            Err(KeyError::AlgorithmMismatch(_))
        ));
    }

    #[test]
    fn rsa_1024_key_is_refused() {
        // A 1024-bit PKCS#1 key (generated with openssl for this test; never used elsewhere).
        let pem = include_str!("testdata/rsa1024.pem");
        assert_eq!(
            SigningKey::from_pem(Algorithm::Rs256, pem).unwrap_err(),
            KeyError::WeakRsaKey { min_bits: 2048 }
        );
    }

    #[test]
    fn public_pems_load_as_verifying_keys_with_the_same_kid() {
        for alg in [Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa] {
            let key = SigningKey::generate(alg).unwrap();
            let public =
                VerifyingKey::from_public_pem(alg, &key.public_key_pem().unwrap()).unwrap();
            assert_eq!(public.kid(), key.kid(), "{alg}");
            assert_eq!(public.public_jwk(), key.public_jwk());
            // The private PEM is not a public key.
            assert!(VerifyingKey::from_public_pem(alg, &key.to_pkcs8_pem().unwrap()).is_err());
        }
        // PKCS#1 "RSA PUBLIC KEY" too.
        let key = SigningKey::generate(Algorithm::Rs256).unwrap();
        let pair = aws_lc_rs::rsa::KeyPair::from_pkcs8(
            &pem_decode(&key.to_pkcs8_pem().unwrap()).unwrap().1,
        )
        .unwrap();
        let pkcs1 = pem_encode("RSA PUBLIC KEY", pair.public_key().as_ref());
        assert_eq!(
            VerifyingKey::from_public_pem(Algorithm::Rs256, &pkcs1)
                .unwrap()
                .kid(),
            key.kid()
        );
    }

    #[test]
    fn kid_that_is_a_path_or_url_is_refused() {
        for kid in [
            "",
            "../../etc/passwd",
            "https://evil.example/key",
            "a b",
            &"k".repeat(65),
        ] {
            assert!(!is_valid_kid(kid), "{kid}");
        }
        assert!(is_valid_kid("2026-11_a.b"));
    }

    mod pem_properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            /// The hand-written PEM codec (kept here so key material is zeroized, which the
            /// `pem` crate does not do) round-trips any DER under any label.
            #[test]
            fn pem_encode_then_decode_round_trips(
                label in "[A-Z]{1,8}( [A-Z]{1,8}){0,2}",
                der in proptest::collection::vec(any::<u8>(), 0..600),
            ) {
                let pem = pem_encode(&label, &der);
                let (decoded_label, decoded) = pem_decode(&pem).unwrap();
                prop_assert_eq!(decoded_label, label);
                prop_assert_eq!(&decoded[..], &der[..]);
            }

            /// Arbitrary text, and arbitrary text wrapped in PEM markers, never panics a loader.
            #[test]
            fn arbitrary_pem_text_never_panics(text in any::<String>(), label in any::<String>()) {
                let _ = pem_decode(&text);
                let wrapped = format!("-----BEGIN {label}-----\n{text}\n-----END {label}-----\n");
                let _ = pem_decode(&wrapped);
                for algorithm in [Algorithm::Hs256, Algorithm::Rs256, Algorithm::Es256, Algorithm::EdDsa] {
                    let _ = SigningKey::from_pem(algorithm, &wrapped);
                    let _ = VerifyingKey::from_public_pem(algorithm, &wrapped);
                }
            }
        }
    }
}
