//! SQL for orders: creation with lines, status changes through the state machine with their
//! history, and reads.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use shared_model::ids::{OrderId, UserId};
use shared_model::order::{OrderStatus, PaymentStatus, TransitionContext, transition};
use sqlx::PgConnection;

use crate::error::ApiError;

/// Who changed an order: a user id, or `system` (sagas, sweepers, recovery).
#[derive(Debug, Clone, Copy)]
pub enum Actor {
    User(UserId),
    System,
}

impl Actor {
    fn label(self) -> String {
        match self {
            Actor::User(user) => user.to_string(),
            Actor::System => "system".to_owned(),
        }
    }
}

/// Moves an order to `to` if the state machine allows it from where it is, records the change
/// in its history and answers the previous status. Moving to where it already is does nothing
/// and answers `None` (steps are retried).
pub async fn change_status(
    conn: &mut PgConnection,
    order: OrderId,
    to: OrderStatus,
    reason: &str,
    actor: Actor,
) -> Result<Option<OrderStatus>, ApiError> {
    let row: Option<(String, Option<DateTime<Utc>>)> =
        sqlx::query_as("SELECT status, delivered_at FROM orders WHERE order_id = $1 FOR UPDATE")
            .bind(order.get())
            .fetch_optional(&mut *conn)
            .await?;
    let (current, delivered_at) =
        row.ok_or_else(|| ApiError::not_found("order_not_found", "no such order"))?;
    let from: OrderStatus = current.parse()?;
    if from == to {
        return Ok(None);
    }
    transition(
        from,
        to,
        &TransitionContext {
            delivered_at,
            now: Utc::now(),
        },
    )?;
    sqlx::query("UPDATE orders SET status = $2, updated_at = now() WHERE order_id = $1")
        .bind(order.get())
        .bind(to.as_str())
        .execute(&mut *conn)
        .await?;
    record_history(conn, order, Some(from), to, reason, actor).await?;
    Ok(Some(from))
}

pub async fn record_history(
    conn: &mut PgConnection,
    order: OrderId,
    from: Option<OrderStatus>,
    to: OrderStatus,
    reason: &str,
    actor: Actor,
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO order_status_history (order_id, from_status, to_status, reason, actor)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(order.get())
    .bind(from.map(|s| s.as_str()))
    .bind(to.as_str())
    .bind(reason)
    .bind(actor.label())
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_payment_status(
    conn: &mut PgConnection,
    order: OrderId,
    status: PaymentStatus,
) -> Result<(), ApiError> {
    sqlx::query("UPDATE orders SET payment_status = $2, updated_at = now() WHERE order_id = $1")
        .bind(order.get())
        .bind(status.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// A new order's line.
pub struct NewOrderItem {
    pub product_id: i64,
    pub variant_id: Option<i64>,
    pub seller_id: i64,
    pub warehouse_id: Option<i64>,
    pub quantity: i32,
    pub unit_price: Decimal,
    pub discount: Decimal,
    pub total: Decimal,
}

pub async fn insert_items(
    conn: &mut PgConnection,
    order: OrderId,
    items: &[NewOrderItem],
) -> Result<(), ApiError> {
    sqlx::query(
        "INSERT INTO order_items (order_id, product_id, variant_id, seller_id, warehouse_id, quantity,
                                  unit_price, discount_amount, total_price)
         SELECT $1, * FROM UNNEST($2::bigint[], $3::bigint[], $4::bigint[], $5::bigint[], $6::int[],
                                  $7::numeric[], $8::numeric[], $9::numeric[])",
    )
    .bind(order.get())
    .bind(items.iter().map(|i| i.product_id).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.variant_id).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.seller_id).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.warehouse_id).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.quantity).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.unit_price).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.discount).collect::<Vec<_>>())
    .bind(items.iter().map(|i| i.total).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}

/// Sets every line of an order to `status` (lines follow the order through confirmation and
/// cancellation).
pub async fn set_items_status(
    conn: &mut PgConnection,
    order: OrderId,
    status: &str,
) -> Result<(), ApiError> {
    sqlx::query("UPDATE order_items SET status = $2 WHERE order_id = $1")
        .bind(order.get())
        .bind(status)
        .execute(conn)
        .await?;
    Ok(())
}
