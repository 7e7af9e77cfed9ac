//! API keys: creation, strict parsing, verification, rotation, and the attacks against them.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use agency_auth::api_keys::{
    ApiKeyError, ApiKeyHashingKey, ApiKeyHashingKeys, ApiKeyManager, ApiKeyRecord, CreatedApiKey,
    LastUsedTracker, LastUsedUpdate, NewApiKey,
};
use proptest::prelude::*;
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp(1_750_000_000).unwrap()
}

fn manager() -> ApiKeyManager {
    ApiKeyManager::new(
        "agency",
        ApiKeyHashingKeys::new(ApiKeyHashingKey::new(1, &[0x11; 32]).unwrap()),
    )
    .unwrap()
}

fn create(manager: &ApiKeyManager) -> CreatedApiKey {
    manager
        .create(
            NewApiKey::new(
                "user-1",
                "acme",
                "ci",
                vec!["agents:read".into(), "tasks:dispatch".into()],
            ),
            now(),
        )
        .unwrap()
}

/// Verifies `text` the way a server does: parse, look up by id in `records`, verify.
fn authenticate(
    manager: &ApiKeyManager,
    records: &[&ApiKeyRecord],
    text: &str,
    at: OffsetDateTime,
) -> Result<(), ApiKeyError> {
    let presented = manager.parse(text)?;
    let record = records
        .iter()
        .find(|r| r.id == presented.id())
        .ok_or(ApiKeyError::UnknownKey)?;
    manager.verify(&presented, record, at)
}

#[test]
fn created_key_has_the_documented_shape_and_verifies() {
    let manager = manager();
    let created = create(&manager);
    let text = created.key.expose();
    let parts: Vec<&str> = text.split('_').collect();
    assert_eq!(parts.len(), 3);
    assert_eq!(parts[0], "agency");
    assert_eq!(parts[1], created.record.id);
    assert_eq!(parts[1].len(), 24);
    assert_eq!(parts[2].len(), 56); // 280 bits of base32
    assert!(parts[1..].iter().all(|p| {
        p.bytes()
            .all(|b| b.is_ascii_lowercase() || (b'2'..=b'7').contains(&b))
    }));
    assert_eq!(created.key.id(), created.record.id);
    assert_eq!(created.record.secret_hash.len(), 32);
    assert_eq!(created.record.hash_key_version, 1);
    assert_eq!(created.record.scopes, vec!["agents:read", "tasks:dispatch"]);
    assert_eq!(
        authenticate(&manager, &[&created.record], text, now()),
        Ok(())
    );
}

#[test]
fn record_never_contains_the_secret() {
    let manager = manager();
    let created = create(&manager);
    let secret = created.key.expose().rsplit('_').next().unwrap().to_owned();
    // The listing view is what reaches clients; neither the secret nor its hash is in it.
    let json = serde_json::to_string(&created.record.view()).unwrap();
    assert!(!json.contains(&secret));
    let hash_as_json = serde_json::to_string(&created.record.secret_hash).unwrap();
    assert!(!json.contains(hash_as_json.trim_matches(['[', ']'])));
    assert!(!json.contains("secret_hash"));
    assert!(!format!("{:?}", created.record).contains(&secret));
    assert!(!format!("{:?}", created.key).contains(&secret));
    assert!(!format!("{created:?}").contains(&secret));
}

#[test]
fn keys_are_unique() {
    let manager = manager();
    let mut ids = std::collections::HashSet::new();
    let mut texts = std::collections::HashSet::new();
    for _ in 0..200 {
        let created = create(&manager);
        assert!(ids.insert(created.record.id.clone()));
        assert!(texts.insert(created.key.expose().to_owned()));
    }
}

#[test]
fn attack_wrong_secret_for_a_valid_id() {
    let manager = manager();
    let victim = create(&manager);
    let other = create(&manager);
    let other_secret = other.key.expose().rsplit('_').next().unwrap();
    let forged = format!("agency_{}_{}", victim.record.id, other_secret);
    assert_eq!(
        authenticate(&manager, &[&victim.record, &other.record], &forged, now()),
        Err(ApiKeyError::InvalidSecret)
    );
}

