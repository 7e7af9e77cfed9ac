//! argon2id parameters, PHC strings, and the hash computation over caller-provided memory.

use argon2::password_hash::{Output, ParamsString, PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use subtle::ConstantTimeEq;
use zeroize::Zeroize;

use super::PasswordError;

/// Salt length of new hashes, in bytes.
pub(crate) const SALT_LEN: usize = 16;
/// Output length of new hashes, in bytes.
pub(crate) const OUTPUT_LEN: usize = 32;
/// Longest PHC string accepted for verification (a default one is about 97 characters).
const MAX_PHC_LEN: usize = 512;

/// argon2id cost parameters.
///
/// The default is OWASP's recommendation for argon2id: 19 MiB of memory (`m = 19456` KiB),
/// 2 passes (`t = 2`), 1 lane (`p = 1`). Each concurrent computation needs `m` KiB of memory.
///
/// # Example
///
/// ```
/// use agency_auth::passwords::Argon2Params;
///
/// let params = Argon2Params::default();
/// assert_eq!((params.m_cost_kib(), params.t_cost(), params.p_cost()), (19 * 1024, 2, 1));
///
/// let stronger = Argon2Params::new(46 * 1024, 1, 1)?;
/// assert_eq!(stronger.memory_bytes(), 46 * 1024 * 1024);
/// assert!(Argon2Params::new(4, 1, 1).is_err()); // below argon2's minimum memory
/// # Ok::<(), agency_auth::passwords::PasswordError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Argon2Params {
    m_cost_kib: u32,
    t_cost: u32,
    p_cost: u32,
}

impl Default for Argon2Params {
    fn default() -> Self {
        Self::OWASP
    }
}

impl Argon2Params {
    /// OWASP's argon2id recommendation: m = 19 MiB, t = 2, p = 1.
    pub const OWASP: Self = Self {
        m_cost_kib: 19 * 1024,
        t_cost: 2,
        p_cost: 1,
    };

    /// Parameters with memory `m_cost_kib` (KiB), `t_cost` passes and `p_cost` lanes, as
    /// validated by argon2 (memory at least 8 KiB per lane, at least one pass and one lane).
    pub fn new(m_cost_kib: u32, t_cost: u32, p_cost: u32) -> Result<Self, PasswordError> {
        Params::new(m_cost_kib, t_cost, p_cost, Some(OUTPUT_LEN))
            .map_err(|_| PasswordError::InvalidConfig("argon2 parameters out of range"))?;
        Ok(Self {
            m_cost_kib,
            t_cost,
            p_cost,
        })
    }

    /// Memory cost in KiB (`m`).
    pub fn m_cost_kib(&self) -> u32 {
        self.m_cost_kib
    }

    /// Number of passes (`t`).
    pub fn t_cost(&self) -> u32 {
        self.t_cost
    }

    /// Number of lanes (`p`).
    pub fn p_cost(&self) -> u32 {
        self.p_cost
    }

    /// Memory one computation uses, in bytes.
    pub fn memory_bytes(&self) -> usize {
        self.to_argon2()
            .map_or(0, |p| p.block_count() * Block::SIZE)
    }

    pub(crate) fn to_argon2(self) -> Result<Params, PasswordError> {
        Params::new(self.m_cost_kib, self.t_cost, self.p_cost, Some(OUTPUT_LEN))
            .map_err(|_| PasswordError::InvalidConfig("argon2 parameters out of range"))
    }
}

/// A parsed PHC string, owned so it can move to a worker thread.
pub(crate) struct StoredHash {
    pub(crate) algorithm: Algorithm,
    pub(crate) version: Version,
    pub(crate) params: Params,
    pub(crate) salt: Vec<u8>,
    pub(crate) expected: Vec<u8>,
}

