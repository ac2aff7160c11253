//! Users: registration, sign-in and sign-out, the profile, and the address book.
//! Nobody reads or changes another user's data: every query is keyed by the caller's own id.

pub mod address_routes;
pub mod load_test_buyers;
pub mod routes;
pub mod store;

use utoipa_axum::router::OpenApiRouter;

use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(routes::router())
        .merge(address_routes::router())
}
