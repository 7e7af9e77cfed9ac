//! A fast, non-cryptographic hash map for the policy's name indexes.
//!
//! Why not the standard `RandomState` (SipHash)? Checks look up a role name and a permission
//! name on every call, and SipHash (or a byte-loop hash) dominates the cost of a check. Names
//! are short (permissions at most 128 bytes, roles 64), so this hash reads the first and last
//! eight bytes with two overlapping loads (covering every byte of a name up to 16 bytes), the
//! 8-byte words in between for longer names, and folds them with a 64×64→128-bit multiply.
//!
//! Hash flooding is not a concern: the maps are built once from the policy (trusted
//! configuration) and never grow from request input, so an attacker can only *look up* keys,
//! and a lookup costs at most the longest probe sequence the policy itself created.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

const K1: u64 = 0x243f_6a88_85a3_08d3;
const K2: u64 = 0x1319_8a2e_0370_7344;

/// Multiplies and folds the 128-bit product (as wyhash and foldhash do).
#[inline]
fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a).wrapping_mul(u128::from(b));
    (product as u64) ^ ((product >> 64) as u64)
}

#[inline]
fn read8(bytes: &[u8], at: usize) -> u64 {
    bytes
        .get(at..)
        .and_then(<[u8]>::first_chunk::<8>)
        .map_or(0, |w| u64::from_le_bytes(*w))
}

/// Hasher for short names.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct NameHasher {
    hash: u64,
}

impl Hasher for NameHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let n = bytes.len();
        let (first, last) = if let (Some(head), Some(tail)) =
            (bytes.first_chunk::<8>(), bytes.last_chunk::<8>())
        {
            (u64::from_le_bytes(*head), u64::from_le_bytes(*tail))
        } else if let (Some(head), Some(tail)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>())
        {
            (
                u64::from(u32::from_le_bytes(*head)),
                u64::from(u32::from_le_bytes(*tail)),
            )
        } else if n > 0 {
            let at = |i: usize| u64::from(bytes.get(i).copied().unwrap_or(0));
            (at(0) | (at(n / 2) << 8) | (at(n - 1) << 16), 0)
        } else {
            (0, 0)
        };
        let mut hash = fold(first ^ K1 ^ self.hash, last ^ K2 ^ n as u64);
        // Longer names: every 8-byte word between the first and last words.
        let mut at = 8;
        while at + 8 < n {
            hash = fold(hash ^ read8(bytes, at), K1);
            at += 8;
        }
        self.hash = hash;
    }

    #[inline]
    fn write_u8(&mut self, byte: u8) {
        self.hash = self.hash.rotate_left(8) ^ u64::from(byte);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

/// Name index of a compiled policy.
pub(crate) type NameMap<K, V> = HashMap<K, V, BuildHasherDefault<NameHasher>>;

#[cfg(test)]
mod tests {
    use std::collections::HashSet;
    use std::hash::BuildHasher;

    use super::*;

    fn hash(s: &str) -> u64 {
        BuildHasherDefault::<NameHasher>::default().hash_one(s)
    }

    #[test]
    fn lookups_by_str_find_boxed_keys() {
        let mut m: NameMap<Box<str>, u16> = NameMap::default();
        let names = [
            "agents:read",
            "tasks:read",
            "a",
            "ab",
            "abcdefghijklmnopq",
            "x:y",
            "",
        ];
        for (i, name) in names.iter().enumerate() {
            m.insert((*name).into(), i as u16);
        }
        for (i, name) in names.iter().enumerate() {
            assert_eq!(m.get(*name), Some(&(i as u16)), "{name}");
        }
        assert_eq!(m.get("agents:rea"), None);
        assert_eq!(m.get("b"), None);
    }

    #[test]
    fn every_byte_of_a_long_name_counts() {
        let base = "billing.invoices.europe.west:read".to_owned();
        let h = hash(&base);
        for i in 0..base.len() {
            let mut bytes = base.clone().into_bytes();
            bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
            let changed = String::from_utf8(bytes).unwrap();
            assert_ne!(hash(&changed), h, "byte {i} ignored");
        }
    }

    #[test]
    fn generated_names_do_not_collide() {
        let names: Vec<String> = (0..500)
            .flat_map(|r| (0..8).map(move |p| format!("res-t{r}r{}:act{p}", r % 5)))
            .collect();
        let hashes: HashSet<u64> = names.iter().map(|n| hash(n)).collect();
        assert_eq!(hashes.len(), names.len());
    }
}
