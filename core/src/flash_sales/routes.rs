//! `/api/admin/flash-sales*` (admins), `/api/flash-sales/{id}` and `/admission` (public), and
//! `/api/flash-sales/{id}/queue` (a signed-in buyer joins the waiting room), and
//! `/api/flash-sales/{id}/queue/joins` (the edge reports the tickets it gave).

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;
use shared_model::api::ErrorBody;
use shared_model::api::flash_sales::{
    CreateFlashSale, FlashSaleView, JoinsRecorded, QueueJoined, ReportedJoins, UpdateFlashSale,
};
use shared_model::flash_sale::AdmissionCursor;
use shared_model::ids::FlashSaleId;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::{queue, sales};
use crate::auth::{AdminUser, TokenHolder};
use crate::error::ApiResult;
use crate::http::{JsonBody, PathParam};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_sale))
        .routes(routes!(update_sale))
        .routes(routes!(cancel_sale))
        .routes(routes!(prewarm_sale))
        .routes(routes!(get_sale))
        .routes(routes!(get_admission))
        .routes(routes!(join_queue))
        .routes(routes!(record_joins))
}

/// Schedules a flash sale; it is pre-warmed 30 minutes before its start.
#[utoipa::path(post, path = "/api/admin/flash-sales", tag = "flash sales", security(("bearer" = [])),
    request_body = CreateFlashSale,
    responses(
        (status = 201, body = FlashSaleView),
        (status = 404, description = "Unknown product", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn create_sale(
    State(state): State<AppState>,
    _admin: AdminUser,
    JsonBody(request): JsonBody<CreateFlashSale>,
) -> ApiResult<impl IntoResponse> {
    let view = sales::create(&state, &request).await?;
    let location = format!("/api/flash-sales/{}", view.flash_sale_id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(view),
    ))
}

/// Changes a sale; units and the start only before it starts.
#[utoipa::path(patch, path = "/api/admin/flash-sales/{flashSaleId}", tag = "flash sales", security(("bearer" = [])),
    params(("flashSaleId" = String, Path)),
    request_body = UpdateFlashSale,
    responses(
        (status = 200, body = FlashSaleView),
        (status = 404, body = ErrorBody),
        (status = 409, description = "sale_started or sale_cancelled", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn update_sale(
    State(state): State<AppState>,
    _admin: AdminUser,
    PathParam(id): PathParam<FlashSaleId>,
    JsonBody(request): JsonBody<UpdateFlashSale>,
) -> ApiResult<Json<FlashSaleView>> {
    Ok(Json(sales::update(&state, id, &request).await?))
}

/// Cancels a sale: nobody else is admitted or can check out its item under it.
#[utoipa::path(post, path = "/api/admin/flash-sales/{flashSaleId}/cancel", tag = "flash sales", security(("bearer" = [])),
    params(("flashSaleId" = String, Path)),
    responses((status = 200, body = FlashSaleView), (status = 404, body = ErrorBody)))]
async fn cancel_sale(
    State(state): State<AppState>,
    _admin: AdminUser,
    PathParam(id): PathParam<FlashSaleId>,
) -> ApiResult<Json<FlashSaleView>> {
    Ok(Json(sales::cancel(&state, id).await?))
}

/// Loads the sale's purchase tokens and stock counters into Redis now.
#[utoipa::path(post, path = "/api/admin/flash-sales/{flashSaleId}/prewarm", tag = "flash sales", security(("bearer" = [])),
    params(("flashSaleId" = String, Path)),
    responses(
        (status = 200, body = FlashSaleView),
        (status = 404, body = ErrorBody),
        (status = 409, description = "sale_closed", body = ErrorBody),
    ))]
async fn prewarm_sale(
    State(state): State<AppState>,
    _admin: AdminUser,
    PathParam(id): PathParam<FlashSaleId>,
) -> ApiResult<Json<FlashSaleView>> {
    Ok(Json(sales::prewarm_now(&state, id).await?))
}

/// A sale's public state: when it starts, how many units are left, whether it is sold out.
#[utoipa::path(get, path = "/api/flash-sales/{flashSaleId}", tag = "flash sales",
    params(("flashSaleId" = String, Path)),
    responses((status = 200, body = FlashSaleView), (status = 404, body = ErrorBody)))]
async fn get_sale(
    State(state): State<AppState>,
    PathParam(id): PathParam<FlashSaleId>,
) -> ApiResult<impl IntoResponse> {
    let row = sales::load_for_buyers(&state, id).await?;
    let view = sales::view(&state, &row, Utc::now()).await?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=1")], Json(view)))
}

/// The waiting room's admission cursor; the edge caches it for a second or two and answers
/// every status poll from it.
#[utoipa::path(get, path = "/api/flash-sales/{flashSaleId}/admission", tag = "flash sales",
    params(("flashSaleId" = String, Path)),
    responses((status = 200, body = AdmissionCursor), (status = 404, body = ErrorBody)))]
async fn get_admission(
    State(state): State<AppState>,
    PathParam(id): PathParam<FlashSaleId>,
) -> ApiResult<impl IntoResponse> {
    let row = sales::load_for_buyers(&state, id).await?;
    let cursor = queue::cursor(&state, &row, Utc::now()).await?;
    Ok(([(header::CACHE_CONTROL, "public, max-age=1")], Json(cursor)))
}

/// Joins the waiting room; joining again answers the same ticket.
#[utoipa::path(post, path = "/api/flash-sales/{flashSaleId}/queue", tag = "flash sales", security(("bearer" = [])),
    params(("flashSaleId" = String, Path)),
    responses(
        (status = 200, body = QueueJoined),
        (status = 404, body = ErrorBody),
        (status = 409, description = "sale_closed", body = ErrorBody),
    ))]
async fn join_queue(
    State(state): State<AppState>,
    // A valid token; its session is checked at the checkout (see `TokenHolder`).
    user: TokenHolder,
    PathParam(id): PathParam<FlashSaleId>,
) -> ApiResult<Json<QueueJoined>> {
    let row = sales::load_for_buyers(&state, id).await?;
    Ok(Json(
        queue::join(&state, &row, user.user_id, Utc::now()).await?,
    ))
}

/// Counts the tickets the edge gave for the sale. No session: each ticket carries the
/// admission key's signature, and says only what its own buyer was given. Sending a report
/// again changes nothing (a buyer keeps their first place).
#[utoipa::path(post, path = "/api/flash-sales/{flashSaleId}/queue/joins", tag = "flash sales",
    params(("flashSaleId" = String, Path)),
    request_body = ReportedJoins,
    responses(
        (status = 200, body = JoinsRecorded),
        (status = 403, description = "ticket_invalid: a ticket not signed for this sale", body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 422, description = "more tickets than one report may carry", body = ErrorBody),
    ))]
async fn record_joins(
    State(state): State<AppState>,
    PathParam(id): PathParam<FlashSaleId>,
    JsonBody(report): JsonBody<ReportedJoins>,
) -> ApiResult<Json<JoinsRecorded>> {
    let row = sales::load_for_buyers(&state, id).await?;
    let new = queue::record_reported(&state, &row, &report.tickets).await?;
    Ok(Json(JoinsRecorded { new }))
}