/// The attacker's own valid secret paired with a victim's (listed, public) id.
#[test]
fn attack_swapped_id() {
    let manager = manager();
    let victim = create(&manager);
    let attacker = create(&manager);
    let attacker_secret = attacker.key.expose().rsplit('_').next().unwrap();
    let swapped = format!("agency_{}_{}", victim.record.id, attacker_secret);
    assert_eq!(
        authenticate(
            &manager,
            &[&victim.record, &attacker.record],
            &swapped,
            now()
        ),
        Err(ApiKeyError::InvalidSecret)
    );
}

/// Someone who can write the keys table copies their own key's hash onto the victim's record:
/// the id is bound into the hash, so their secret still does not open the victim's key.
#[test]
fn attack_hash_copied_between_records() {
    let manager = manager();
    let mut victim = create(&manager).record;
    let attacker = create(&manager);
    victim.secret_hash = attacker.record.secret_hash.clone();
    let attacker_secret = attacker.key.expose().rsplit('_').next().unwrap();
    let text = format!("agency_{}_{}", victim.id, attacker_secret);
    assert_eq!(
        authenticate(&manager, &[&victim], &text, now()),
        Err(ApiKeyError::InvalidSecret)
    );
}

/// A record found under another id (a caller's lookup bug) never verifies.
#[test]
fn attack_record_of_another_key() {
    let manager = manager();
    let a = create(&manager);
    let b = create(&manager);
    let presented = manager.parse(a.key.expose()).unwrap();
    assert_eq!(
        manager.verify(&presented, &b.record, now()),
        Err(ApiKeyError::InvalidSecret)
    );
}

#[test]
fn attack_truncated_key() {
    let manager = manager();
    let created = create(&manager);
    let text = created.key.expose();
    for len in 0..text.len() {
        let result = authenticate(&manager, &[&created.record], &text[..len], now());
        assert!(result.is_err(), "truncated to {len} bytes was accepted");
    }
}

#[test]
fn attack_extended_key() {
    let manager = manager();
    let created = create(&manager);
    for suffix in ["a", "_", "_x", " ", "\n", "=", "aaaaaaaa"] {
        let text = format!("{}{suffix}", created.key.expose());
        assert!(
            authenticate(&manager, &[&created.record], &text, now()).is_err(),
            "{suffix:?}"
        );
    }
    let prefixed = format!(" {}", created.key.expose());
    assert!(authenticate(&manager, &[&created.record], &prefixed, now()).is_err());
}

#[test]
fn attack_expired_key() {
    let manager = manager();
    let created = manager
        .create(
            NewApiKey::new("u", "t", "short-lived", vec![]).expires_at(now() + Duration::hours(1)),
            now(),
        )
        .unwrap();
    let text = created.key.expose();
    assert_eq!(
        authenticate(
            &manager,
            &[&created.record],
            text,
            now() + Duration::minutes(59)
        ),
        Ok(())
    );
    assert_eq!(
        authenticate(
            &manager,
            &[&created.record],
            text,
            now() + Duration::hours(1)
        ),
        Err(ApiKeyError::Expired)
    );
    assert_eq!(
        authenticate(
            &manager,
            &[&created.record],
            text,
            now() + Duration::days(400)
        ),
        Err(ApiKeyError::Expired)
    );
}

#[test]
fn attack_revoked_key() {
    let manager = manager();
    let created = create(&manager);
    let mut record = created.record.clone();
    record.revoked_at = Some(now() + Duration::minutes(5));
    assert_eq!(
        authenticate(
            &manager,
            &[&record],
            created.key.expose(),
            now() + Duration::minutes(6)
        ),
        Err(ApiKeyError::Revoked)
    );
    // Revocation wins over expiry, and both only after the secret matched.
    record.expires_at = Some(now() + Duration::minutes(1));
    assert_eq!(
        authenticate(
            &manager,
            &[&record],
            created.key.expose(),
            now() + Duration::minutes(6)
        ),
        Err(ApiKeyError::Revoked)
    );
}

/// Without the secret, nobody learns whether a key is revoked or expired.
#[test]
fn attack_probing_state_without_the_secret() {
    let manager = manager();
    let mut record = create(&manager).record;
    record.revoked_at = Some(now());
    record.expires_at = Some(now());
    let probe = format!("agency_{}_{}", record.id, "a".repeat(56));
    assert_eq!(
        authenticate(&manager, &[&record], &probe, now() + Duration::days(1)),
        Err(ApiKeyError::InvalidSecret)
    );
}

