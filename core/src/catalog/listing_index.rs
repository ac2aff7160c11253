//! An in-memory index of the listable catalog: the few columns a listing filters, sorts and
//! counts on, for every visible product, with the three sort orders precomputed.
//!
//! A listing is a search with no words: filtering and faceting 100,000 rows in PostgreSQL
//! costs a full scan per request (~200 ms), while one pass over these compact rows costs well
//! under a millisecond. The index only answers *which* products and *how many*; the products
//! shown are then read from PostgreSQL by id, so prices and stock on a page are always current.
//! It is pure data: loading and refreshing live in `listing_index_store.rs`.

use std::collections::{HashMap, HashSet};

use rust_decimal::Decimal;
use shared_model::api::catalog::{BrandFacet, Facets, PriceRangeFacet, RatingFacet};
use shared_model::catalog::{ListingFilter, PRICE_RANGES, RATING_BUCKETS, SortOrder};
use shared_model::ids::{CategoryId, ProductId};

/// Brands shown in the facet (seed 4.3: terms aggregation of size 20).
pub const BRAND_FACET_SIZE: usize = 20;

/// One visible product, as the listing sees it. Money and ratings are exact integers in
/// hundredths (the columns are `NUMERIC(12,2)` and `NUMERIC(3,2)`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedProduct {
    pub product_id: ProductId,
    pub category_id: CategoryId,
    pub brand: String,
    pub effective_price: Decimal,
    pub avg_rating: Decimal,
    pub review_count: i32,
    /// Creation time in microseconds since the epoch.
    pub created_at: i64,
}

#[derive(Debug, Clone, Copy)]
struct Row {
    product_id: i64,
    category: u32,
    brand: u32,
    price_cents: i64,
    rating_hundredths: i32,
    review_count: i32,
    created_at: i64,
}

/// A category and its materialised path (`/1/7/`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexedCategory {
    pub category_id: CategoryId,
    pub path: String,
}

#[derive(Debug)]
pub struct ListingIndex {
    /// The catalog generation this snapshot includes every write of.
    pub generation: i64,
    rows: Vec<Row>,
    brands: Vec<String>,
    categories: Vec<IndexedCategory>,
    category_slots: HashMap<CategoryId, u32>,
    newest: Vec<u32>,
    price_ascending: Vec<u32>,
    best_rated: Vec<u32>,
}

/// What a listing query answers from the index alone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListingHits {
    pub total: i64,
    pub page: Vec<ProductId>,
    pub facets: Facets,
}

/// The category named by a filter is not in this snapshot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnknownCategory;

fn hundredths(value: Decimal) -> i64 {
    let mut scaled = value * Decimal::ONE_HUNDRED;
    scaled.rescale(0);
    i64::try_from(scaled).unwrap_or(i64::MAX)
}

