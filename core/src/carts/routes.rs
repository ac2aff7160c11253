//! `PUT /api/carts/{cartId}`: a cart snapshot from the edge.

use axum::Json;
use axum::extract::State;
use shared_model::api::ErrorBody;
use shared_model::api::carts::{CartSnapshot, CartSnapshotAnswer};
use shared_model::cart::ABSOLUTE_MAX_QUANTITY_PER_LINE;
use shared_model::ids::CartId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store;
use crate::auth::EdgeCaller;
use crate::error::{ApiError, ApiResult};
use crate::http::{JsonBody, PathParam};
use crate::state::AppState;

/// More lines than any cart may hold is not a snapshot of one.
const MAX_SNAPSHOT_LINES: usize = 200;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(store_snapshot))
}

/// Stores the edge's snapshot of a cart, unless a newer one is already stored.
#[utoipa::path(put, path = "/api/carts/{cartId}", tag = "operations",
    params(("cartId" = String, Path), ("X-Edge-Secret" = String, Header, description = "The secret shared with the edge")),
    request_body = CartSnapshot,
    responses(
        (status = 200, body = CartSnapshotAnswer),
        (status = 401, description = "Not the edge", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn store_snapshot(
    State(state): State<AppState>,
    _edge: EdgeCaller,
    PathParam(cart_id): PathParam<String>,
    JsonBody(snapshot): JsonBody<CartSnapshot>,
) -> ApiResult<Json<CartSnapshotAnswer>> {
    let cart_id = CartId::parse(&cart_id)?;
    if snapshot.items.len() > MAX_SNAPSHOT_LINES {
        return Err(ApiError::unprocessable(
            "too_many_lines",
            format!("a cart holds at most {MAX_SNAPSHOT_LINES} lines"),
        ));
    }
    if let Some(line) = snapshot
        .items
        .iter()
        .find(|l| l.quantity == 0 || l.quantity > ABSOLUTE_MAX_QUANTITY_PER_LINE)
    {
        return Err(ApiError::unprocessable(
            "invalid_quantity",
            format!(
                "product {}: a quantity must be from 1 to {ABSOLUTE_MAX_QUANTITY_PER_LINE}",
                line.product_id
            ),
        ));
    }
    if let Some(line) = snapshot
        .items
        .iter()
        .find(|l| l.price_at_addition.is_sign_negative())
    {
        return Err(ApiError::unprocessable(
            "invalid_price",
            format!("product {}: a price cannot be negative", line.product_id),
        ));
    }
    let applied = store::save(&state.db, &cart_id, &snapshot).await?;
    Ok(Json(CartSnapshotAnswer { applied }))
}
