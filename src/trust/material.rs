//! Trust material in general: anything signed that flows sources → parse and check → last good
//! copy → store → snapshot in force → publication. DSCs are the first kind; revocation batches,
//! business rules and value sets are the next ones, and each is only a [`Material`] impl (its
//! identity), a parser/checker per source format, and a renderer — the refresh path
//! ([`crate::trust::refresh`]), the last-good rule and the removal guard below are shared.
//!
//! A [`Shelf`] holds, per source, the items of that source's last good copy. Replacing a
//! source's items goes through [`Shelf::check_removal`] (the guard that refuses a copy removing
//! too large a share of the source's items at once) and returns the [`Diff`] that is logged
//! and counted in the source's health.

use std::collections::{BTreeMap, BTreeSet};

use time::OffsetDateTime;

/// One item of trust material.
pub trait Material: Clone + Send + Sync + 'static {
    /// The kind's stable name (`dsc`, …), as logs and the store name it.
    const KIND: &'static str;

    /// Identity of the item within its kind: equal identities are the same item for diffs and
    /// the removal guard (a DSC: its kid).
    fn identity(&self) -> String;

    /// Whether the item still counts at `now` when a new copy would remove it: an item past
    /// its own end of validity leaving a list is routine, never a sign of a broken upstream.
    fn in_force(&self, _now: OffsetDateTime) -> bool {
        true
    }

    /// Records when the copy holding the item was fetched.
    fn stamp(&mut self, _fetched_at: OffsetDateTime) {}
}

/// What replacing a source's items changes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Diff {
    pub added: usize,
    pub removed: usize,
}

/// A copy that would remove more than the allowed share of a source's items in force.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TooManyRemoved {
    pub removed: usize,
    pub had: usize,
}

/// The items of every source in force, each source's from its last good copy.
#[derive(Debug, Clone)]
pub struct Shelf<M> {
    by_source: BTreeMap<String, Vec<M>>,
}

impl<M> Default for Shelf<M> {
    fn default() -> Self {
        Shelf {
            by_source: BTreeMap::new(),
        }
    }
}

impl<M: Material> Shelf<M> {
    /// Whether `source` has a copy in force (possibly with no items).
    pub fn has(&self, source: &str) -> bool {
        self.by_source.contains_key(source)
    }

    /// Number of items of `source` in force.
    pub fn count(&self, source: &str) -> usize {
        self.by_source.get(source).map_or(0, Vec::len)
    }

    /// The items of `source` in force.
    pub fn of(&self, source: &str) -> &[M] {
        self.by_source.get(source).map_or(&[], Vec::as_slice)
    }

    /// Every item in force, source by source.
    pub fn all(&self) -> impl Iterator<Item = &M> {
        self.by_source.values().flatten()
    }

    /// Number of items in force per source.
    pub fn counts(&self) -> BTreeMap<String, usize> {
        self.by_source
            .iter()
            .map(|(k, v)| (k.clone(), v.len()))
            .collect()
    }

    /// The guard: refuses `items` as the new copy of `source` when they would remove more than
    /// `max_share` of the source's items that are still in force at `now`.
    pub fn check_removal(
        &self,
        source: &str,
        items: &[M],
        max_share: f64,
        now: OffsetDateTime,
    ) -> Result<Diff, TooManyRemoved> {
        let new: BTreeSet<String> = items.iter().map(Material::identity).collect();
        let old: BTreeSet<String> = self.of(source).iter().map(Material::identity).collect();
        let diff = Diff {
            added: new.difference(&old).count(),
            removed: old.difference(&new).count(),
        };
        let live: BTreeSet<String> = self
            .of(source)
            .iter()
            .filter(|m| m.in_force(now))
            .map(Material::identity)
            .collect();
        let removed_live = live.difference(&new).count();
        if !live.is_empty() && removed_live as f64 > max_share * live.len() as f64 {
            return Err(TooManyRemoved {
                removed: removed_live,
                had: live.len(),
            });
        }
        Ok(diff)
    }

    /// Puts `items` in force for `source`, stamped with `fetched_at`.
    pub fn replace(&mut self, source: &str, mut items: Vec<M>, fetched_at: OffsetDateTime) {
        for item in &mut items {
            item.stamp(fetched_at);
        }
        self.by_source.insert(source.to_owned(), items);
    }

    /// Replaces everything with `items`, grouped by the source `source_of` names (adopting a
    /// stored snapshot: sources absent from it have nothing in force any more).
    pub fn reset(&mut self, items: impl IntoIterator<Item = M>, source_of: impl Fn(&M) -> String) {
        self.by_source.clear();
        for item in items {
            self.by_source
                .entry(source_of(&item))
                .or_default()
                .push(item);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Debug)]
    struct Item(&'static str, bool);

    impl Material for Item {
        const KIND: &'static str = "test";
        fn identity(&self) -> String {
            self.0.to_owned()
        }
        fn in_force(&self, _now: OffsetDateTime) -> bool {
            self.1
        }
    }

    const NOW: OffsetDateTime = OffsetDateTime::UNIX_EPOCH;

    #[test]
    fn the_guard_counts_only_items_still_in_force() {
        let mut shelf = Shelf::default();
        shelf.replace(
            "s",
            vec![
                Item("a", true),
                Item("b", false),
                Item("c", false),
                Item("d", false),
            ],
            NOW,
        );
        // Dropping the three expired items is routine, even with a 10 % share allowed.
        let diff = shelf
            .check_removal("s", &[Item("a", true), Item("e", true)], 0.1, NOW)
            .unwrap();
        assert_eq!(
            diff,
            Diff {
                added: 1,
                removed: 3
            }
        );
        // Dropping the one item in force is refused.
        let err = shelf
            .check_removal("s", &[Item("e", true)], 0.5, NOW)
            .unwrap_err();
        assert_eq!(err, TooManyRemoved { removed: 1, had: 1 });
        // A first copy is never refused.
        assert!(shelf.check_removal("new", &[], 0.0, NOW).is_ok());
    }

    #[test]
    fn reset_groups_by_source_and_forgets_absent_sources() {
        let mut shelf = Shelf::default();
        shelf.replace("old", vec![Item("x", true)], NOW);
        shelf.reset([Item("a", true), Item("b", true)], |i| {
            if i.0 == "a" {
                "one".into()
            } else {
                "two".into()
            }
        });
        assert!(!shelf.has("old"));
        assert_eq!(shelf.count("one"), 1);
        assert_eq!(shelf.all().count(), 2);
    }
}