impl ListingIndex {
    pub fn build(
        generation: i64,
        products: Vec<IndexedProduct>,
        categories: Vec<IndexedCategory>,
    ) -> Self {
        let category_slots: HashMap<CategoryId, u32> = categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.category_id, i as u32))
            .collect();
        let mut brands: Vec<String> = Vec::new();
        let mut brand_slots: HashMap<String, u32> = HashMap::new();
        let rows: Vec<Row> = products
            .into_iter()
            .filter_map(|p| {
                // A product in a category we did not load cannot be filtered by category;
                // a write that moved it is picked up by the next refresh.
                let category = *category_slots.get(&p.category_id)?;
                let brand = *brand_slots.entry(p.brand.clone()).or_insert_with(|| {
                    brands.push(p.brand);
                    (brands.len() - 1) as u32
                });
                Some(Row {
                    product_id: p.product_id.get(),
                    category,
                    brand,
                    price_cents: hundredths(p.effective_price),
                    rating_hundredths: hundredths(p.avg_rating) as i32,
                    review_count: p.review_count,
                    created_at: p.created_at,
                })
            })
            .collect();
        let order = |key: &dyn Fn(&Row, &Row) -> std::cmp::Ordering| {
            let mut positions: Vec<u32> = (0..rows.len() as u32).collect();
            positions.sort_unstable_by(|a, b| key(&rows[*a as usize], &rows[*b as usize]));
            positions
        };
        // The same orders as the SQL listing, ties broken by id so pages never overlap.
        let newest = order(&|a, b| (b.created_at, b.product_id).cmp(&(a.created_at, a.product_id)));
        let price_ascending =
            order(&|a, b| (a.price_cents, a.product_id).cmp(&(b.price_cents, b.product_id)));
        let best_rated = order(&|a, b| {
            (b.rating_hundredths, b.review_count, b.product_id).cmp(&(
                a.rating_hundredths,
                a.review_count,
                a.product_id,
            ))
        });
        ListingIndex {
            generation,
            rows,
            brands,
            categories,
            category_slots,
            newest,
            price_ascending,
            best_rated,
        }
    }

    pub fn len(&self) -> usize {
        self.rows.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    /// The category slots of `category` and everything below it.
    fn subtree(&self, category: CategoryId) -> Result<Vec<bool>, UnknownCategory> {
        let slot = *self.category_slots.get(&category).ok_or(UnknownCategory)?;
        let prefix = &self.categories[slot as usize].path;
        Ok(self
            .categories
            .iter()
            .map(|c| c.path.starts_with(prefix.as_str()))
            .collect())
    }

    pub fn query(&self, filter: &ListingFilter) -> Result<ListingHits, UnknownCategory> {
        let in_scope = filter.category.map(|c| self.subtree(c)).transpose()?;
        // Some(None): a brand nobody sells, which matches nothing (other facets still count).
        let brand = filter
            .brand
            .as_ref()
            .map(|name| self.brands.iter().position(|b| b == name).map(|i| i as u32));
        let min_price = filter.min_price.map(hundredths);
        let max_price = filter.max_price.map(hundredths);
        let min_rating = filter.min_rating.map(|r| i32::from(r) * 100);
        let matches = |row: &Row| -> (bool, bool, bool) {
            let brand_ok = match brand {
                None => true,
                Some(wanted) => Some(row.brand) == wanted,
            };
            let price_ok = min_price.is_none_or(|m| row.price_cents >= m)
                && max_price.is_none_or(|m| row.price_cents <= m);
            let rating_ok = min_rating.is_none_or(|m| row.rating_hundredths >= m);
            (brand_ok, price_ok, rating_ok)
        };
        let scoped = |row: &Row| in_scope.as_ref().is_none_or(|s| s[row.category as usize]);

        // One pass for the total and every facet; each facet ignores its own filter.
        let mut total = 0i64;
        let mut brand_counts = vec![0i64; self.brands.len()];
        let mut price_counts = [0i64; PRICE_RANGES.len()];
        let mut rating_counts = [0i64; RATING_BUCKETS.len()];
        let bucket_bounds: Vec<(Option<i64>, Option<i64>)> = PRICE_RANGES
            .iter()
            .map(|(min, max)| {
                (
                    min.map(|m| i64::from(m) * 100),
                    max.map(|m| i64::from(m) * 100),
                )
            })
            .collect();
        for row in self.rows.iter().filter(|r| scoped(r)) {
            let (brand_ok, price_ok, rating_ok) = matches(row);
            if brand_ok && price_ok && rating_ok {
                total += 1;
            }
            if price_ok && rating_ok {
                brand_counts[row.brand as usize] += 1;
            }
            if brand_ok
                && rating_ok
                && let Some(bucket) = bucket_bounds.iter().position(|(min, max)| {
                    min.is_none_or(|m| row.price_cents >= m)
                        && max.is_none_or(|m| row.price_cents < m)
                })
            {
                price_counts[bucket] += 1;
            }
            if brand_ok && price_ok {
                for (i, stars) in RATING_BUCKETS.iter().enumerate() {
                    if row.rating_hundredths >= i32::from(*stars) * 100 {
                        rating_counts[i] += 1;
                    }
                }
            }
        }

        let order: Box<dyn Iterator<Item = &u32>> = match filter.sort {
            SortOrder::Newest => Box::new(self.newest.iter()),
            SortOrder::PriceAsc => Box::new(self.price_ascending.iter()),
            SortOrder::PriceDesc => Box::new(self.price_ascending.iter().rev()),
            SortOrder::Rating => Box::new(self.best_rated.iter()),
        };
        let page = order
            .map(|slot| &self.rows[*slot as usize])
            .filter(|row| {
                let (brand_ok, price_ok, rating_ok) = matches(row);
                scoped(row) && brand_ok && price_ok && rating_ok
            })
            .skip(usize::try_from(filter.offset()).unwrap_or(usize::MAX))
            .take(filter.size as usize)
            .map(|row| ProductId::new(row.product_id))
            .collect();

        let mut brands: Vec<BrandFacet> = brand_counts
            .iter()
            .enumerate()
            .filter(|(_, count)| **count > 0)
            .map(|(i, count)| BrandFacet {
                name: self.brands[i].clone(),
                count: *count,
            })
            .collect();
        brands.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
        brands.truncate(BRAND_FACET_SIZE);
        let facets = Facets {
            brands,
            price_ranges: PRICE_RANGES
                .iter()
                .zip(price_counts)
                .map(|((min, max), count)| PriceRangeFacet {
                    min: min.map(Decimal::from),
                    max: max.map(Decimal::from),
                    count,
                })
                .collect(),
            ratings: RATING_BUCKETS
                .iter()
                .zip(rating_counts)
                .map(|(min_rating, count)| RatingFacet {
                    min_rating: *min_rating,
                    count,
                })
                .collect(),
        };
        Ok(ListingHits {
            total,
            page,
            facets,
        })
    }
}

/// Whether `generation` is a snapshot's to serve: the index includes every write up to its
/// own generation, so it can answer any request made at that generation or before.
pub fn is_fresh_for(index: &ListingIndex, generation: i64) -> bool {
    index.generation >= generation
}

