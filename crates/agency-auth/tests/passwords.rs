//! Password hashing: round trips, upgrade-on-login, the policy, the bounded pool, and attacks.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use agency_auth::passwords::{
    Argon2Params, Password, PasswordError, PasswordHasher, PasswordHasherConfig, PasswordPolicy,
    Pepper, PolicyViolation, Verification,
};
use proptest::prelude::*;

/// Small parameters: these tests check behaviour, not cost (one test uses the defaults).
fn small() -> Argon2Params {
    Argon2Params::new(64, 1, 1).unwrap()
}

fn hasher(params: Argon2Params) -> PasswordHasher {
    PasswordHasher::new(
        PasswordHasherConfig::default()
            .with_params(params)
            .with_workers(2),
    )
    .unwrap()
}

#[tokio::test]
async fn default_parameters_are_owasp_argon2id() {
    let hasher = PasswordHasher::with_defaults().unwrap();
    let hash = hasher
        .hash(&Password::from("violet tractor oboe"))
        .await
        .unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert_eq!(
        hasher
            .verify(&Password::from("violet tractor oboe"), &hash)
            .await
            .unwrap(),
        Verification::Valid {
            needs_rehash: false
        }
    );
}

#[tokio::test]
async fn wrong_password_is_invalid() {
    let hasher = hasher(small());
    let hash = hasher
        .hash(&Password::from("correct horse battery"))
        .await
        .unwrap();
    for wrong in [
        "correct horse batter",
        "correct horse battery ",
        "Correct horse battery",
        "",
    ] {
        assert_eq!(
            hasher.verify(&Password::from(wrong), &hash).await.unwrap(),
            Verification::Invalid,
            "{wrong:?}"
        );
    }
}

#[tokio::test]
async fn same_password_gets_a_different_salt_each_time() {
    let hasher = hasher(small());
    let a = hasher
        .hash(&Password::from("same password here"))
        .await
        .unwrap();
    let b = hasher
        .hash(&Password::from("same password here"))
        .await
        .unwrap();
    assert_ne!(a, b);
}

#[tokio::test]
async fn weaker_stored_hash_reports_needs_rehash_and_upgrades() {
    let old = hasher(small())
        .hash(&Password::from("upgrade me please"))
        .await
        .unwrap();
    let current = hasher(Argon2Params::new(128, 2, 1).unwrap());
    let verification = current
        .verify(&Password::from("upgrade me please"), &old)
        .await
        .unwrap();
    assert_eq!(verification, Verification::Valid { needs_rehash: true });

    let upgraded = current
        .hash(&Password::from("upgrade me please"))
        .await
        .unwrap();
    assert!(upgraded.contains("$m=128,t=2,p=1$"));
    assert_eq!(
        current
            .verify(&Password::from("upgrade me please"), &upgraded)
            .await
            .unwrap(),
        Verification::Valid {
            needs_rehash: false
        }
    );
}

#[tokio::test]
async fn stronger_stored_hash_does_not_need_rehash() {
    let strong = hasher(Argon2Params::new(256, 2, 1).unwrap())
        .hash(&Password::from("already strong enough"))
        .await
        .unwrap();
    let current = hasher(small());
    assert_eq!(
        current
            .verify(&Password::from("already strong enough"), &strong)
            .await
            .unwrap(),
        Verification::Valid {
            needs_rehash: false
        }
    );
}

#[tokio::test]
async fn argon2i_and_old_version_hashes_verify_and_need_rehash() {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    use argon2::{Algorithm, Argon2, Params, Version};
    let salt = SaltString::encode_b64(&[3u8; 16]).unwrap();
    for (algorithm, version) in [
        (Algorithm::Argon2i, Version::V0x13),
        (Algorithm::Argon2d, Version::V0x13),
        (Algorithm::Argon2id, Version::V0x10),
    ] {
        let params = Params::new(64, 1, 1, None).unwrap();
        let phc = Argon2::new(algorithm, version, params)
            .hash_password(b"legacy password", &salt)
            .unwrap()
            .to_string();
        let verification = hasher(small())
            .verify(&Password::from("legacy password"), &phc)
            .await
            .unwrap();
        assert_eq!(
            verification,
            Verification::Valid { needs_rehash: true },
            "{phc}"
        );
    }
}

