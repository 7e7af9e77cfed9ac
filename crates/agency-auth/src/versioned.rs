//! Keys by version with one of them current: the rotation shape shared by the API-key hashing
//! keys and the secrets key-encryption keys. New work uses the current key; stored data names
//! the version it was made with, so older keys keep working until everything has moved on.

use std::collections::BTreeMap;
use std::fmt;

/// Versioned keys, one current. `Debug` shows the versions only, never a key.
pub(crate) struct VersionedKeys<K> {
    current: u32,
    keys: BTreeMap<u32, K>,
}

impl<K> VersionedKeys<K> {
    /// Keys whose current (and only) key is `key`, at `version`.
    pub(crate) fn new(version: u32, key: K) -> Self {
        Self {
            current: version,
            keys: BTreeMap::from([(version, key)]),
        }
    }

    /// Adds an older key; `Err(version)` when that version is already present (the existing key
    /// is kept).
    pub(crate) fn insert_previous(&mut self, version: u32, key: K) -> Result<(), u32> {
        if self.keys.contains_key(&version) {
            return Err(version);
        }
        self.keys.insert(version, key);
        Ok(())
    }

    /// Version of the current key.
    pub(crate) fn current_version(&self) -> u32 {
        self.current
    }

    /// The current key, or `Err(current version)` if it is missing (never, by construction).
    pub(crate) fn current(&self) -> Result<&K, u32> {
        self.get(self.current)
    }

    /// The key of `version`, or `Err(version)` when it is unknown.
    pub(crate) fn get(&self, version: u32) -> Result<&K, u32> {
        self.keys.get(&version).ok_or(version)
    }

    /// Every version, ascending.
    pub(crate) fn versions(&self) -> impl Iterator<Item = u32> + '_ {
        self.keys.keys().copied()
    }

    /// Writes `name { current, versions }`, for the owners' `Debug` impls.
    pub(crate) fn debug_fmt(&self, name: &str, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(name)
            .field("current", &self.current)
            .field("versions", &self.versions().collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::VersionedKeys;

    #[test]
    fn duplicate_version_is_refused_and_the_first_key_kept() {
        let mut keys = VersionedKeys::new(2, "current");
        assert_eq!(keys.insert_previous(1, "old"), Ok(()));
        assert_eq!(keys.insert_previous(2, "impostor"), Err(2));
        assert_eq!(keys.insert_previous(1, "impostor"), Err(1));
        assert_eq!(keys.current(), Ok(&"current"));
        assert_eq!(keys.get(1), Ok(&"old"));
        assert_eq!(keys.get(3), Err(3));
        assert_eq!(keys.versions().collect::<Vec<_>>(), vec![1, 2]);
    }
}