impl StoredHash {
    /// Parses an argon2 PHC string (`$argon2id$v=19$m=…,t=…,p=…$salt$hash`).
    pub(crate) fn parse(phc: &str) -> Result<Self, PasswordError> {
        if phc.len() > MAX_PHC_LEN {
            return Err(PasswordError::MalformedHash);
        }
        let parsed = PasswordHash::new(phc).map_err(|_| PasswordError::MalformedHash)?;
        let algorithm =
            Algorithm::try_from(parsed.algorithm).map_err(|_| PasswordError::UnsupportedHash)?;
        let version = match parsed.version {
            Some(v) => Version::try_from(v).map_err(|_| PasswordError::UnsupportedHash)?,
            // The argon2 crate reads a missing version as the current one; do the same so hashes
            // it produced keep verifying.
            None => Version::V0x13,
        };
        let params = Params::try_from(&parsed).map_err(|_| PasswordError::MalformedHash)?;
        let salt_b64 = parsed.salt.ok_or(PasswordError::MalformedHash)?;
        let mut salt_buf = [0u8; 64];
        let salt = salt_b64
            .decode_b64(&mut salt_buf)
            .map_err(|_| PasswordError::MalformedHash)?
            .to_vec();
        let expected = parsed
            .hash
            .ok_or(PasswordError::MalformedHash)?
            .as_bytes()
            .to_vec();
        Ok(Self {
            algorithm,
            version,
            params,
            salt,
            expected,
        })
    }

    /// Whether this hash should be replaced by one made with `current` (and the pepper whose key
    /// id is `current_keyid`, empty for none): a different algorithm or version, less memory or
    /// fewer passes, a different lane count, a salt or output shorter than this library
    /// produces, another pepper, or argon2 associated data.
    pub(crate) fn needs_rehash(&self, current: &Argon2Params, current_keyid: &[u8]) -> bool {
        self.algorithm != Algorithm::Argon2id
            || self.version != Version::V0x13
            || self.params.m_cost() < current.m_cost_kib
            || self.params.t_cost() < current.t_cost
            || self.params.p_cost() != current.p_cost
            || self.salt.len() < SALT_LEN
            || self.expected.len() < OUTPUT_LEN
            || self.params.keyid() != current_keyid
            || !self.params.data().is_empty()
    }
}

/// Computes an argon2 output into `out`, with argon2's secret input set to `pepper` if any, using
/// `memory` when it is large enough (the worker's reusable buffer) and a temporary buffer
/// otherwise. The used memory is zeroed afterwards.
#[allow(clippy::too_many_arguments)]
pub(crate) fn compute(
    algorithm: Algorithm,
    version: Version,
    params: &Params,
    pepper: Option<&[u8]>,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
    memory: &mut [Block],
) -> Result<(), PasswordError> {
    let context = match pepper {
        Some(secret) => Argon2::new_with_secret(secret, algorithm, version, params.clone())
            .map_err(|_| PasswordError::Hashing)?,
        None => Argon2::new(algorithm, version, params.clone()),
    };
    let needed = params.block_count();
    let result = if memory.len() >= needed {
        let used = &mut memory[..needed];
        let result = context.hash_password_into_with_memory(password, salt, out, &mut *used);
        wipe(used);
        result
    } else {
        // Only for stored hashes with more memory than the current parameters (bounded by the
        // hasher's limits): allocate for this computation alone rather than grow the worker's
        // buffer for good.
        let mut temporary = vec![Block::new(); needed];
        let result = context.hash_password_into_with_memory(password, salt, out, &mut temporary);
        wipe(&mut temporary);
        result
    };
    result.map_err(|_| PasswordError::Hashing)
}

fn wipe(blocks: &mut [Block]) {
    for block in blocks {
        block.zeroize();
    }
}

/// Constant-time comparison of a computed and an expected output.
pub(crate) fn outputs_match(computed: &[u8], expected: &[u8]) -> bool {
    computed.ct_eq(expected).into()
}

