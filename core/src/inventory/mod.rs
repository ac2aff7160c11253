//! Inventory: stock per (product, variant, warehouse). Reserved never exceeds total and
//! nothing is negative; PostgreSQL enforces both, whatever the code above it does.

pub mod candidate_cache;
pub mod counters;
pub mod durable_writer;
pub mod low_stock;
pub mod reservation_store;
pub mod reservations;
pub mod routes;
pub mod store;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    routes::router()
}
