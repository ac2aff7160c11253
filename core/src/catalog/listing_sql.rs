//! The product listing computed by PostgreSQL alone: one page of products and the facet counts
//! over everything that matches, read in parallel. This is the fallback while the in-memory
//! listing index cannot be used (Redis down, a category newer than the index) and the oracle
//! the index is tested against.
//!
//! Each facet ignores its own filter (the brand facet counts every brand under the other
//! filters), so a shopper can see what choosing another brand or price would give. All facets
//! and the total come from one scan with `GROUPING SETS`.

use rust_decimal::Decimal;
use shared_model::api::catalog::{
    BrandFacet, Facets, Pagination, PriceRangeFacet, ProductList, ProductSummary, RatingFacet,
};
use shared_model::catalog::{ListingFilter, PRICE_RANGES, RATING_BUCKETS, SortOrder};
use shared_model::ids::ProductId;

use super::listing_index::{BRAND_FACET_SIZE, in_page_order};
use shared_model::money::with_minor_units;
use sqlx::{PgPool, Postgres, QueryBuilder};

use crate::error::ApiError;

/// The filters of one listing request, with the category resolved to its subtree path.
pub struct Listing<'a> {
    pub filter: &'a ListingFilter,
    /// `'/1/7/'`: the category and everything below it.
    pub category_path: Option<&'a str>,
}

pub async fn list_products(db: &PgPool, listing: &Listing<'_>) -> Result<ProductList, ApiError> {
    let (products, (total, facets)) =
        tokio::try_join!(fetch_page(db, listing), fetch_facets(db, listing))?;
    assemble(listing.filter, products, total, facets)
}

/// The listing answer, refusing a page past the last one (an empty first page is fine).
pub fn assemble(
    filter: &ListingFilter,
    products: Vec<ProductSummary>,
    total: i64,
    facets: Facets,
) -> Result<ProductList, ApiError> {
    if filter.page > 0 && filter.offset() >= u64::try_from(total).unwrap_or(0) {
        return Err(ApiError::not_found(
            "page_out_of_range",
            format!(
                "page {} is past the last page of these results",
                filter.page
            ),
        ));
    }
    let size = i64::from(filter.size);
    Ok(ProductList {
        products,
        pagination: Pagination {
            page: filter.page,
            size: filter.size,
            total,
            total_pages: (total + size - 1) / size,
        },
        facets,
    })
}

/// The summaries of the given products, in the given order. Products hidden since the ids
/// were chosen are left out.
pub async fn summaries(db: &PgPool, ids: &[ProductId]) -> Result<Vec<ProductSummary>, ApiError> {
    let raw: Vec<i64> = ids.iter().map(|id| id.get()).collect();
    let rows: Vec<SummaryRow> = sqlx::query_as(&format!(
        "SELECT {SUMMARY_COLUMNS} FROM products p
          WHERE p.product_id = ANY($1) AND p.status <> 'INACTIVE'"
    ))
    .bind(&raw)
    .fetch_all(db)
    .await?;
    let rows = in_page_order(ids, rows, |r| ProductId::new(r.product_id));
    rows.into_iter().map(SummaryRow::into_summary).collect()
}

/// Rows that are listed at all: everything but INACTIVE, within the category subtree.
fn push_scope(qb: &mut QueryBuilder<'_, Postgres>, listing: &Listing<'_>) {
    qb.push(" p.status <> 'INACTIVE'");
    if let Some(path) = listing.category_path {
        qb.push(" AND p.category_id IN (SELECT c.category_id FROM categories c WHERE c.path LIKE ");
        qb.push_bind(format!("{path}%"));
        qb.push(")");
    }
}

fn push_brand_condition(qb: &mut QueryBuilder<'_, Postgres>, filter: &ListingFilter) {
    match &filter.brand {
        Some(brand) => {
            qb.push("p.brand = ");
            qb.push_bind(brand.clone());
        }
        None => {
            qb.push("TRUE");
        }
    }
}

fn push_price_condition(qb: &mut QueryBuilder<'_, Postgres>, filter: &ListingFilter) {
    qb.push("(TRUE");
    if let Some(min) = filter.min_price {
        qb.push(" AND p.effective_price >= ");
        qb.push_bind(min);
    }
    if let Some(max) = filter.max_price {
        qb.push(" AND p.effective_price <= ");
        qb.push_bind(max);
    }
    qb.push(")");
}

fn push_rating_condition(qb: &mut QueryBuilder<'_, Postgres>, filter: &ListingFilter) {
    match filter.min_rating {
        Some(rating) => {
            qb.push("p.avg_rating >= ");
            qb.push_bind(Decimal::from(rating));
        }
        None => {
            qb.push("TRUE");
        }
    }
}

#[derive(sqlx::FromRow)]
struct SummaryRow {
    product_id: i64,
    name: String,
    brand: String,
    base_price: Decimal,
    sale_price: Option<Decimal>,
    currency: String,
    avg_rating: Decimal,
    review_count: i32,
    purchasable: bool,
    image_url: Option<String>,
}

impl SummaryRow {
    fn into_summary(self) -> Result<ProductSummary, ApiError> {
        let currency = self.currency.parse()?;
        Ok(ProductSummary {
            product_id: ProductId::new(self.product_id),
            name: self.name,
            brand: self.brand,
            price: with_minor_units(self.base_price, currency),
            sale_price: self.sale_price.map(|p| with_minor_units(p, currency)),
            currency,
            image_url: self.image_url,
            rating: rating(self.avg_rating),
            review_count: self.review_count,
            in_stock: self.purchasable,
        })
    }
}

