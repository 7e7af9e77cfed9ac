//! The policy's name indexes: role and permission names to their interned ids, looked up on
//! every check.
//!
//! A general hash map spends most of a check hashing the name and then calling `memcmp` to
//! compare it with the stored key. This table does both with the same two loads: a name of `n`
//! bytes is read as its first and last eight bytes (two overlapping loads; four-byte loads for
//! names of 4 to 7 bytes, single bytes below that). For a name of at most 16 bytes those two
//! words and `n` determine every byte, so comparing them (three integer comparisons) *is* the
//! string comparison; longer names additionally compare their bytes with the stored name. The
//! words folded by one 64×64→128-bit multiply give the slot; collisions probe linearly in a
//! table kept at most half full.
//!
//! Hash flooding is not a concern: the table is built once from the policy (trusted
//! configuration) and never grows from request input, so an attacker can only *look up* names,
//! and a lookup costs at most the longest probe sequence the policy itself created (bounded by
//! the table size in any case).

const K1: u64 = 0x243f_6a88_85a3_08d3;
const K2: u64 = 0x1319_8a2e_0370_7344;

/// Names of at most this many bytes are compared by their [`words`] alone.
const SHORT: usize = 16;

/// Slot marker: no name.
const EMPTY: u16 = u16::MAX;

/// Multiplies and folds the 128-bit product (as wyhash and foldhash do).
#[inline(always)]
#[expect(
    clippy::cast_possible_truncation,
    reason = "taking the low and high 64-bit halves of the product is the fold"
)]
fn fold(a: u64, b: u64) -> u64 {
    let product = u128::from(a).wrapping_mul(u128::from(b));
    (product as u64) ^ ((product >> 64) as u64)
}

/// Two words that, together with the length, determine every byte of a name of at most
/// [`SHORT`] bytes (and its first and last eight bytes otherwise).
#[inline(always)]
fn words(bytes: &[u8]) -> (u64, u64) {
    if let (Some(head), Some(tail)) = (bytes.first_chunk::<8>(), bytes.last_chunk::<8>()) {
        (u64::from_le_bytes(*head), u64::from_le_bytes(*tail))
    } else if let (Some(head), Some(tail)) = (bytes.first_chunk::<4>(), bytes.last_chunk::<4>()) {
        (
            u64::from(u32::from_le_bytes(*head)),
            u64::from(u32::from_le_bytes(*tail)),
        )
    } else {
        // 0 to 3 bytes: the first, middle and last byte are all of them.
        let n = bytes.len();
        let at = |i: usize| u64::from(bytes.get(i).copied().unwrap_or(0));
        (at(0) | (at(n / 2) << 8) | (at(n.wrapping_sub(1)) << 16), 0)
    }
}

#[inline(always)]
fn hash(first: u64, last: u64, len: usize) -> u64 {
    fold(first ^ K1, last ^ K2 ^ len as u64)
}

/// The slot a hash starts probing at: its low bits, `mask` being the table size less one.
#[inline(always)]
#[expect(
    clippy::cast_possible_truncation,
    reason = "only the low bits select a slot, so dropping high bits on 32-bit targets is intended"
)]
fn slot_of(hash: u64, mask: usize) -> usize {
    hash as usize & mask
}

#[derive(Clone, Copy, Debug)]
struct Slot {
    first: u64,
    last: u64,
    len: usize,
    id: u16,
}

impl Slot {
    /// Matches no name: no string is `usize::MAX` bytes long.
    const VACANT: Self = Self {
        first: 0,
        last: 0,
        len: usize::MAX,
        id: EMPTY,
    };
}

/// Names to ids (positions in the list the table was built from).
#[derive(Clone, Debug)]
pub(crate) struct NameTable {
    slots: Box<[Slot]>,
    mask: usize,
    /// Names by id, to compare the middle bytes of names longer than [`SHORT`].
    names: Box<[Box<str>]>,
}