#[tokio::test]
async fn hashes_from_the_argon2_crate_verify() {
    use argon2::password_hash::{PasswordHasher as _, SaltString};
    let salt = SaltString::encode_b64(&[9u8; 16]).unwrap();
    let phc = argon2::Argon2::default()
        .hash_password(b"made elsewhere", &salt)
        .unwrap()
        .to_string();
    let hasher = PasswordHasher::with_defaults().unwrap();
    assert!(
        hasher
            .verify(&Password::from("made elsewhere"), &phc)
            .await
            .unwrap()
            .is_valid()
    );
}

#[tokio::test]
async fn unknown_user_dummy_verification_is_always_invalid() {
    let hasher = hasher(small());
    for password in ["", "password", "violet tractor oboe", "x"] {
        assert_eq!(
            hasher
                .verify_dummy(&Password::from(password))
                .await
                .unwrap(),
            Verification::Invalid
        );
    }
}

/// The dummy path must do the same argon2 work as a real verification: prove it goes through
/// the pool (a saturated pool refuses it exactly as it refuses a real verification).
/// The dummy path must do the same argon2 work as a real verification: prove it goes through
/// the bounded pool (a burst of dummy verifications is refused beyond one worker and one queue
/// slot, exactly as real ones are). A dummy path that skipped the work would never be refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_dummy_verification_does_real_work() {
    let config = PasswordHasherConfig::default()
        .with_params(Argon2Params::new(8 * 1024, 2, 1).unwrap())
        .with_workers(1)
        .with_queue_capacity(1);
    let hasher = PasswordHasher::new(config).unwrap();
    let burst: Vec<_> = (0..16)
        .map(|_| {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.verify_dummy(&Password::from("probe")).await })
        })
        .collect();
    let mut refused = 0;
    let mut invalid = 0;
    for task in burst {
        match task.await.unwrap() {
            Err(PasswordError::Overloaded) => refused += 1,
            Ok(Verification::Invalid) => invalid += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        refused > 0,
        "16 concurrent dummy verifications never filled 1 worker + 1 slot"
    );
    assert!(invalid > 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_flood_beyond_the_queue_is_refused_not_queued_forever() {
    let config = PasswordHasherConfig::default()
        .with_params(Argon2Params::new(4 * 1024, 2, 1).unwrap())
        .with_workers(1)
        .with_queue_capacity(4);
    let hasher = PasswordHasher::new(config).unwrap();
    let hash = hasher
        .hash(&Password::from("flood target pw"))
        .await
        .unwrap();

    let attempts: Vec<_> = (0..64)
        .map(|i| {
            let hasher = hasher.clone();
            let hash = hash.clone();
            tokio::spawn(async move {
                hasher
                    .verify(&Password::from(format!("guess {i}")), &hash)
                    .await
            })
        })
        .collect();
    let mut overloaded = 0;
    let mut answered = 0;
    for attempt in attempts {
        match attempt.await.unwrap() {
            Err(PasswordError::Overloaded) => overloaded += 1,
            Ok(Verification::Invalid) => answered += 1,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(
        overloaded > 0,
        "a 64-request flood never hit the bound of 1 worker + 4 queued"
    );
    assert!(answered >= 1);
    assert_eq!(overloaded + answered, 64);
    // The pool still works after the flood.
    assert!(
        hasher
            .verify(&Password::from("flood target pw"), &hash)
            .await
            .unwrap()
            .is_valid()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_concurrent_verifications_within_the_queue_all_complete() {
    let config = PasswordHasherConfig::default()
        .with_params(small())
        .with_workers(2)
        .with_queue_capacity(128);
    let hasher = PasswordHasher::new(config).unwrap();
    let hash = hasher.hash(&Password::from("many at once")).await.unwrap();
    let tasks: Vec<_> = (0..64)
        .map(|i| {
            let hasher = hasher.clone();
            let hash = hash.clone();
            tokio::spawn(async move {
                let typed = if i % 2 == 0 { "many at once" } else { "not it" };
                (
                    i,
                    hasher.verify(&Password::from(typed), &hash).await.unwrap(),
                )
            })
        })
        .collect();
    for task in tasks {
        let (i, verification) = task.await.unwrap();
        assert_eq!(verification.is_valid(), i % 2 == 0);
    }
}

/// argon2 runs on the pool's threads: a single-threaded runtime keeps serving other tasks while
/// a (deliberately expensive) verification is in progress. Were the work done inside the future's
/// poll, the runtime's only thread would be stuck in it and the verification would be finished
/// before any other task ran.
#[tokio::test(flavor = "current_thread")]
async fn hashing_never_blocks_the_async_runtime() {
    let hasher = PasswordHasher::new(
        PasswordHasherConfig::default()
            .with_params(Argon2Params::new(64 * 1024, 3, 1).unwrap())
            .with_workers(1),
    )
    .unwrap();
    let verification = {
        let hasher = hasher.clone();
        tokio::spawn(async move {
            hasher
                .verify_dummy(&Password::from("slow on purpose"))
                .await
        })
    };
    let other_work = tokio::spawn(async { 6 * 7 });
    assert_eq!(other_work.await.unwrap(), 42);
    assert!(
        !verification.is_finished(),
        "the runtime thread ran the argon2 work itself"
    );
    assert_eq!(verification.await.unwrap().unwrap(), Verification::Invalid);
}

#[test]
fn shared_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<PasswordHasher>();
    assert_send_sync::<Password>();
    assert_send_sync::<PasswordError>();
}

#[tokio::test]
async fn policy_is_enforced_when_hashing() {
    let hasher = hasher(small());
    assert_eq!(
        hasher.hash(&Password::from("short")).await,
        Err(PasswordError::Policy(PolicyViolation::TooShort {
            min_chars: 8
        }))
    );
    assert_eq!(
        hasher.hash(&Password::from("Iloveyou1")).await,
        Err(PasswordError::Policy(PolicyViolation::Common))
    );
    let relaxed = PasswordHasher::new(
        PasswordHasherConfig::default()
            .with_params(small())
            .with_policy(PasswordPolicy::default().with_common_password_check(false)),
    )
    .unwrap();
    assert!(relaxed.hash(&Password::from("iloveyou1")).await.is_ok());
}

/// bcrypt-style truncation lets "<72 bytes>anything" log in as "<72 bytes>": no truncation here.
#[tokio::test]
async fn attack_long_password_truncation() {
    let hasher = hasher(small());
    let base = "k".repeat(100) + "-tail-one";
    let hash = hasher.hash(&Password::from(base.as_str())).await.unwrap();
    let other_tail = "k".repeat(100) + "-tail-two";
    assert_eq!(
        hasher
            .verify(&Password::from(other_tail), &hash)
            .await
            .unwrap(),
        Verification::Invalid
    );
    let prefix = "k".repeat(100);
    assert_eq!(
        hasher.verify(&Password::from(prefix), &hash).await.unwrap(),
        Verification::Invalid
    );
    // Above the maximum: refused when setting, never silently cut.
    assert_eq!(
        hasher.hash(&Password::new("k".repeat(257))).await,
        Err(PasswordError::Policy(PolicyViolation::TooLong {
            max_bytes: 256
        }))
    );
}

/// Megabyte passwords at login are refused before any hashing work.
#[tokio::test]
async fn attack_oversized_password_at_login() {
    let hasher = hasher(small());
    let hash = hasher
        .hash(&Password::from("normal password"))
        .await
        .unwrap();
    let huge = Password::new("a".repeat(1 << 20));
    assert_eq!(
        hasher.verify(&huge, &hash).await.unwrap(),
        Verification::Invalid
    );
    assert_eq!(
        hasher.verify_dummy(&huge).await.unwrap(),
        Verification::Invalid
    );
}

/// A planted row with m = 4 GiB must not make one login allocate 4 GiB.
#[tokio::test]
async fn attack_stored_hash_with_huge_cost() {
    let hasher = hasher(small());
    let planted = "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$\
                   AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    assert_eq!(
        hasher
            .verify(&Password::from("anything goes"), planted)
            .await,
        Err(PasswordError::StoredCostTooHigh)
    );
    let many_passes = planted.replace("m=4194304,t=1", "m=64,t=100000");
    assert_eq!(
        hasher
            .verify(&Password::from("anything goes"), &many_passes)
            .await,
        Err(PasswordError::StoredCostTooHigh)
    );
}

/// Changing any character of the hash part makes the right password fail (or the hash unusable).
#[tokio::test]
async fn attack_modified_stored_hash() {
    let hasher = hasher(small());
    let hash = hasher
        .hash(&Password::from("tamper with me"))
        .await
        .unwrap();
    let hash_start = hash.rfind('$').unwrap() + 1;
    for index in hash_start..hash.len() {
        let mut bytes = hash.clone().into_bytes();
        bytes[index] = if bytes[index] == b'A' { b'B' } else { b'A' };
        let modified = String::from_utf8(bytes).unwrap();
        match hasher
            .verify(&Password::from("tamper with me"), &modified)
            .await
        {
            Ok(Verification::Invalid) | Err(PasswordError::MalformedHash) => {}
            other => panic!("modified hash at {index} gave {other:?}"),
        }
    }
}

/// A hash whose parameters were lowered in place (m=19456 → m=8) no longer matches.
#[tokio::test]
async fn attack_downgraded_parameters_in_stored_hash() {
    let hasher = hasher(Argon2Params::new(128, 1, 1).unwrap());
    let hash = hasher
        .hash(&Password::from("downgrade attempt"))
        .await
        .unwrap();
    let downgraded = hash.replace("m=128", "m=64");
    assert_eq!(
        hasher
            .verify(&Password::from("downgrade attempt"), &downgraded)
            .await
            .unwrap(),
        Verification::Invalid
    );
}

#[tokio::test]
async fn unusable_stored_hashes_are_errors_not_matches() {
    let hasher = hasher(small());
    let pw = Password::from("some password");
    for stored in [
        "",
        "plaintext-password",
        "$argon2id$",
        "$argon2id$v=19$m=64,t=1,p=1$",
        "$argon2id$v=19$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA",
        "$2b$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
        "$argon2id$v=99$m=64,t=1,p=1$c29tZXNhbHRzb21lc2FsdA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ] {
        let result = hasher.verify(&pw, stored).await;
        assert!(
            matches!(
                result,
                Err(PasswordError::MalformedHash | PasswordError::UnsupportedHash)
            ),
            "{stored:?} gave {result:?}"
        );
    }
}

#[tokio::test]
async fn errors_and_debug_never_contain_the_password() {
    let hasher = hasher(small());
    let secret = "Zebra-Quartz-9917";
    let pw = Password::from(secret);
    assert!(!format!("{pw:?}").contains(secret));
    assert!(!format!("{hasher:?}").contains(secret));
    let err = hasher.verify(&pw, "garbage").await.unwrap_err();
    assert!(!format!("{err} {err:?}").contains(secret));
}

#[tokio::test]
async fn abandoned_requests_do_not_wedge_the_pool() {
    let config = PasswordHasherConfig::default()
        .with_params(Argon2Params::new(2 * 1024, 2, 1).unwrap())
        .with_workers(1)
        .with_queue_capacity(32);
    let hasher = PasswordHasher::new(config).unwrap();
    let hash = hasher
        .hash(&Password::from("abandon ship now"))
        .await
        .unwrap();
    for _ in 0..20 {
        let _ = tokio::time::timeout(
            Duration::from_micros(1),
            hasher.verify(&Password::from("abandon ship now"), &hash),
        )
        .await;
    }
    assert!(
        hasher
            .verify(&Password::from("abandon ship now"), &hash)
            .await
            .unwrap()
            .is_valid()
    );
}

fn peppered(current: u32, previous: &[u32]) -> PasswordHasher {
    let mut config = PasswordHasherConfig::default()
        .with_params(small())
        .with_pepper(Pepper::new(current, &[u8::try_from(current).unwrap(); 32]).unwrap());
    for id in previous {
        config = config
            .with_previous_pepper(Pepper::new(*id, &[u8::try_from(*id).unwrap(); 32]).unwrap());
    }
    PasswordHasher::new(config).unwrap()
}

#[tokio::test]
async fn peppered_hashes_record_the_pepper_id_and_verify() {
    let hasher = peppered(7, &[]);
    let hash = hasher
        .hash(&Password::from("peppered password"))
        .await
        .unwrap();
    // keyid = 7 as 4 bytes big-endian, base64: AAAABw
    assert!(hash.contains(",keyid=AAAABw$"), "{hash}");
    assert_eq!(
        hasher
            .verify(&Password::from("peppered password"), &hash)
            .await
            .unwrap(),
        Verification::Valid {
            needs_rehash: false
        }
    );
    assert_eq!(
        hasher
            .verify(&Password::from("peppered passwort"), &hash)
            .await
            .unwrap(),
        Verification::Invalid
    );
    assert_eq!(
        hasher.verify_dummy(&Password::from("x")).await.unwrap(),
        Verification::Invalid
    );
    let shown = format!("{hasher:?}");
    assert!(
        shown.contains("<redacted>") && !shown.contains("7, 7"),
        "{shown}"
    );
}

/// A stolen users table without the pepper: the hash does not verify with the right password,
/// neither with the bare argon2 crate nor with a hasher that lacks the pepper.
#[tokio::test]
async fn attack_offline_guessing_without_the_pepper() {
    use argon2::PasswordVerifier as _;
    let hash = peppered(1, &[])
        .hash(&Password::from("correct password"))
        .await
        .unwrap();
    let parsed = argon2::PasswordHash::new(&hash).unwrap();
    assert!(
        argon2::Argon2::default()
            .verify_password(b"correct password", &parsed)
            .is_err()
    );
    assert_eq!(
        hasher(small())
            .verify(&Password::from("correct password"), &hash)
            .await,
        Err(PasswordError::UnknownPepper)
    );
    // Same pepper id, different pepper bytes (a wrong secret restored): no match.
    let impostor = PasswordHasher::new(
        PasswordHasherConfig::default()
            .with_params(small())
            .with_pepper(Pepper::new(1, &[0xEE; 32]).unwrap()),
    )
    .unwrap();
    assert_eq!(
        impostor
            .verify(&Password::from("correct password"), &hash)
            .await
            .unwrap(),
        Verification::Invalid
    );
}

/// Someone who can write the users table strips the keyid from a peppered hash, hoping it is
/// then checked without the pepper: it no longer matches.
#[tokio::test]
async fn attack_stripped_pepper_id() {
    let hasher = peppered(3, &[]);
    let hash = hasher
        .hash(&Password::from("strip the pepper"))
        .await
        .unwrap();
    let stripped = hash.replace(",keyid=AAAAAw", "");
    assert_ne!(stripped, hash);
    assert_eq!(
        hasher
            .verify(&Password::from("strip the pepper"), &stripped)
            .await
            .unwrap(),
        Verification::Invalid
    );
}

#[tokio::test]
async fn pepper_rotation_and_adoption_upgrade_on_login() {
    let unpeppered = hasher(small())
        .hash(&Password::from("adopt a pepper"))
        .await
        .unwrap();
    let old = peppered(1, &[])
        .hash(&Password::from("adopt a pepper"))
        .await
        .unwrap();
    let rotated = peppered(2, &[1]);
    for stored in [&unpeppered, &old] {
        assert_eq!(
            rotated
                .verify(&Password::from("adopt a pepper"), stored)
                .await
                .unwrap(),
            Verification::Valid { needs_rehash: true },
            "{stored}"
        );
    }
    let new = rotated
        .hash(&Password::from("adopt a pepper"))
        .await
        .unwrap();
    assert!(new.contains(",keyid=AAAAAg$"));
    assert_eq!(
        rotated
            .verify(&Password::from("adopt a pepper"), &new)
            .await
            .unwrap(),
        Verification::Valid {
            needs_rehash: false
        }
    );
    // Dropping the pepper later makes peppered hashes need a rehash... but they only verify
    // while the pepper is still configured as a previous one.
    let dropped = PasswordHasher::new(
        PasswordHasherConfig::default()
            .with_params(small())
            .with_previous_pepper(Pepper::new(2, &[2; 32]).unwrap()),
    )
    .unwrap();
    assert_eq!(
        dropped
            .verify(&Password::from("adopt a pepper"), &new)
            .await
            .unwrap(),
        Verification::Valid { needs_rehash: true }
    );
}

#[test]
fn invalid_configurations_are_refused() {
    let zero_workers = PasswordHasherConfig::default().with_workers(0);
    assert!(matches!(
        PasswordHasher::new(zero_workers),
        Err(PasswordError::InvalidConfig(_))
    ));
    let limits_below_params = PasswordHasherConfig::default().with_max_stored_cost(1024, 16, 16);
    assert!(matches!(
        PasswordHasher::new(limits_below_params),
        Err(PasswordError::InvalidConfig(_))
    ));
    assert!(Argon2Params::new(64, 0, 1).is_err());
    let huge_queue = PasswordHasherConfig::default().with_queue_capacity(usize::MAX);
    assert!(matches!(
        PasswordHasher::new(huge_queue),
        Err(PasswordError::InvalidConfig(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Arbitrary stored-hash text never panics the verifier and never verifies.
    #[test]
    fn arbitrary_stored_hash_never_panics(stored in "\\PC{0,200}", phc_like in "\\$argon2(id|i|d)\\$v=(16|19)\\$m=[0-9]{1,6},t=[0-9]{1,3},p=[0-9]{1,2}\\$[A-Za-z0-9+/]{0,30}\\$[A-Za-z0-9+/]{0,50}") {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let hasher = PasswordHasher::new(
            PasswordHasherConfig::default()
                .with_params(Argon2Params::new(64, 1, 1).unwrap())
                .with_workers(1)
                .with_max_stored_cost(1024, 4, 4),
        )
        .unwrap();
        for candidate in [stored.as_str(), phc_like.as_str()] {
            let result = runtime.block_on(hasher.verify(&Password::from("pw"), candidate));
            prop_assert!(!matches!(result, Ok(Verification::Valid { .. })), "{candidate:?} verified");
        }
    }

    /// The policy never panics and its verdict matches its rules.
    #[test]
    fn policy_verdicts_follow_the_rules(text in "\\PC{0,80}") {
        let policy = PasswordPolicy::default();
        let password = Password::new(text.clone());
        let verdict = policy.check(&password);
        if text.len() > 256 {
            prop_assert_eq!(verdict, Err(PolicyViolation::TooLong { max_bytes: 256 }));
        } else if text.chars().count() < 8 {
            prop_assert_eq!(verdict, Err(PolicyViolation::TooShort { min_chars: 8 }));
        } else if agency_auth::passwords::is_common_password(&text) {
            prop_assert_eq!(verdict, Err(PolicyViolation::Common));
        } else {
            prop_assert_eq!(verdict, Ok(()));
        }
    }
}
