//! Carts, as the core keeps them: the edge owns each cart and sends a snapshot after every
//! change (seed Part 5), which the core stores in `carts`/`cart_items` for backup, analytics
//! and abandoned-cart reminders. A snapshot older than the stored one is ignored, since
//! snapshots travel asynchronously and may arrive out of order.

pub mod routes;
pub mod store;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    routes::router()
}