impl Default for NameTable {
    fn default() -> Self {
        Self::new(Vec::new())
    }
}

impl NameTable {
    /// A table giving `names[i]` the id `i`. Names must be distinct (a repeated name keeps its
    /// first id); names past id `u16::MAX - 1` are not indexed (the policy limits are far
    /// below).
    pub(crate) fn new(names: Vec<Box<str>>) -> Self {
        // At least half the slots stay vacant, so probe sequences are short and end.
        let capacity = (names.len() * 2).next_power_of_two().max(2);
        let mask = capacity - 1;
        let mut slots = vec![Slot::VACANT; capacity].into_boxed_slice();
        for (id, name) in names.iter().enumerate() {
            let Some(id) = u16::try_from(id).ok().filter(|&id| id != EMPTY) else {
                break;
            };
            let bytes = name.as_bytes();
            let (first, last) = words(bytes);
            let mut i = slot_of(hash(first, last, bytes.len()), mask);
            while slots.get(i).is_some_and(|slot| slot.id != EMPTY) {
                i = (i + 1) & mask;
            }
            if let Some(slot) = slots.get_mut(i) {
                *slot = Slot {
                    first,
                    last,
                    len: bytes.len(),
                    id,
                };
            }
        }
        Self {
            slots,
            mask,
            names: names.into_boxed_slice(),
        }
    }

    /// The id of `name`, if the table holds it.
    // Inlined into `Policy::check`: the call's prologue and epilogue cost a third of a lookup.
    #[inline(always)]
    pub(crate) fn get(&self, name: &str) -> Option<usize> {
        let bytes = name.as_bytes();
        let len = bytes.len();
        let (first, last) = words(bytes);
        let i = slot_of(hash(first, last, len), self.mask);
        // Usually the first slot probed holds the name (or is vacant).
        let slot = self.slots.get(i)?;
        if self.holds(slot, first, last, bytes) {
            return Some(usize::from(slot.id));
        }
        if slot.id == EMPTY {
            return None;
        }
        self.probe(i, first, last, bytes)
    }

    /// Whether `slot` holds the name `bytes` whose [`words`] are `first` and `last`. A vacant
    /// slot holds nothing: its length, `usize::MAX`, is no string's.
    #[inline(always)]
    fn holds(&self, slot: &Slot, first: u64, last: u64, bytes: &[u8]) -> bool {
        slot.first == first
            && slot.last == last
            && slot.len == bytes.len()
            && (bytes.len() <= SHORT
                || self
                    .names
                    .get(usize::from(slot.id))
                    .is_some_and(|stored| stored.as_bytes() == bytes))
    }

    /// The rest of the probe sequence after slot `start`.
    #[inline(always)]
    fn probe(&self, start: usize, first: u64, last: u64, bytes: &[u8]) -> Option<usize> {
        let mut i = start;
        for _ in 1..self.slots.len() {
            i = (i + 1) & self.mask;
            let slot = self.slots.get(i)?;
            if self.holds(slot, first, last, bytes) {
                return Some(usize::from(slot.id));
            }
            if slot.id == EMPTY {
                return None;
            }
        }
        None
    }

