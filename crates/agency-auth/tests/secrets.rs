//! Envelope encryption: round trips, rotation, and tampering of every kind.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use agency_auth::secrets::{ENVELOPE_OVERHEAD, KeyEncryptionKey, SecretsError, SecretsKeyring};
use proptest::prelude::*;

fn kek(version: u32, byte: u8) -> KeyEncryptionKey {
    KeyEncryptionKey::new(version, &[byte; 32]).unwrap()
}

fn ring_v1() -> SecretsKeyring {
    SecretsKeyring::new(kek(1, 0x01))
}

fn ring_v2_with_v1() -> SecretsKeyring {
    SecretsKeyring::new(kek(2, 0x02))
        .with_previous(kek(1, 0x01))
        .unwrap()
}

const AAD: &[u8] = b"webhook-source:acme:42";

#[test]
fn round_trip_including_empty_plaintext() {
    let ring = ring_v1();
    for plaintext in [&b""[..], b"x", b"whsec_0123456789abcdef", &[0u8; 4096][..]] {
        let envelope = ring.encrypt(plaintext, AAD).unwrap();
        assert_eq!(envelope.len(), ENVELOPE_OVERHEAD + plaintext.len());
        assert_eq!(&ring.decrypt(&envelope, AAD).unwrap()[..], plaintext);
    }
}

#[test]
fn attack_flipped_byte_anywhere() {
    let ring = ring_v1();
    let envelope = ring.encrypt(b"third-party access token", AAD).unwrap();
    for index in 0..envelope.len() {
        for mask in [0x01u8, 0x80, 0xFF] {
            let mut tampered = envelope.clone();
            tampered[index] ^= mask;
            let result = ring.decrypt(&tampered, AAD);
            assert!(result.is_err(), "flip {mask:#x} at byte {index} decrypted");
        }
    }
}

#[test]
fn attack_wrong_associated_data() {
    let ring = ring_v1();
    let envelope = ring.encrypt(b"tenant A's secret", b"tenant:a").unwrap();
    for aad in [&b"tenant:b"[..], b"", b"tenant:a ", b"tenant:"] {
        assert_eq!(
            ring.decrypt(&envelope, aad),
            Err(SecretsError::DecryptionFailed)
        );
    }
}

/// An envelope moved to another row (other associated data) cannot be re-encrypted there
/// either: rotation never launders it.
#[test]
fn attack_reencrypt_with_wrong_associated_data() {
    let envelope = ring_v1().encrypt(b"s", b"row:1").unwrap();
    assert_eq!(
        ring_v2_with_v1().reencrypt(&envelope, b"row:2"),
        Err(SecretsError::DecryptionFailed)
    );
}

#[test]
fn attack_unknown_key_version() {
    let envelope = SecretsKeyring::new(kek(9, 0x09))
        .encrypt(b"s", AAD)
        .unwrap();
    assert_eq!(
        ring_v2_with_v1().decrypt(&envelope, AAD),
        Err(SecretsError::UnknownKeyVersion(9))
    );
}

/// Re-labelling an envelope with another known version fails (the version is authenticated).
#[test]
fn attack_relabelled_key_version() {
    let ring = ring_v2_with_v1();
    let mut envelope = ring.encrypt(b"s", AAD).unwrap();
    envelope[5..9].copy_from_slice(&1u32.to_be_bytes());
    assert_eq!(
        ring.decrypt(&envelope, AAD),
        Err(SecretsError::DecryptionFailed)
    );
}

/// Same version number, different key material (another deployment, a wrong restore).
#[test]
fn attack_same_version_other_key() {
    let envelope = SecretsKeyring::new(kek(1, 0x77))
        .encrypt(b"s", AAD)
        .unwrap();
    assert_eq!(
        ring_v1().decrypt(&envelope, AAD),
        Err(SecretsError::DecryptionFailed)
    );
}

#[test]
fn attack_truncated_input() {
    let ring = ring_v1();
    let envelope = ring.encrypt(b"some secret value", AAD).unwrap();
    for len in 0..envelope.len() {
        let result = ring.decrypt(&envelope[..len], AAD);
        if len < ENVELOPE_OVERHEAD {
            assert_eq!(
                result,
                Err(SecretsError::Malformed("too short")),
                "len {len}"
            );
        } else {
            assert_eq!(result, Err(SecretsError::DecryptionFailed), "len {len}");
        }
    }
}

#[test]
fn attack_appended_bytes() {
    let ring = ring_v1();
    let mut envelope = ring.encrypt(b"value", AAD).unwrap();
    envelope.push(0);
    assert_eq!(
        ring.decrypt(&envelope, AAD),
        Err(SecretsError::DecryptionFailed)
    );
}

/// Splicing the wrapped data key of one envelope into another fails.
#[test]
fn attack_spliced_wrapped_key() {
    let ring = ring_v1();
    let a = ring.encrypt(b"secret a", AAD).unwrap();
    let mut b = ring.encrypt(b"secret b", AAD).unwrap();
    b[9..69].copy_from_slice(&a[9..69]);
    assert_eq!(ring.decrypt(&b, AAD), Err(SecretsError::DecryptionFailed));
}

