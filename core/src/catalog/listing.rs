//! `GET /api/products`: which products match and how many come from the in-memory listing
//! index; what they look like comes from PostgreSQL by id. Without Redis (so without a
//! generation to tie the index to) or for a category newer than the index, PostgreSQL answers
//! alone.

use shared_model::api::catalog::ProductList;
use shared_model::catalog::ListingFilter;

use super::listing_sql::{self, Listing};
use super::store;
use crate::error::ApiError;
use crate::state::AppState;

/// The listing for `filter`, consistent with catalog generation `generation` when given.
pub async fn list_products(
    state: &AppState,
    filter: &ListingFilter,
    generation: Option<i64>,
) -> Result<ProductList, ApiError> {
    if let Some(generation) = generation {
        let index = state.listing_index.fresh(&state.db, generation).await?;
        // An unknown category may be newer than the index: PostgreSQL decides below.
        if let Ok(hits) = index.query(filter) {
            let products = listing_sql::summaries(&state.db, &hits.page).await?;
            return listing_sql::assemble(filter, products, hits.total, hits.facets);
        }
    }
    list_with_sql(state, filter).await
}

/// The listing computed by PostgreSQL alone.
pub async fn list_with_sql(
    state: &AppState,
    filter: &ListingFilter,
) -> Result<ProductList, ApiError> {
    let category_path = match filter.category {
        Some(category) => Some(
            store::category_path(&state.db, category)
                .await?
                .ok_or_else(|| {
                    ApiError::not_found("category_not_found", format!("no category {category}"))
                })?,
        ),
        None => None,
    };
    let listing = Listing {
        filter,
        category_path: category_path.as_deref(),
    };
    listing_sql::list_products(&state.db, &listing).await
}