    /// Whether the table holds `name`.
    #[inline]
    pub(crate) fn contains(&self, name: &str) -> bool {
        self.get(name).is_some()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use proptest::prelude::*;

    use super::*;

    fn table(names: &[&str]) -> NameTable {
        NameTable::new(names.iter().map(|n| Box::<str>::from(*n)).collect())
    }

    #[test]
    fn finds_every_name_and_nothing_else() {
        let names = [
            "agents:read",
            "tasks:read",
            "a",
            "ab",
            "abc",
            "abcd",
            "abcdefg",
            "abcdefgh",
            "abcdefghijklmnop",
            "abcdefghijklmnopq",
            "x:y",
            "",
        ];
        let t = table(&names);
        for (i, name) in names.iter().enumerate() {
            assert_eq!(t.get(name), Some(i), "{name}");
        }
        for missing in [
            "agents:rea",
            "b",
            "abd",
            "abcdefghijklmnopr",
            "ba",
            "aa",
            "tasks:reads",
        ] {
            assert_eq!(t.get(missing), None, "{missing}");
        }
    }

    #[test]
    fn empty_table_finds_nothing() {
        let t = NameTable::default();
        assert_eq!(t.get(""), None);
        assert_eq!(t.get("viewer"), None);
    }

    #[test]
    fn empty_name_is_not_found_unless_indexed() {
        // A vacant slot's words equal those of "" (all zero): its length must tell them apart.
        let t = table(&["viewer"]);
        assert_eq!(t.get(""), None);
    }

    /// The attack: a name sharing the first and last eight bytes and the length of a long
    /// policy name, differing only in the middle, must not be taken for it.
    #[test]
    fn long_name_differing_only_in_the_middle_is_not_found() {
        let stored = "billing.invoices.europe.west:read";
        let t = table(&[stored]);
        assert_eq!(t.get(stored), Some(0));
        for i in 8..stored.len() - 8 {
            let mut bytes = stored.as_bytes().to_vec();
            bytes[i] = if bytes[i] == b'x' { b'y' } else { b'x' };
            let forged = String::from_utf8(bytes).unwrap();
            assert_eq!(t.get(&forged), None, "byte {i}");
        }
    }

    /// Every byte of a short name matters, whatever its length.
    #[test]
    fn every_byte_of_a_short_name_counts() {
        for len in 1..=SHORT {
            let stored: String = "abcdefghijklmnopq".chars().take(len).collect();
            let t = table(&[&stored]);
            for i in 0..len {
                let mut bytes = stored.clone().into_bytes();
                bytes[i] = b'z';
                let forged = String::from_utf8(bytes).unwrap();
                assert_eq!(t.get(&forged), None, "len {len} byte {i}");
            }
        }
    }

    #[test]
    fn generated_policy_names_do_not_collide_much() {
        let names: Vec<String> = (0..500)
            .flat_map(|r| (0..8).map(move |p| format!("res-t{r}r{}:act{p}", r % 5)))
            .collect();
        let hashes: HashSet<u64> = names
            .iter()
            .map(|n| {
                let (a, b) = words(n.as_bytes());
                hash(a, b, n.len())
            })
            .collect();
        assert_eq!(hashes.len(), names.len());
        let t = NameTable::new(names.iter().map(|n| Box::<str>::from(n.as_str())).collect());
        for (i, n) in names.iter().enumerate() {
            assert_eq!(t.get(n), Some(i));
        }
    }

    proptest! {
        /// The table answers exactly like an ordered map, for names present, absent and
        /// near-misses of present ones (same length, one byte changed).
        #[test]
        fn agrees_with_a_btree_map(
            names in proptest::collection::btree_set("[a-z0-9_.:-]{0,40}", 0..64),
            probes in proptest::collection::vec("[a-z0-9_.:-]{0,40}", 0..32),
            flip in any::<usize>(),
        ) {
            let names: Vec<String> = names.into_iter().collect();
            let reference: BTreeMap<&str, usize> =
                names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
            let t = NameTable::new(names.iter().map(|n| Box::<str>::from(n.as_str())).collect());
            let mut all: Vec<String> = probes;
            for n in &names {
                all.push(n.clone());
                if !n.is_empty() {
                    let mut bytes = n.clone().into_bytes();
                    let at = flip % bytes.len();
                    bytes[at] = if bytes[at] == b'q' { b'r' } else { b'q' };
                    all.push(String::from_utf8(bytes).unwrap());
                }
            }
            for probe in &all {
                prop_assert_eq!(t.get(probe), reference.get(probe.as_str()).copied(), "{}", probe);
            }
        }
    }
}