#[test]
fn attack_key_of_another_prefix() {
    let production = manager();
    let staging = ApiKeyManager::new(
        "staging",
        ApiKeyHashingKeys::new(ApiKeyHashingKey::new(1, &[0x11; 32]).unwrap()),
    )
    .unwrap();
    let staging_key = create(&staging);
    assert_eq!(
        authenticate(
            &production,
            &[&staging_key.record],
            staging_key.key.expose(),
            now()
        ),
        Err(ApiKeyError::WrongPrefix)
    );
    // Re-labelling it with this prefix does not help, even with a shared hashing key: the
    // prefix is part of the hashed text.
    let relabelled = staging_key.key.expose().replacen("staging_", "agency_", 1);
    assert_eq!(
        authenticate(&production, &[&staging_key.record], &relabelled, now()),
        Err(ApiKeyError::InvalidSecret)
    );
}

/// Keys hashed by a deployment with another hashing key do not verify here.
#[test]
fn attack_key_from_a_deployment_with_another_hashing_key() {
    let ours = manager();
    let theirs = ApiKeyManager::new(
        "agency",
        ApiKeyHashingKeys::new(ApiKeyHashingKey::new(1, &[0x22; 32]).unwrap()),
    )
    .unwrap();
    let foreign = create(&theirs);
    assert_eq!(
        authenticate(&ours, &[&foreign.record], foreign.key.expose(), now()),
        Err(ApiKeyError::InvalidSecret)
    );
}

#[test]
fn attack_case_and_alphabet_variants() {
    let manager = manager();
    let created = create(&manager);
    let upper = created.key.expose().to_uppercase();
    assert!(authenticate(&manager, &[&created.record], &upper, now()).is_err());
    let text = created.key.expose();
    let secret_start = text.rfind('_').unwrap() + 1;
    for replacement in ['0', '1', '8', '9', '=', '-', 'A', 'é'] {
        let mut forged = text[..secret_start].to_owned();
        forged.push(replacement);
        forged.push_str(&text[secret_start + 1..]);
        assert_eq!(
            authenticate(&manager, &[&created.record], &forged, now()),
            Err(ApiKeyError::Malformed),
            "{replacement:?}"
        );
    }
}

#[test]
fn unknown_hashing_key_version_is_reported() {
    let manager = manager();
    let created = create(&manager);
    let mut record = created.record.clone();
    record.hash_key_version = 7;
    assert_eq!(
        authenticate(&manager, &[&record], created.key.expose(), now()),
        Err(ApiKeyError::UnknownHashKeyVersion(7))
    );
}

#[test]
fn hashing_key_rotation_keeps_old_keys_working_and_rehashes() {
    let old = manager();
    let created = create(&old);
    let rotated = ApiKeyManager::new(
        "agency",
        ApiKeyHashingKeys::new(ApiKeyHashingKey::new(2, &[0x33; 32]).unwrap())
            .with_previous(ApiKeyHashingKey::new(1, &[0x11; 32]).unwrap())
            .unwrap(),
    )
    .unwrap();
    let presented = rotated.parse(created.key.expose()).unwrap();
    assert_eq!(rotated.verify(&presented, &created.record, now()), Ok(()));
    assert!(rotated.needs_rehash(&created.record));
    let upgraded = rotated.rehash(&presented, &created.record, now()).unwrap();
    assert_eq!(upgraded.hash_key_version, 2);
    assert!(!rotated.needs_rehash(&upgraded));
    assert_eq!(rotated.verify(&presented, &upgraded, now()), Ok(()));
    // Rehash refuses a key that does not verify.
    let wrong = rotated.parse(create(&old).key.expose()).unwrap();
    assert_eq!(
        rotated.rehash(&wrong, &created.record, now()),
        Err(ApiKeyError::InvalidSecret)
    );
}

