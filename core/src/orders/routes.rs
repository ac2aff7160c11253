//! `/api/orders*` for buyers and `/api/seller/orders` for sellers.

use axum::extract::State;
use axum::{Extension, Json};
use serde::Deserialize;
use shared_model::api::ErrorBody;
use shared_model::api::orders::{CancelOrderRequest, OrderDetail, OrderList, SellerOrderList};
use shared_model::ids::OrderId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{cancel, cursor, read};
use crate::auth::{CurrentUser, SellerUser};
use crate::error::ApiResult;
use crate::http::observe::CorrelationId;
use crate::http::{JsonBody, PathParam, QueryParams};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_orders))
        .routes(routes!(get_order))
        .routes(routes!(cancel_order))
        .routes(routes!(seller_orders))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PageQuery {
    /// From a previous page's `nextCursor`.
    cursor: Option<String>,
    /// 1-100, default 20.
    limit: Option<String>,
}

impl PageQuery {
    fn parse(&self) -> ApiResult<(Option<cursor::Position>, i64)> {
        Ok((
            self.cursor.as_deref().map(cursor::decode).transpose()?,
            cursor::limit(self.limit.as_deref())?,
        ))
    }
}

/// The caller's orders, newest first.
#[utoipa::path(get, path = "/api/orders", tag = "orders", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = OrderList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn list_orders(
    State(state): State<AppState>,
    user: CurrentUser,
    QueryParams(page): QueryParams<PageQuery>,
) -> ApiResult<Json<OrderList>> {
    let (after, limit) = page.parse()?;
    Ok(Json(
        read::list(&state.db, user.user_id, after, limit).await?,
    ))
}

/// One of the caller's orders with its items, payments and status history.
#[utoipa::path(get, path = "/api/orders/{orderId}", tag = "orders", security(("bearer" = [])),
    params(("orderId" = String, Path)),
    responses((status = 200, body = OrderDetail), (status = 404, body = ErrorBody)))]
async fn get_order(
    State(state): State<AppState>,
    user: CurrentUser,
    PathParam(order): PathParam<OrderId>,
) -> ApiResult<Json<OrderDetail>> {
    Ok(Json(read::detail(&state.db, user.user_id, order).await?))
}

/// Cancels one of the caller's orders before it ships: the stock is released or restocked and
/// any capture refunded.
#[utoipa::path(post, path = "/api/orders/{orderId}/cancel", tag = "orders", security(("bearer" = [])),
    params(("orderId" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    request_body = CancelOrderRequest,
    responses(
        (status = 200, body = OrderDetail),
        (status = 404, body = ErrorBody),
        (status = 409, description = "order_not_cancellable or payment_in_progress", body = ErrorBody),
    ))]
async fn cancel_order(
    State(state): State<AppState>,
    Extension(correlation): Extension<CorrelationId>,
    user: CurrentUser,
    PathParam(order): PathParam<OrderId>,
    JsonBody(request): JsonBody<CancelOrderRequest>,
) -> ApiResult<Json<OrderDetail>> {
    let reason = request
        .reason
        .as_deref()
        .map(str::trim)
        .filter(|r| !r.is_empty())
        .unwrap_or("cancelled by the buyer");
    if reason.chars().count() > 500 {
        return Err(
            shared_model::ModelError::invalid("reason", "must be at most 500 characters").into(),
        );
    }
    cancel::cancel(&state, user, order, reason, &correlation.0).await?;
    Ok(Json(read::detail(&state.db, user.user_id, order).await?))
}

/// The calling seller's lines of paid orders, newest first.
#[utoipa::path(get, path = "/api/seller/orders", tag = "sellers", security(("bearer" = [])), params(PageQuery),
    responses((status = 200, body = SellerOrderList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn seller_orders(
    State(state): State<AppState>,
    seller: SellerUser,
    QueryParams(page): QueryParams<PageQuery>,
) -> ApiResult<Json<SellerOrderList>> {
    let (after, limit) = page.parse()?;
    Ok(Json(
        read::seller_lines(&state.db, seller.seller_id, after, limit).await?,
    ))
}
