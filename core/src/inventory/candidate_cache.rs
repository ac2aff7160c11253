//! Which stock rows may supply a line, nearest first, remembered for a few seconds per process.
//!
//! Every reservation needs this list, and it only changes when stock rows are added or a
//! warehouse closes, so asking PostgreSQL for it on every checkout of a hot SKU would spend a
//! query per buyer on an answer that does not change. Correctness does not depend on it being
//! fresh: the counters and PostgreSQL's constraints decide what can be sold; a row added in
//! another process is merely used a few seconds later. A list where some line has no row at
//! all is not kept: stock added for a product nobody could buy yet (a sale about to open) is
//! for sale at once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use shared_model::ids::{ProductId, VariantId};

use super::reservation_store::CandidateRow;

/// How long a list is used.
const FRESH_FOR: Duration = Duration::from_secs(5);
/// Lists kept before the cache starts over (bounds memory under a wide catalog).
const MAX_ENTRIES: usize = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    items: Vec<(ProductId, Option<VariantId>)>,
    country: String,
    state: String,
}

impl Key {
    fn new(items: &[(ProductId, Option<VariantId>)], country: &str, state: &str) -> Self {
        Key {
            items: items.to_vec(),
            country: country.to_owned(),
            state: state.to_owned(),
        }
    }
}

#[derive(Default)]
pub struct CandidateCache {
    entries: Mutex<HashMap<Key, (Instant, Vec<CandidateRow>)>>,
}

impl CandidateCache {
    pub fn get(
        &self,
        items: &[(ProductId, Option<VariantId>)],
        country: &str,
        state: &str,
    ) -> Option<Vec<CandidateRow>> {
        let entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries
            .get(&Key::new(items, country, state))
            .filter(|(at, _)| at.elapsed() < FRESH_FOR)
            .map(|(_, rows)| rows.clone())
    }

    pub fn put(
        &self,
        items: &[(ProductId, Option<VariantId>)],
        country: &str,
        state: &str,
        rows: Vec<CandidateRow>,
    ) {
        let every_line_supplied = items.iter().all(|(product, variant)| {
            rows.iter().any(|r| {
                r.product_id == product.get() && r.variant_id == variant.map(VariantId::get)
            })
        });
        if !every_line_supplied {
            return;
        }
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        if entries.len() >= MAX_ENTRIES {
            entries.clear();
        }
        entries.insert(Key::new(items, country, state), (Instant::now(), rows));
    }

    /// Forgets everything: this process changed stock rows.
    pub fn clear(&self) {
        self.entries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: i64) -> CandidateRow {
        CandidateRow {
            inventory_id: id,
            product_id: 1,
            variant_id: None,
            warehouse_id: 1,
            quantity_available: 0,
            distance_rank: 0,
        }
    }

    #[test]
    fn a_list_is_kept_per_items_and_destination_until_cleared() {
        let cache = CandidateCache::default();
        let items = [(ProductId::new(1), None)];
        assert!(cache.get(&items, "US", "TX").is_none());
        cache.put(&items, "US", "TX", vec![row(7)]);
        assert_eq!(cache.get(&items, "US", "TX").map(|r| r.len()), Some(1));
        assert!(cache.get(&items, "US", "CA").is_none());
        assert!(
            cache
                .get(&[(ProductId::new(2), None)], "US", "TX")
                .is_none()
        );
        cache.clear();
        assert!(cache.get(&items, "US", "TX").is_none());
    }

    #[test]
    fn a_list_missing_a_line_is_not_kept() {
        let cache = CandidateCache::default();
        let items = [(ProductId::new(1), None), (ProductId::new(2), None)];
        cache.put(&items, "US", "TX", vec![row(7)]);
        assert!(cache.get(&items, "US", "TX").is_none());
        cache.put(
            &[(ProductId::new(1), Some(VariantId::new(3)))],
            "US",
            "TX",
            vec![row(7)],
        );
        assert!(
            cache
                .get(&[(ProductId::new(1), Some(VariantId::new(3)))], "US", "TX")
                .is_none()
        );
    }
}