/// Encodes a new argon2id hash as a PHC string.
pub(crate) fn encode(params: &Params, salt: &[u8], output: &[u8]) -> Result<String, PasswordError> {
    let salt = SaltString::encode_b64(salt).map_err(|_| PasswordError::Hashing)?;
    let hash = PasswordHash {
        algorithm: Algorithm::Argon2id.ident(),
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(|_| PasswordError::Hashing)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(output).map_err(|_| PasswordError::Hashing)?),
    };
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use argon2::PasswordVerifier;

    use super::*;

    fn small() -> Params {
        Params::new(64, 1, 1, Some(OUTPUT_LEN)).unwrap()
    }

    #[test]
    fn encoded_hash_verifies_with_the_argon2_crate() {
        let params = small();
        let salt = [7u8; SALT_LEN];
        let mut out = [0u8; OUTPUT_LEN];
        let mut memory = vec![Block::new(); params.block_count()];
        compute(
            Algorithm::Argon2id,
            Version::V0x13,
            &params,
            None,
            b"pw-123456",
            &salt,
            &mut out,
            &mut memory,
        )
        .unwrap();
        let phc = encode(&params, &salt, &out).unwrap();
        assert!(phc.starts_with("$argon2id$v=19$m=64,t=1,p=1$"), "{phc}");
        let parsed = PasswordHash::new(&phc).unwrap();
        Argon2::default()
            .verify_password(b"pw-123456", &parsed)
            .unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"pw-1234567", &parsed)
                .is_err()
        );
    }

    #[test]
    fn memory_is_wiped_after_use() {
        let params = small();
        let mut out = [0u8; OUTPUT_LEN];
        let mut memory = vec![Block::new(); params.block_count()];
        compute(
            Algorithm::Argon2id,
            Version::V0x13,
            &params,
            None,
            b"pw",
            &[1u8; SALT_LEN],
            &mut out,
            &mut memory,
        )
        .unwrap();
        assert!(memory.iter().all(|b| b.as_ref().iter().all(|w| *w == 0)));
    }

    #[test]
    fn parse_refuses_garbage_and_other_algorithms() {
        assert!(matches!(
            StoredHash::parse(""),
            Err(PasswordError::MalformedHash)
        ));
        assert!(matches!(
            StoredHash::parse("$2b$12$abcdefghijklmnopqrstuv"),
            Err(PasswordError::MalformedHash | PasswordError::UnsupportedHash)
        ));
        assert!(matches!(
            StoredHash::parse("$pbkdf2-sha256$i=1000$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA"),
            Err(PasswordError::MalformedHash | PasswordError::UnsupportedHash)
        ));
        let long = format!("$argon2id$v=19$m=64,t=1,p=1${}", "A".repeat(600));
        assert!(matches!(
            StoredHash::parse(&long),
            Err(PasswordError::MalformedHash)
        ));
    }

    #[test]
    fn needs_rehash_rules() {
        let current = Argon2Params::OWASP;
        let base = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$\
                    AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
        assert!(!StoredHash::parse(base).unwrap().needs_rehash(&current, &[]));
        let weaker_m = base.replace("m=19456", "m=4096");
        assert!(
            StoredHash::parse(&weaker_m)
                .unwrap()
                .needs_rehash(&current, &[])
        );
        let weaker_t = base.replace("t=2", "t=1");
        assert!(
            StoredHash::parse(&weaker_t)
                .unwrap()
                .needs_rehash(&current, &[])
        );
        let stronger = base.replace("m=19456", "m=65536").replace("t=2", "t=3");
        assert!(
            !StoredHash::parse(&stronger)
                .unwrap()
                .needs_rehash(&current, &[])
        );
        let argon2i = base.replace("$argon2id$", "$argon2i$");
        assert!(
            StoredHash::parse(&argon2i)
                .unwrap()
                .needs_rehash(&current, &[])
        );
        let old_version = base.replace("v=19", "v=16");
        assert!(
            StoredHash::parse(&old_version)
                .unwrap()
                .needs_rehash(&current, &[])
        );
    }
}
