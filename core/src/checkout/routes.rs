//! `/api/checkout/*`.

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use shared_model::api::ErrorBody;
use shared_model::api::checkout::{CheckoutView, InitiateCheckoutRequest, PayRequest, PayResponse};
use shared_model::ids::CheckoutId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::http::observe::CorrelationId;
use crate::http::{JsonBody, PathParam};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(initiate))
        .routes(routes!(pay))
        .routes(routes!(get_checkout))
}

/// Reserves the lines for 15 minutes at prices the core computes, and opens the order.
#[utoipa::path(post, path = "/api/checkout/initiate", tag = "checkout", security(("bearer" = [])),
    request_body = InitiateCheckoutRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses(
        (status = 201, body = CheckoutView),
        (status = 409, description = "out_of_stock (details.items) or price_changed (details.priceChanges)", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn initiate(
    State(state): State<AppState>,
    Extension(correlation): Extension<CorrelationId>,
    user: CurrentUser,
    JsonBody(request): JsonBody<InitiateCheckoutRequest>,
) -> ApiResult<impl IntoResponse> {
    let view = super::initiate::initiate(&state, user, request, &correlation.0).await?;
    let location = format!("/api/checkout/{}", view.checkout_id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view),
    ))
}

/// Pays for a checkout and confirms its order.
#[utoipa::path(post, path = "/api/checkout/{checkoutId}/pay", tag = "checkout", security(("bearer" = [])),
    params(("checkoutId" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Required in practice: a retry with the same key replays the answer")),
    request_body = PayRequest,
    responses(
        (status = 200, description = "Paid and confirmed", body = PayResponse),
        (status = 202, description = "The gateway did not answer; the payment is PENDING and will be reconciled", body = PayResponse),
        (status = 402, description = "payment_declined (details.retryable)", body = ErrorBody),
        (status = 409, description = "checkout_expired, checkout_closed or payment_in_progress", body = ErrorBody),
    ))]
async fn pay(
    State(state): State<AppState>,
    Extension(correlation): Extension<CorrelationId>,
    user: CurrentUser,
    PathParam(checkout): PathParam<CheckoutId>,
    JsonBody(request): JsonBody<PayRequest>,
) -> ApiResult<impl IntoResponse> {
    let (status, response) =
        super::pay::pay(&state, user, checkout, request, &correlation.0).await?;
    Ok((status, Json(response)))
}

/// Where a checkout stands, with the seconds left on its reservation.
#[utoipa::path(get, path = "/api/checkout/{checkoutId}", tag = "checkout", security(("bearer" = [])),
    params(("checkoutId" = String, Path)),
    responses((status = 200, body = CheckoutView), (status = 404, body = ErrorBody)))]
async fn get_checkout(
    State(state): State<AppState>,
    user: CurrentUser,
    PathParam(checkout): PathParam<CheckoutId>,
) -> ApiResult<Json<CheckoutView>> {
    Ok(Json(super::view::load(&state, user, checkout).await?))
}
