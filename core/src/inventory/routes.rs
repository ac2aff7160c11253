//! `PUT /api/admin/inventory` and `GET /api/admin/warehouses`.

use axum::extract::State;
use axum::{Extension, Json};
use shared_model::ModelError;
use shared_model::api::ErrorBody;
use shared_model::api::inventory::{
    InventoryUpdate, InventoryView, MAX_QUANTITY_TOTAL, WarehouseView,
};
use shared_model::events::{ProductChange, ProductChanged};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store;
use crate::auth::AdminUser;
use crate::catalog::cache;
use crate::error::{ApiError, ApiResult};
use crate::http::JsonBody;
use crate::http::observe::CorrelationId;
use crate::outbox;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(set_stock))
        .routes(routes!(list_warehouses))
}

/// Sets the physical stock of one (product, variant, warehouse).
#[utoipa::path(put, path = "/api/admin/inventory", tag = "admin", security(("bearer" = [])),
    request_body = InventoryUpdate,
    responses(
        (status = 200, body = InventoryView),
        (status = 404, description = "Unknown product", body = ErrorBody),
        (status = 409, description = "Below the units already reserved", body = ErrorBody),
        (status = 422, body = ErrorBody),
    ))]
async fn set_stock(
    State(state): State<AppState>,
    Extension(correlation): Extension<CorrelationId>,
    _admin: AdminUser,
    JsonBody(update): JsonBody<InventoryUpdate>,
) -> ApiResult<Json<InventoryView>> {
    let quantity_total = i32::try_from(update.quantity_total)
        .ok()
        .filter(|q| (0..=MAX_QUANTITY_TOTAL).contains(&i64::from(*q)))
        .ok_or_else(|| {
            ModelError::invalid(
                "quantityTotal",
                format!("must be from 0 to {MAX_QUANTITY_TOTAL}"),
            )
        })?;
    let threshold = update
        .low_stock_threshold
        .map(|t| {
            i32::try_from(t)
                .ok()
                .filter(|t| (0..=MAX_QUANTITY_TOTAL).contains(&i64::from(*t)))
                .ok_or_else(|| {
                    ModelError::invalid("lowStockThreshold", "must be from 0 to 10000000")
                })
        })
        .transpose()?;
    let mut tx = state.db.begin().await?;
    let shape = store::product_shape(&mut tx, update.product_id)
        .await?
        .ok_or_else(|| {
            ApiError::not_found(
                "product_not_found",
                format!("no product {}", update.product_id),
            )
        })?;
    match (shape.has_variants, update.variant_id) {
        (true, None) => {
            return Err(ModelError::invalid(
                "variantId",
                "this product is stocked per variant; name one",
            )
            .into());
        }
        (false, Some(_)) => {
            return Err(ModelError::invalid(
                "variantId",
                "this product has no variants; send null",
            )
            .into());
        }
        _ => {}
    }
    let row = store::set_total(
        &mut tx,
        update.product_id,
        update.variant_id,
        update.warehouse_id,
        quantity_total,
        threshold,
    )
    .await?;
    let version = store::touch_product(&mut tx, update.product_id).await?;
    let event = ProductChanged {
        product_id: update.product_id,
        version,
        change: ProductChange::StockChanged,
    };
    outbox::enqueue(&mut tx, &outbox::envelope(event, None, &correlation.0)).await?;
    tx.commit().await?;
    // The Redis counter takes the new figure now, not when it next drifts.
    state.reservations.resync_counters(&[row.id()]).await?;
    cache::invalidate_product(&state.redis, update.product_id).await;
    Ok(Json(row.view()))
}

/// Warehouses, for choosing where stock is set.
#[utoipa::path(get, path = "/api/admin/warehouses", tag = "admin", security(("bearer" = [])),
    responses((status = 200, body = Vec<WarehouseView>), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn list_warehouses(
    State(state): State<AppState>,
    _admin: AdminUser,
) -> ApiResult<Json<Vec<WarehouseView>>> {
    Ok(Json(store::warehouses(&state.db).await?))
}
