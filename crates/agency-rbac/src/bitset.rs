//! Fixed-size bit sets: a compiled role's permissions, one bit per interned permission id.
//!
//! Sized once when the policy compiles; reading a bit never allocates.

/// A fixed-capacity set of small integers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct BitSet {
    words: Box<[u64]>,
}

impl BitSet {
    /// An empty set able to hold `0..capacity`.
    pub(crate) fn new(capacity: usize) -> Self {
        Self {
            words: vec![0; capacity.div_ceil(64)].into_boxed_slice(),
        }
    }

    pub(crate) fn insert(&mut self, index: usize) {
        if let Some(word) = self.words.get_mut(index / 64) {
            *word |= 1 << (index % 64);
        }
    }

    /// Whether `index` is in the set; out-of-range indexes are never in it.
    #[inline]
    pub(crate) fn contains(&self, index: usize) -> bool {
        self.words
            .get(index / 64)
            .is_some_and(|word| word & (1 << (index % 64)) != 0)
    }

    pub(crate) fn union_with(&mut self, other: &Self) {
        for (a, b) in self.words.iter_mut().zip(other.words.iter()) {
            *a |= *b;
        }
    }

    /// Removes every member of `other`.
    pub(crate) fn subtract(&mut self, other: &Self) {
        for (a, b) in self.words.iter_mut().zip(other.words.iter()) {
            *a &= !*b;
        }
    }

    pub(crate) fn is_subset_of(&self, other: &Self) -> bool {
        self.words
            .iter()
            .enumerate()
            .all(|(i, a)| a & !other.words.get(i).copied().unwrap_or(0) == 0)
    }

    /// Whether every member of `self` is in `a` or in `b` (without building the union).
    pub(crate) fn is_subset_of_union(&self, a: &Self, b: &Self) -> bool {
        self.words.iter().enumerate().all(|(i, w)| {
            let cover = a.words.get(i).copied().unwrap_or(0) | b.words.get(i).copied().unwrap_or(0);
            w & !cover == 0
        })
    }

    /// Members in increasing order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.words.iter().enumerate().flat_map(|(w, &word)| {
            let mut bits = word;
            std::iter::from_fn(move || {
                if bits == 0 {
                    return None;
                }
                let bit = bits.trailing_zeros() as usize;
                bits &= bits - 1;
                Some(w * 64 + bit)
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_contains_remove() {
        let mut s = BitSet::new(130);
        s.insert(0);
        s.insert(64);
        s.insert(129);
        assert!(s.contains(0) && s.contains(64) && s.contains(129));
        assert!(!s.contains(1) && !s.contains(500));
        assert_eq!(s.iter().collect::<Vec<_>>(), vec![0, 64, 129]);
    }

    #[test]
    fn out_of_range_insert_is_ignored() {
        let mut s = BitSet::new(10);
        s.insert(1000);
        assert_eq!(s.iter().count(), 0);
    }

    #[test]
    fn set_algebra() {
        let mut a = BitSet::new(100);
        let mut b = BitSet::new(100);
        a.insert(3);
        b.insert(3);
        b.insert(70);
        assert!(a.is_subset_of(&b));
        assert!(!b.is_subset_of(&a));
        let mut c = BitSet::new(100);
        c.insert(70);
        assert!(b.is_subset_of_union(&a, &c));
        assert!(!b.is_subset_of_union(&a, &a));
        a.union_with(&b);
        assert_eq!(a, b);
        a.subtract(&b);
        assert_eq!(a.iter().count(), 0);
    }
}
