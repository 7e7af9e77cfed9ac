//! A fast, non-cryptographic hash map for the policy's name indexes.
//!
//! Why not the standard `RandomState` (SipHash)? Checks look up a role name and a permission
//! name on every call, and SipHash would dominate the cost. Hash flooding is not a concern here:
//! the maps are built once from the policy (trusted configuration) and never grow from request
//! input, so an attacker can only *look up* keys, and a lookup costs at most the longest bucket
//! chain the policy itself created.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// Multiplier from the Fx hash (rustc's internal hasher).
const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

/// The Fx hash: rotate, xor, multiply, eight bytes at a time.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct FxHasher {
    hash: u64,
}

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            if let Some(dst) = word.get_mut(..rest.len()) {
                dst.copy_from_slice(rest);
            }
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.add(u64::from(byte));
    }

    #[inline]
    fn finish(&self) -> u64 {
        // Spread the entropy of the low bits into the high bits hashbrown uses for its tags.
        self.hash.rotate_left(26)
    }
}

/// Name index of a compiled policy.
pub(crate) type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_by_str_find_boxed_keys() {
        let mut m: FxMap<Box<str>, u16> = FxMap::default();
        for (i, name) in ["agents:read", "tasks:read", "a", "abcdefghijklmnopq"]
            .iter()
            .enumerate()
        {
            m.insert((*name).into(), i as u16);
        }
        assert_eq!(m.get("agents:read"), Some(&0));
        assert_eq!(m.get("abcdefghijklmnopq"), Some(&3));
        assert_eq!(m.get("agents:rea"), None);
        assert_eq!(m.get(""), None);
    }
}