#[test]
fn framing_errors_are_specific() {
    let ring = ring_v1();
    let mut envelope = ring.encrypt(b"v", AAD).unwrap();
    envelope[4] = 2;
    assert_eq!(
        ring.decrypt(&envelope, AAD),
        Err(SecretsError::UnsupportedFormat(2))
    );
    envelope[0] = b'X';
    assert!(matches!(
        ring.decrypt(&envelope, AAD),
        Err(SecretsError::Malformed(_))
    ));
    assert!(matches!(
        ring.decrypt_str("not base64 !", AAD),
        Err(SecretsError::Malformed(_))
    ));
    assert!(matches!(
        ring.decrypt_str("QUdTRQ", AAD),
        Err(SecretsError::Malformed(_))
    ));
}

#[test]
fn rotation_decrypts_old_and_reencrypts_to_current() {
    let old_ring = ring_v1();
    let old = old_ring.encrypt(b"rotate me", AAD).unwrap();
    let ring = ring_v2_with_v1();
    assert!(ring.needs_reencrypt(&old).unwrap());
    assert_eq!(&ring.decrypt(&old, AAD).unwrap()[..], b"rotate me");

    let moved = ring.reencrypt(&old, AAD).unwrap();
    assert_eq!(SecretsKeyring::key_version_of(&moved).unwrap(), 2);
    assert!(!ring.needs_reencrypt(&moved).unwrap());
    assert_eq!(&ring.decrypt(&moved, AAD).unwrap()[..], b"rotate me");
    // The data part is untouched; only the key wrap changed.
    assert_eq!(moved[69..], old[69..]);
    // Version 1 can be retired now: a ring with only version 2 still reads it.
    let only_v2 = SecretsKeyring::new(kek(2, 0x02));
    assert_eq!(&only_v2.decrypt(&moved, AAD).unwrap()[..], b"rotate me");
    assert_eq!(
        only_v2.decrypt(&old, AAD),
        Err(SecretsError::UnknownKeyVersion(1))
    );
    // Re-encrypting an envelope already on the current version keeps it as it is.
    assert_eq!(ring.reencrypt(&moved, AAD).unwrap(), moved);
}

#[test]
fn string_form_round_trips_and_rotates() {
    let text = ring_v1().encrypt_to_string(b"token", AAD).unwrap();
    assert!(
        text.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    );
    let ring = ring_v2_with_v1();
    let moved = ring.reencrypt_str(&text, AAD).unwrap();
    assert_eq!(&ring.decrypt_str(&moved, AAD).unwrap()[..], b"token");
}

#[test]
fn debug_output_has_no_key_material() {
    let ring = ring_v2_with_v1();
    let shown = format!("{ring:?} {:?}", kek(3, 0x5A));
    assert!(shown.contains("<redacted>"));
    assert!(
        !shown.contains("90,") && !shown.contains("5a5a") && !shown.contains("5A5A"),
        "{shown}"
    );
}

#[test]
fn keyring_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync + 'static>() {}
    assert_send_sync::<SecretsKeyring>();
    assert_send_sync::<SecretsError>();
}

fn shared_ring() -> &'static SecretsKeyring {
    static RING: std::sync::OnceLock<SecretsKeyring> = std::sync::OnceLock::new();
    RING.get_or_init(ring_v2_with_v1)
}

proptest! {
    #[test]
    fn encrypt_decrypt_round_trip(
        plaintext in proptest::collection::vec(any::<u8>(), 0..512),
        aad in proptest::collection::vec(any::<u8>(), 0..64),
    ) {
        let ring = shared_ring();
        let envelope = ring.encrypt(&plaintext, &aad).unwrap();
        prop_assert_eq!(&ring.decrypt(&envelope, &aad).unwrap()[..], &plaintext[..]);
    }

    /// Arbitrary bytes never panic and never decrypt.
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        prop_assert!(shared_ring().decrypt(&bytes, AAD).is_err());
        let _ = SecretsKeyring::key_version_of(&bytes);
        prop_assert!(shared_ring().reencrypt(&bytes, AAD).is_err());
    }

    /// Arbitrary bytes behind a valid header (the likely shape of a corrupted row) never decrypt.
    #[test]
    fn arbitrary_body_behind_valid_header_never_decrypts(
        body in proptest::collection::vec(any::<u8>(), 0..256),
        version in prop_oneof![Just(1u32), Just(2u32), any::<u32>()],
    ) {
        let mut bytes = b"AGSE\x01".to_vec();
        bytes.extend_from_slice(&version.to_be_bytes());
        bytes.extend_from_slice(&body);
        prop_assert!(shared_ring().decrypt(&bytes, AAD).is_err());
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        prop_assert!(shared_ring().decrypt_str(&text, AAD).is_err());
    }

    /// Any single-byte change, anywhere, of a valid envelope fails.
    #[test]
    fn any_changed_byte_fails(
        plaintext in proptest::collection::vec(any::<u8>(), 0..64),
        index in any::<prop::sample::Index>(),
        xor in 1u8..=255,
    ) {
        let ring = shared_ring();
        let mut envelope = ring.encrypt(&plaintext, AAD).unwrap();
        let at = index.index(envelope.len());
        envelope[at] ^= xor;
        prop_assert!(ring.decrypt(&envelope, AAD).is_err());
    }
}