/// Ratings always with two decimals ("4.50", "0.00").
pub(super) fn rating(average: Decimal) -> Decimal {
    let mut average = average;
    average.rescale(2);
    average
}

/// The columns of a product summary, for any query over `products p`.
pub(super) const SUMMARY_COLUMNS: &str =
    "p.product_id, p.name, p.brand, p.base_price, p.sale_price,
    p.currency, p.avg_rating, p.review_count,
    (p.status = 'ACTIVE' AND EXISTS (
        SELECT 1 FROM inventory v
         WHERE v.product_id = p.product_id AND v.quantity_available > 0)) AS purchasable,
    (SELECT i.image_url FROM product_images i WHERE i.product_id = p.product_id
      ORDER BY i.is_primary DESC, i.display_order, i.image_id LIMIT 1) AS image_url";

async fn fetch_page(db: &PgPool, listing: &Listing<'_>) -> Result<Vec<ProductSummary>, ApiError> {
    let filter = listing.filter;
    let mut qb = QueryBuilder::new(format!("SELECT {SUMMARY_COLUMNS} FROM products p WHERE"));
    push_scope(&mut qb, listing);
    qb.push(" AND ");
    push_brand_condition(&mut qb, filter);
    qb.push(" AND ");
    push_price_condition(&mut qb, filter);
    qb.push(" AND ");
    push_rating_condition(&mut qb, filter);
    qb.push(match filter.sort {
        SortOrder::Newest => " ORDER BY p.created_at DESC, p.product_id DESC",
        SortOrder::PriceAsc => " ORDER BY p.effective_price ASC, p.product_id ASC",
        SortOrder::PriceDesc => " ORDER BY p.effective_price DESC, p.product_id DESC",
        SortOrder::Rating => " ORDER BY p.avg_rating DESC, p.review_count DESC, p.product_id DESC",
    });
    qb.push(" LIMIT ");
    qb.push_bind(i64::from(filter.size));
    qb.push(" OFFSET ");
    qb.push_bind(i64::try_from(filter.offset()).unwrap_or(i64::MAX));
    qb.build_query_as::<SummaryRow>()
        .fetch_all(db)
        .await?
        .into_iter()
        .map(SummaryRow::into_summary)
        .collect()
}

#[derive(sqlx::FromRow)]
struct FacetRow {
    is_total: bool,
    brand: Option<String>,
    brand_count: i64,
    total: i64,
    price_0: i64,
    price_1: i64,
    price_2: i64,
    price_3: i64,
    rating_4: i64,
    rating_3: i64,
    rating_2: i64,
    rating_1: i64,
}

async fn fetch_facets(db: &PgPool, listing: &Listing<'_>) -> Result<(i64, Facets), ApiError> {
    let filter = listing.filter;
    let mut qb =
        QueryBuilder::new("WITH base AS (SELECT p.brand, p.effective_price, p.avg_rating, ");
    push_brand_condition(&mut qb, filter);
    qb.push(" AS brand_ok, ");
    push_price_condition(&mut qb, filter);
    qb.push(" AS price_ok, ");
    push_rating_condition(&mut qb, filter);
    qb.push(" AS rating_ok FROM products p WHERE");
    push_scope(&mut qb, listing);
    qb.push(
        ") SELECT GROUPING(brand) = 1 AS is_total, brand,
            count(*) FILTER (WHERE price_ok AND rating_ok) AS brand_count,
            count(*) FILTER (WHERE brand_ok AND price_ok AND rating_ok) AS total,",
    );
    for (i, (min, max)) in PRICE_RANGES.iter().enumerate() {
        qb.push(" count(*) FILTER (WHERE brand_ok AND rating_ok");
        if let Some(min) = min {
            qb.push(format!(" AND effective_price >= {min}"));
        }
        if let Some(max) = max {
            qb.push(format!(" AND effective_price < {max}"));
        }
        qb.push(format!(") AS price_{i},"));
    }
    let ratings: Vec<String> = RATING_BUCKETS
        .iter()
        .map(|r| {
            format!(
                " count(*) FILTER (WHERE brand_ok AND price_ok AND avg_rating >= {r}) AS rating_{r}"
            )
        })
        .collect();
    qb.push(ratings.join(","));
    qb.push(" FROM base GROUP BY GROUPING SETS ((brand), ())");
    let rows = qb.build_query_as::<FacetRow>().fetch_all(db).await?;

    let mut total = 0;
    let mut price_counts = [0i64; 4];
    let mut rating_counts = [0i64; 4];
    let mut brands = Vec::new();
    for row in rows {
        if row.is_total {
            total = row.total;
            price_counts = [row.price_0, row.price_1, row.price_2, row.price_3];
            rating_counts = [row.rating_4, row.rating_3, row.rating_2, row.rating_1];
        } else if let Some(name) = row.brand
            && row.brand_count > 0
        {
            brands.push(BrandFacet {
                name,
                count: row.brand_count,
            });
        }
    }
    brands.sort_by(|a, b| b.count.cmp(&a.count).then_with(|| a.name.cmp(&b.name)));
    brands.truncate(BRAND_FACET_SIZE);
    let price_ranges = PRICE_RANGES
        .iter()
        .zip(price_counts)
        .map(|((min, max), count)| PriceRangeFacet {
            min: min.map(Decimal::from),
            max: max.map(Decimal::from),
            count,
        })
        .collect();
    let ratings = RATING_BUCKETS
        .iter()
        .zip(rating_counts)
        .map(|(min_rating, count)| RatingFacet {
            min_rating: *min_rating,
            count,
        })
        .collect();
    Ok((
        total,
        Facets {
            brands,
            price_ranges,
            ratings,
        },
    ))
}
