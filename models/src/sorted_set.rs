//! [`SortedSet`]: a small set of small `Copy` values, kept as a sorted vector.
//!
//! The networks and ghost sets of the consensus models hold a few dozen messages of a few bytes
//! each. For sets that small a sorted vector beats a persistent tree (`im::OrdSet`) on every
//! operation the checker does per state — clone, hash, compare, iterate — (measured on `raft`:
//! hashing and walking `im::OrdSet` took a third of the time), and its hash and order are
//! canonical by construction.

use serde::{Serialize, Serializer};

/// A set kept as a sorted, duplicate-free vector.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SortedSet<T>(Vec<T>);

impl<T> Default for SortedSet<T> {
    fn default() -> Self {
        SortedSet(Vec::new())
    }
}

impl<T: Ord + Copy> SortedSet<T> {
    /// The empty set.
    pub fn new() -> Self {
        SortedSet(Vec::new())
    }

    /// Adds `x`; returns whether it was new.
    pub fn insert(&mut self, x: T) -> bool {
        match self.0.binary_search(&x) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, x);
                true
            }
        }
    }

    /// Keeps only the elements for which `keep` holds.
    pub fn retain(&mut self, keep: impl FnMut(&T) -> bool) {
        self.0.retain(keep);
    }

    /// Whether `x` is in the set.
    pub fn contains(&self, x: &T) -> bool {
        self.0.binary_search(x).is_ok()
    }

    /// The elements, in order.
    pub fn iter(&self) -> std::slice::Iter<'_, T> {
        self.0.iter()
    }

    /// The number of elements.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// No elements.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<T: Ord + Copy> FromIterator<T> for SortedSet<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut v: Vec<T> = iter.into_iter().collect();
        v.sort_unstable();
        v.dedup();
        SortedSet(v)
    }
}

impl<T: Serialize> Serialize for SortedSet<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(s)
    }
}

#[cfg(test)]
mod tests {
    use super::SortedSet;

    #[test]
    fn stays_sorted_and_free_of_duplicates() {
        let mut s = SortedSet::new();
        assert!(s.insert(3));
        assert!(s.insert(1));
        assert!(!s.insert(3));
        assert!(s.insert(2));
        assert_eq!(s.iter().copied().collect::<Vec<_>>(), vec![1, 2, 3]);
        s.retain(|&x| x != 2);
        assert_eq!(s.len(), 2);
        assert!(s.contains(&1) && !s.contains(&2));
        let t: SortedSet<i32> = [3, 1, 3].into_iter().collect();
        assert_eq!(s, t);
    }
}