#[test]
fn creation_validates_its_input() {
    let manager = manager();
    let bad = |request: NewApiKey| manager.create(request, now()).unwrap_err();
    assert_eq!(
        bad(NewApiKey::new("u", "t", "n", vec!["agents".into()])),
        ApiKeyError::InvalidScope("agents".into())
    );
    assert_eq!(
        bad(NewApiKey::new("u", "t", "n", vec!["agents:*".into()])),
        ApiKeyError::InvalidScope("agents:*".into())
    );
    assert_eq!(
        bad(NewApiKey::new("u", "t", "", vec![])),
        ApiKeyError::InvalidName
    );
    assert_eq!(
        bad(NewApiKey::new("u", "t", "a\nb", vec![])),
        ApiKeyError::InvalidName
    );
    assert_eq!(
        bad(NewApiKey::new("u", "t", "x".repeat(101), vec![])),
        ApiKeyError::InvalidName
    );
    assert_eq!(
        bad(NewApiKey::new("u", "t", "n", vec![]).expires_at(now())),
        ApiKeyError::InvalidExpiry
    );
    let many: Vec<String> = (0..65).map(|i| format!("res{i}:read")).collect();
    assert_eq!(
        bad(NewApiKey::new("u", "t", "n", many)),
        ApiKeyError::TooManyScopes
    );
    let duplicates = manager
        .create(
            NewApiKey::new(
                "u",
                "t",
                "n",
                vec!["b:x".into(), "a:y".into(), "b:x".into()],
            ),
            now(),
        )
        .unwrap();
    assert_eq!(duplicates.record.scopes, vec!["a:y", "b:x"]);
}

#[test]
fn last_used_tracker_writes_once_per_interval_under_load() {
    let manager = manager();
    let created = create(&manager);
    let tracker = LastUsedTracker::default();
    let mut record = created.record.clone();
    let mut writes = 0;
    for second in 0..180 {
        let at = now() + Duration::seconds(second);
        authenticate(&manager, &[&record], created.key.expose(), at).unwrap();
        if tracker.record_use(&record, at) == LastUsedUpdate::WriteNow {
            record.last_used_at = Some(at);
            writes += 1;
        }
    }
    assert_eq!(writes, 3);
    let pending = tracker.take_pending();
    assert_eq!(
        pending,
        vec![(record.id.clone(), now() + Duration::seconds(179))]
    );
}

#[test]
fn shared_types_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<ApiKeyManager>();
    assert_send_sync::<LastUsedTracker>();
    assert_send_sync::<ApiKeyRecord>();
    assert_send_sync::<agency_auth::Principal>();
}

fn shared_manager() -> &'static ApiKeyManager {
    static MANAGER: std::sync::OnceLock<ApiKeyManager> = std::sync::OnceLock::new();
    MANAGER.get_or_init(manager)
}

fn shared_key() -> &'static CreatedApiKey {
    static KEY: std::sync::OnceLock<CreatedApiKey> = std::sync::OnceLock::new();
    KEY.get_or_init(|| create(shared_manager()))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn parse_never_panics(text in "\\PC{0,200}") {
        let _ = shared_manager().parse(&text);
    }

    #[test]
    fn parse_never_panics_on_key_shaped_input(
        prefix in "[a-z0-9_]{0,20}",
        id in "[a-z2-7_A-Z0-9]{0,30}",
        secret in "[a-z2-7_A-Z0-9=]{0,60}",
    ) {
        let _ = shared_manager().parse(&format!("{prefix}_{id}_{secret}"));
    }

    /// Creating then parsing gives back the id, and the text re-assembles exactly.
    #[test]
    fn round_trip(name in "[a-zA-Z0-9 ]{1,30}") {
        let manager = shared_manager();
        let created = manager.create(NewApiKey::new("u", "t", name, vec![]), now()).unwrap();
        let parsed = manager.parse(created.key.expose()).unwrap();
        prop_assert_eq!(parsed.id(), created.record.id.as_str());
        prop_assert_eq!(manager.verify(&parsed, &created.record, now()), Ok(()));
    }

    /// Any single-character change to a valid key makes it fail.
    #[test]
    fn any_changed_character_fails(index in 0usize..98, replacement in proptest::char::any()) {
        let key = shared_key();
        let text = key.key.expose();
        let index = index % text.len();
        let original = text.as_bytes()[index] as char;
        prop_assume!(replacement != original);
        let mut forged = String::with_capacity(text.len() + 4);
        forged.push_str(&text[..index]);
        forged.push(replacement);
        forged.push_str(&text[index + 1..]);
        let result = authenticate(shared_manager(), &[&key.record], &forged, now());
        prop_assert!(result.is_err(), "{forged:?} was accepted");
    }
}
