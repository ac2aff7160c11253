//! The catalog: the category tree, the product listing with facets, product detail and
//! variant availability for everyone; product listing and editing for sellers and admins.
//! Reads are cache-aside in Redis; every write bumps the product's version, records a
//! PRODUCT_CHANGED event in the outbox and invalidates the caches after it commits.

pub mod cache;
pub mod listing;
pub mod listing_index;
pub mod listing_index_store;
pub mod listing_sql;
pub mod manage_routes;
pub mod routes;
pub mod store;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(routes::router())
        .merge(manage_routes::router())
}
