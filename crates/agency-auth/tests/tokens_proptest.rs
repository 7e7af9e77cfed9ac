//! Property tests of the access-token verifier: round trips for every algorithm, any altered byte
//! fails, and arbitrary input never panics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod tokens_support;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use agency_auth::tokens::{
    AccessTokenRequest, Algorithm, KeySet, NoExtraClaims, SigningKey, TokenIssuer, TokenVerifier,
};
use agency_auth::tokens::{Audience, Issuer};
use proptest::prelude::*;
use serde_json::{Map, Value, json};
use tokens_support::*;

struct Fixture {
    key: SigningKey,
    issuer: TokenIssuer,
    verifier: TokenVerifier<Value>,
    token: String,
}

const ALGORITHMS: [Algorithm; 4] = [
    Algorithm::Hs256,
    Algorithm::Rs256,
    Algorithm::Es256,
    Algorithm::EdDsa,
];

/// One key set, issuer, verifier (with cache) and issued token per algorithm, made once.
fn fixtures() -> &'static [Fixture] {
    static FIXTURES: OnceLock<Vec<Fixture>> = OnceLock::new();
    FIXTURES.get_or_init(|| {
        ALGORITHMS
            .iter()
            .map(|alg| {
                let key = SigningKey::generate(*alg).unwrap();
                let keys = KeySet::new(key.clone());
                let issuer = issuer(&keys, Duration::from_secs(3600));
                let verifier = TokenVerifier::builder(keys, Issuer::new(ISS), Audience::new(AUD))
                    .build_with_claims()
                    .unwrap();
                let token = issuer
                    .issue_with(
                        &AccessTokenRequest::new("user-1", "tenant", "admin").session("s"),
                        &json!({"scope": "x"}),
                    )
                    .unwrap()
                    .token;
                Fixture {
                    key,
                    issuer,
                    verifier,
                    token,
                }
            })
            .collect()
    })
}

fn block_on<F: std::future::Future>(future: F) -> F::Output {
    static RUNTIME: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RUNTIME
        .get_or_init(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
        })
        .block_on(future)
}

fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        ".{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(3, 24, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map(".{0,8}", inner, 0..6)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// Claim sets mixing the registered names with arbitrary values, so that some are valid.
fn any_claims() -> impl Strategy<Value = Value> {
    let names = prop::sample::select(vec![
        "sub", "iss", "aud", "exp", "nbf", "iat", "jti", "sid", "tid", "role", "x",
    ]);
    let value = prop_oneof![
        any_json(),
        Just(json!(ISS)),
        Just(json!(AUD)),
        Just(json!([AUD])),
        Just(json!(now())),
        Just(json!(now() + 600)),
        Just(json!(now() - 600)),
    ];
    (prop::collection::vec((names, value), 0..12), any::<bool>()).prop_map(|(pairs, start_good)| {
        let mut claims: Map<String, Value> = if start_good {
            good_claims().as_object().unwrap().clone()
        } else {
            Map::new()
        };
        for (name, value) in pairs {
            claims.insert(name.to_owned(), value);
        }
        Value::Object(claims)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn issued_tokens_round_trip_for_every_algorithm(
        subject in ".{1,40}",
        tenant in ".{1,20}",
        role in "[a-z_]{1,16}",
        session in proptest::option::of(".{1,30}"),
        scope in ".{0,40}",
    ) {
        for fixture in fixtures() {
            let mut request = AccessTokenRequest::new(&subject, &tenant, &role);
            if let Some(session) = &session {
                request = request.session(session);
            }
            let issued = fixture.issuer.issue_with(&request, &json!({"scope": scope})).unwrap();
            let claims = block_on(fixture.verifier.verify(&issued.token)).unwrap();
            prop_assert_eq!(&claims.sub, &subject);
            prop_assert_eq!(&claims.tid, &tenant);
            prop_assert_eq!(&claims.role, &role);
            prop_assert_eq!(&claims.sid, &session);
            prop_assert_eq!(&claims.extra["scope"], &json!(scope));
            prop_assert_eq!(&claims.jti, &issued.jti);
        }
    }

    #[test]
    fn changing_any_byte_of_a_token_fails_verification(index in any::<prop::sample::Index>(), byte in any::<u8>()) {
        for fixture in fixtures() {
            // The original is valid (and now cached): the altered copy must still fail.
            prop_assert!(block_on(fixture.verifier.verify(&fixture.token)).is_ok());
            let mut bytes = fixture.token.clone().into_bytes();
            let at = index.index(bytes.len());
            prop_assume!(bytes[at] != byte);
            bytes[at] = byte;
            let altered = String::from_utf8_lossy(&bytes).into_owned();
            prop_assert!(block_on(fixture.verifier.verify(&altered)).is_err(), "{:?} byte {} -> {}", fixture.key.algorithm(), at, byte);
        }
    }

    #[test]
    fn removing_or_inserting_a_byte_fails_verification(index in any::<prop::sample::Index>(), byte in any::<u8>()) {
        for fixture in fixtures() {
            let mut bytes = fixture.token.clone().into_bytes();
            let at = index.index(bytes.len());
            let mut removed = bytes.clone();
            removed.remove(at);
            prop_assert!(block_on(fixture.verifier.verify(&String::from_utf8_lossy(&removed))).is_err());
            bytes.insert(at, byte);
            prop_assert!(block_on(fixture.verifier.verify(&String::from_utf8_lossy(&bytes))).is_err());
        }
    }

    #[test]
    fn arbitrary_strings_never_panic_the_verifier(input in ".{0,600}") {
        for fixture in fixtures() {
            prop_assert!(block_on(fixture.verifier.verify(&input)).is_err());
        }
    }

    #[test]
    fn arbitrary_base64url_triples_never_panic_the_verifier(
        header in prop::collection::vec(any::<u8>(), 0..200),
        payload in prop::collection::vec(any::<u8>(), 0..400),
        signature in prop::collection::vec(any::<u8>(), 0..300),
    ) {
        let token = format!("{}.{}.{}", b64(&header), b64(&payload), b64(&signature));
        for fixture in fixtures() {
            prop_assert!(block_on(fixture.verifier.verify(&token)).is_err());
        }
    }

    #[test]
    fn arbitrary_validly_signed_claims_never_panic_the_verifier(claims in any_claims(), header_extra in any_json()) {
        for fixture in fixtures() {
            let secret_or_key = match fixture.key.algorithm() {
                Algorithm::Hs256 => None,
                _ => Some(encoding_key(&fixture.key)),
            };
            let Some(encoding) = secret_or_key else { continue };
            let mut header = header_for(&fixture.key);
            if let Value::Object(extra) = &header_extra {
                for (name, value) in extra {
                    header[name.as_str()] = value.clone();
                }
            }
            let alg = match fixture.key.algorithm() {
                Algorithm::Rs256 => jsonwebtoken::Algorithm::RS256,
                Algorithm::Es256 => jsonwebtoken::Algorithm::ES256,
                _ => jsonwebtoken::Algorithm::EdDSA,
            };
            let token = forge(&header, &claims, &encoding, alg);
            let result = block_on(fixture.verifier.verify(&token));
            // Whatever the verdict, an accepted token has the registered claims right.
            if let Ok(verified) = result {
                prop_assert_eq!(verified.iss.as_str(), ISS);
                prop_assert_eq!(verified.aud.as_str(), AUD);
                prop_assert!(verified.exp > now() - 1);
            }
        }
    }
}

#[test]
fn fixtures_cover_every_algorithm() {
    let algs: Vec<_> = fixtures().iter().map(|f| f.key.algorithm()).collect();
    assert_eq!(algs, ALGORITHMS);
    let _unused: Option<Arc<NoExtraClaims>> = None;
}
