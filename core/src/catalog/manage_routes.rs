//! Listing and editing products: sellers their own (`/api/seller/products`), admins any
//! (`/api/admin/products`).

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::{Extension, Json};
use shared_model::ModelError;
use shared_model::api::ErrorBody;
use shared_model::api::catalog::{ProductDetail, ProductInput};
use shared_model::events::{ProductChange, ProductChanged};
use shared_model::ids::{ProductId, SellerId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::cache;
use super::store::{self, Visibility};
use crate::auth::{AdminUser, SellerUser};
use crate::error::{ApiError, ApiResult};
use crate::http::observe::CorrelationId;
use crate::http::{JsonBody, PathParam};
use crate::outbox;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(seller_create))
        .routes(routes!(seller_update))
        .routes(routes!(admin_create))
        .routes(routes!(admin_update))
}

/// Lists a new product for the calling seller.
#[utoipa::path(post, path = "/api/seller/products", tag = "sellers", security(("bearer" = [])),
    request_body = ProductInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses(
        (status = 201, body = ProductDetail),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "The SKU is taken", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn seller_create(
    State(state): State<AppState>,
    Extension(correlation): Extension<CorrelationId>,
    seller: SellerUser,
    JsonBody(input): JsonBody<ProductInput>,
) -> ApiResult<impl IntoResponse> {
    if input.seller_id.is_some_and(|s| s != seller.seller_id) {
        return Err(
            ModelError::invalid("sellerId", "sellers list products for themselves only").into(),
        );
    }
    create(&state, &correlation, seller.seller_id, input).await
}

/// Replaces one of the calling seller's products.
#[utoipa::path(put, path = "/api/seller/products/{productId}", tag = "sellers", security(("bearer" = [])),
    params(("productId" = String, Path)), request_body = ProductInput,
    responses(
        (status = 200, body = ProductDetail),
        (status = 403, description = "Another seller's product", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn seller_update(
    State(state): State<AppState>,
    Extension(correlation): Extension<CorrelationId>,
    seller: SellerUser,
    PathParam(id): PathParam<ProductId>,
    JsonBody(input): JsonBody<ProductInput>,
) -> ApiResult<Json<ProductDetail>> {
    if input.seller_id.is_some_and(|s| s != seller.seller_id) {
        return Err(ModelError::invalid(
            "sellerId",
            "sellers cannot hand products to another seller",
        )
        .into());
    }
    update(&state, &correlation, id, Some(seller.seller_id), input).await
}

/// Lists a new product, for the house seller unless `sellerId` names another.
#[utoipa::path(post, path = "/api/admin/products", tag = "admin", security(("bearer" = [])),
    request_body = ProductInput,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses(
        (status = 201, body = ProductDetail),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
    ))]
async fn admin_create(
    State(state): State<AppState>,
    Extension(correlation): Extension<CorrelationId>,
    _admin: AdminUser,
    JsonBody(input): JsonBody<ProductInput>,
) -> ApiResult<impl IntoResponse> {
    let seller = match input.seller_id {
        Some(seller) => active_seller(&state, seller).await?,
        None => store::house_seller(&state.db).await?,
    };
    create(&state, &correlation, seller, input).await
}

/// Replaces any product; `sellerId` may move it to another seller.
#[utoipa::path(put, path = "/api/admin/products/{productId}", tag = "admin", security(("bearer" = [])),
    params(("productId" = String, Path)), request_body = ProductInput,
    responses((status = 200, body = ProductDetail), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn admin_update(
    State(state): State<AppState>,
    Extension(correlation): Extension<CorrelationId>,
    _admin: AdminUser,
    PathParam(id): PathParam<ProductId>,
    JsonBody(input): JsonBody<ProductInput>,
) -> ApiResult<Json<ProductDetail>> {
    if let Some(seller) = input.seller_id {
        active_seller(&state, seller).await?;
    }
    update(&state, &correlation, id, None, input).await
}

async fn active_seller(state: &AppState, seller: SellerId) -> ApiResult<SellerId> {
    if store::seller_is_active(&state.db, seller).await? {
        Ok(seller)
    } else {
        Err(ApiError::unprocessable(
            "unknown_seller",
            "sellerId names no active seller",
        ))
    }
}

async fn create(
    state: &AppState,
    correlation: &CorrelationId,
    seller: SellerId,
    input: ProductInput,
) -> ApiResult<impl IntoResponse + use<>> {
    let product = input.validate()?;
    let mut tx = state.db.begin().await?;
    let (id, version) = store::insert_product(&mut tx, seller, &product).await?;
    let event = ProductChanged {
        product_id: id,
        version,
        change: ProductChange::Created,
    };
    outbox::enqueue(&mut tx, &outbox::envelope(event, None, &correlation.0)).await?;
    tx.commit().await?;
    cache::invalidate_product(&state.redis, id).await;
    let detail = read_back(state, id).await?;
    let location = format!("/api/products/{id}");
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(detail),
    ))
}

async fn update(
    state: &AppState,
    correlation: &CorrelationId,
    id: ProductId,
    owner: Option<SellerId>,
    input: ProductInput,
) -> ApiResult<Json<ProductDetail>> {
    let product = input.validate()?;
    let mut tx = state.db.begin().await?;
    let version = store::update_product(
        &mut tx,
        id,
        owner,
        product.seller_id.filter(|_| owner.is_none()),
        &product,
    )
    .await?;
    let event = ProductChanged {
        product_id: id,
        version,
        change: ProductChange::Updated,
    };
    outbox::enqueue(&mut tx, &outbox::envelope(event, None, &correlation.0)).await?;
    tx.commit().await?;
    cache::invalidate_product(&state.redis, id).await;
    Ok(Json(read_back(state, id).await?))
}

async fn read_back(state: &AppState, id: ProductId) -> ApiResult<ProductDetail> {
    store::product_detail(&state.db, id, Visibility::Any)
        .await?
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("product {id} vanished after its write")))
}
