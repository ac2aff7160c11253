//! The three reservation paths compared, each as one attempt to reserve one unit of the hot SKU:
//! (a) the naive PostgreSQL way, (b) the bare Redis script, (c) edgeshop's own path.

use std::sync::Arc;

use chrono::{Duration as ChronoDuration, Utc};
use edgeshop_core::inventory::counters::{self, CounterReservation, LineDemand, StockKeys};
use edgeshop_core::inventory::reservations::{
    LineRequest, Reservations, ReserveOutcome, ReserveRequest, ShipTo,
};
use shared_model::ids::SagaId;
use sqlx::PgPool;

use crate::fixture::HotSku;
use crate::load::Outcome;

/// The reservation TTL the shop uses.
const TTL_MINUTES: i64 = 15;

/// (a) One transaction per reservation: lock the row, check, decrement, record, commit. Every
/// buyer queues on the row lock for a whole round trip and a commit.
pub async fn naive_row_lock(db: Arc<PgPool>, sku: HotSku) -> Result<Outcome, String> {
    let mut tx = db.begin().await.map_err(|e| e.to_string())?;
    let available: i32 = sqlx::query_scalar(
        "SELECT quantity_total - quantity_reserved FROM inventory WHERE inventory_id = $1 FOR UPDATE",
    )
    .bind(sku.row.get())
    .fetch_one(&mut *tx)
    .await
    .map_err(|e| e.to_string())?;
    if available < 1 {
        tx.rollback().await.map_err(|e| e.to_string())?;
        return Ok(Outcome::Short);
    }
    sqlx::query(
        "UPDATE inventory SET quantity_reserved = quantity_reserved + 1, version = version + 1,
                updated_at = now()
          WHERE inventory_id = $1",
    )
    .bind(sku.row.get())
    .execute(&mut *tx)
    .await
    .map_err(|e| e.to_string())?;
    sqlx::query(
        "INSERT INTO inventory_reservations (inventory_id, saga_id, checkout_id, quantity, expires_at)
         VALUES ($1, $2, $3, 1, $4)",
    )
    .bind(sku.row.get())
    .bind(uuid::Uuid::new_v4())
    .bind(uuid::Uuid::new_v4())
    .bind(Utc::now() + ChronoDuration::minutes(TTL_MINUTES))
    .execute(&mut *tx)
    .await
    .map_err(|e| e.to_string())?;
    tx.commit().await.map_err(|e| e.to_string())?;
    Ok(Outcome::Took)
}

/// (b) The reserve script alone: check-and-decrement plus the hold record, nothing durable.
pub async fn bare_script(keys: Arc<StockKeys>, sku: HotSku) -> Result<Outcome, String> {
    let expires = (Utc::now() + ChronoDuration::minutes(TTL_MINUTES)).timestamp_millis();
    let demand = [LineDemand {
        quantity: 1,
        candidates: vec![sku.row],
    }];
    let saga = SagaId(uuid::Uuid::new_v4());
    match counters::reserve(&keys, saga, expires, &demand).await {
        Ok(CounterReservation::Held(_)) => Ok(Outcome::Took),
        Ok(CounterReservation::Short(_)) => Ok(Outcome::Short),
        Ok(CounterReservation::Missing(_)) => Err("the counter was not loaded".into()),
        Err(err) => Err(err.to_string()),
    }
}

/// (c) What checkout calls: candidate rows, the script, and the durable record (group-committed).
pub async fn edgeshop_path(
    reservations: Arc<Reservations>,
    sku: HotSku,
) -> Result<Outcome, String> {
    let checkout = edgeshop_core::checkout::new_checkout_id();
    let request = ReserveRequest {
        saga: SagaId::for_checkout(checkout),
        checkout,
        cart_id: None,
        lines: vec![LineRequest {
            product: sku.product,
            variant: sku.variant,
            quantity: 1,
        }],
        ship_to: ShipTo {
            country: "US".into(),
            state: "TX".into(),
        },
        expires_at: Utc::now() + ChronoDuration::minutes(TTL_MINUTES),
    };
    match reservations.reserve(&request).await {
        Ok(ReserveOutcome::Reserved(_)) => Ok(Outcome::Took),
        Ok(ReserveOutcome::Short(_)) => Ok(Outcome::Short),
        Err(err) => Err(err.to_string()),
    }
}
