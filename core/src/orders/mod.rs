//! Orders: buyers list, read and cancel their own; sellers read the lines that are theirs.
//! Every change goes through the order state machine and into `order_status_history`.

pub mod cancel;
pub mod cursor;
pub mod read;
pub mod routes;
pub mod store;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    routes::router()
}