/// Ids in `page` order, given rows fetched in any order.
pub fn in_page_order<T>(
    page: &[ProductId],
    mut rows: Vec<T>,
    id_of: impl Fn(&T) -> ProductId,
) -> Vec<T> {
    let position: HashMap<ProductId, usize> =
        page.iter().enumerate().map(|(i, id)| (*id, i)).collect();
    rows.retain(|r| position.contains_key(&id_of(r)));
    rows.sort_by_key(|r| position[&id_of(r)]);
    let mut seen = HashSet::new();
    rows.retain(|r| seen.insert(id_of(r)));
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    fn product(
        id: i64,
        category: i64,
        brand: &str,
        price: Decimal,
        rating: Decimal,
        created: i64,
    ) -> IndexedProduct {
        IndexedProduct {
            product_id: ProductId::new(id),
            category_id: CategoryId::new(category),
            brand: brand.into(),
            effective_price: price,
            avg_rating: rating,
            review_count: id as i32,
            created_at: created,
        }
    }

    fn index() -> ListingIndex {
        let categories = vec![
            IndexedCategory {
                category_id: CategoryId::new(1),
                path: "/1/".into(),
            },
            IndexedCategory {
                category_id: CategoryId::new(2),
                path: "/1/2/".into(),
            },
            IndexedCategory {
                category_id: CategoryId::new(3),
                path: "/3/".into(),
            },
        ];
        ListingIndex::build(
            7,
            vec![
                product(10, 2, "Apple", dec!(949.00), dec!(4.5), 5),
                product(11, 2, "Samsung", dec!(450.00), dec!(3.2), 4),
                product(12, 1, "Apple", dec!(1299.99), dec!(4.8), 3),
                product(13, 3, "Penguin", dec!(19.99), dec!(0), 2),
                product(14, 99, "Ghost", dec!(1), dec!(1), 1),
            ],
            categories,
        )
    }

    fn filter(pairs: &[(&str, &str)]) -> ListingFilter {
        ListingFilter::parse(|k| pairs.iter().find(|(key, _)| *key == k).map(|(_, v)| *v)).unwrap()
    }

    #[test]
    fn a_category_covers_its_subtree_and_orders_follow_the_sort() {
        let hits = index()
            .query(&filter(&[("category", "1"), ("sort", "price_asc")]))
            .unwrap();
        assert_eq!(hits.total, 3);
        assert_eq!(hits.page, [11, 10, 12].map(ProductId::new));
        let desc = index().query(&filter(&[("sort", "price_desc")])).unwrap();
        assert_eq!(desc.page, [12, 10, 11, 13].map(ProductId::new));
        let newest = index().query(&filter(&[])).unwrap();
        assert_eq!(
            newest.page,
            [10, 11, 12, 13].map(ProductId::new),
            "products of unknown categories are left out"
        );
        let rated = index().query(&filter(&[("sort", "rating")])).unwrap();
        assert_eq!(rated.page, [12, 10, 11, 13].map(ProductId::new));
    }

    #[test]
    fn each_facet_ignores_its_own_filter() {
        let hits = index()
            .query(&filter(&[
                ("brand", "Apple"),
                ("minPrice", "500"),
                ("maxPrice", "1300"),
            ]))
            .unwrap();
        assert_eq!(hits.total, 2);
        assert_eq!(
            hits.facets.brands,
            vec![BrandFacet {
                name: "Apple".into(),
                count: 2
            }]
        );
        let prices: Vec<i64> = hits.facets.price_ranges.iter().map(|p| p.count).collect();
        assert_eq!(prices, [0, 1, 1, 0]);
        let ratings: Vec<i64> = hits.facets.ratings.iter().map(|r| r.count).collect();
        assert_eq!(ratings, [2, 2, 2, 2]);
    }

    #[test]
    fn pages_skip_and_take_and_unknowns_are_reported() {
        let second = index()
            .query(&filter(&[("size", "2"), ("page", "1")]))
            .unwrap();
        assert_eq!(second.page, [12, 13].map(ProductId::new));
        let nobody = index().query(&filter(&[("brand", "Nobody")])).unwrap();
        assert_eq!(nobody.total, 0);
        assert_eq!(
            nobody.facets.brands.len(),
            3,
            "other brands are still counted"
        );
        assert_eq!(
            index().query(&filter(&[("category", "42")])),
            Err(UnknownCategory)
        );
    }

    #[test]
    fn rows_come_back_in_page_order_without_strays() {
        let page = [3, 1, 2].map(ProductId::new);
        let rows = vec![
            (ProductId::new(1), 'a'),
            (ProductId::new(9), 'z'),
            (ProductId::new(2), 'b'),
            (ProductId::new(3), 'c'),
        ];
        let ordered = in_page_order(&page, rows, |r| r.0);
        assert_eq!(ordered.iter().map(|r| r.1).collect::<String>(), "cab");
    }

    #[test]
    fn freshness_compares_generations() {
        assert!(is_fresh_for(&index(), 7));
        assert!(is_fresh_for(&index(), 6));
        assert!(!is_fresh_for(&index(), 8));
    }
}
