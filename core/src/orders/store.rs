//! SQL for orders: creation with lines, status changes through the state machine with their
//! history, and reads.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use shared_model::events::OrderCreatedItem;
use shared_model::ids::{CheckoutId, OrderId, ProductId, SagaId, SellerId, UserId, VariantId};
use shared_model::order::{OrderStatus, PaymentStatus, TransitionContext, transition};
use sqlx::{PgConnection, Postgres, QueryBuilder};

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

/// A new order, PENDING until its checkout's saga confirms or fails it.
pub struct NewOrder {
    pub order_number: String,
    pub user: UserId,
    pub saga: SagaId,
    pub checkout: CheckoutId,
    pub subtotal: Decimal,
    pub discount: Decimal,
    pub tax: Decimal,
    pub shipping: Decimal,
    pub total: Decimal,
    pub currency: String,
    pub shipping_address_id: i64,
    pub billing_address_id: i64,
    /// The address as it was when ordering.
    pub shipping_address: serde_json::Value,
    pub items: Vec<NewOrderItem>,
}

/// Creates PENDING orders, each with its lines and the first line of its history (by its
/// buyer), as three CTEs for the caller's `WITH`: `created` (`order_id` and `saga_id` of each
/// new order), `lines` and `history`. The checkout writes them in the statement that also
/// starts the sagas and queues their events. Every value is bound as an array, so the
/// statement's text is the same however many orders and lines it writes (one prepared plan).
pub fn push_create<'a>(
    q: &mut QueryBuilder<'a, Postgres>,
    orders: &[&'a NewOrder],
    reason: &'a str,
) {
    let column = |f: fn(&NewOrder) -> Decimal| orders.iter().map(|o| f(o)).collect::<Vec<_>>();
    q.push(
        "created AS (
            INSERT INTO orders (order_number, user_id, saga_id, checkout_id, subtotal, discount_amount, tax_amount,
                                shipping_amount, total_amount, currency, shipping_address_id, billing_address_id,
                                shipping_address)
            SELECT * FROM UNNEST(",
    )
    .push_bind(orders.iter().map(|&o| o.order_number.as_str()).collect::<Vec<_>>())
    .push("::text[], ")
    .push_bind(orders.iter().map(|o| o.user.get()).collect::<Vec<_>>())
    .push("::bigint[], ")
    .push_bind(orders.iter().map(|o| o.saga.0).collect::<Vec<_>>())
    .push("::uuid[], ")
    .push_bind(orders.iter().map(|o| o.checkout.0).collect::<Vec<_>>())
    .push("::uuid[], ")
    .push_bind(column(|o| o.subtotal))
    .push("::numeric[], ")
    .push_bind(column(|o| o.discount))
    .push("::numeric[], ")
    .push_bind(column(|o| o.tax))
    .push("::numeric[], ")
    .push_bind(column(|o| o.shipping))
    .push("::numeric[], ")
    .push_bind(column(|o| o.total))
    .push("::numeric[], ")
    .push_bind(orders.iter().map(|&o| o.currency.as_str()).collect::<Vec<_>>())
    .push("::text[], ")
    .push_bind(orders.iter().map(|o| o.shipping_address_id).collect::<Vec<_>>())
    .push("::bigint[], ")
    .push_bind(orders.iter().map(|o| o.billing_address_id).collect::<Vec<_>>())
    .push("::bigint[], ")
    .push_bind(
        orders
            .iter()
            .map(|&o| &o.shipping_address)
            .collect::<Vec<_>>(),
    )
    .push(
        "::jsonb[])
            RETURNING order_id, saga_id, user_id
         ), lines AS (
            INSERT INTO order_items (order_id, product_id, variant_id, seller_id, warehouse_id, quantity,
                                     unit_price, discount_amount, total_price)
            SELECT created.order_id, l.product_id, l.variant_id, l.seller_id, l.warehouse_id, l.quantity,
                   l.unit_price, l.discount, l.total
              FROM UNNEST(",
    );
    let items: Vec<(SagaId, &NewOrderItem)> = orders
        .iter()
        .flat_map(|o| o.items.iter().map(|i| (o.saga, i)))
        .collect();
    let item =
        |f: fn(&NewOrderItem) -> Decimal| items.iter().map(|(_, i)| f(i)).collect::<Vec<_>>();
    q.push_bind(items.iter().map(|(s, _)| s.0).collect::<Vec<_>>())
        .push("::uuid[], ")
        .push_bind(items.iter().map(|(_, i)| i.product_id).collect::<Vec<_>>())
        .push("::bigint[], ")
        .push_bind(items.iter().map(|(_, i)| i.variant_id).collect::<Vec<_>>())
        .push("::bigint[], ")
        .push_bind(items.iter().map(|(_, i)| i.seller_id).collect::<Vec<_>>())
        .push("::bigint[], ")
        .push_bind(items.iter().map(|(_, i)| i.warehouse_id).collect::<Vec<_>>())
        .push("::bigint[], ")
        .push_bind(items.iter().map(|(_, i)| i.quantity).collect::<Vec<_>>())
        .push("::int[], ")
        .push_bind(item(|i| i.unit_price))
        .push("::numeric[], ")
        .push_bind(item(|i| i.discount))
        .push("::numeric[], ")
        .push_bind(item(|i| i.total))
        .push(
            "::numeric[]) WITH ORDINALITY
                   AS l (saga_id, product_id, variant_id, seller_id, warehouse_id, quantity, unit_price, discount,
                         total, n)
              JOIN created ON created.saga_id = l.saga_id
             ORDER BY l.n
         ), history AS (
            INSERT INTO order_status_history (order_id, from_status, to_status, reason, actor)
            SELECT order_id, NULL, 'PENDING', ",
        )
        .push_bind(reason)
        .push(", user_id::text FROM created\n         )");
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

/// Confirms paid orders (PENDING → CONFIRMED, payment CAPTURED, lines CONFIRMED) with their
/// history, in three statements however many orders. The caller has checked each transition
/// against the state machine and holds the orders' sagas locked. The status test is written
/// `IS NOT DISTINCT FROM` (the same test on a NOT NULL column) because no index can answer it:
/// the orders are found by id, never by reading every pending order through the status index.
pub async fn confirm_paid(
    conn: &mut PgConnection,
    orders: &[OrderId],
    reason: &str,
) -> Result<(), ApiError> {
    transition(
        OrderStatus::Pending,
        OrderStatus::Confirmed,
        &TransitionContext {
            delivered_at: None,
            now: Utc::now(),
        },
    )?;
    let ids: Vec<i64> = orders.iter().map(|o| o.get()).collect();
    sqlx::query(
        "WITH confirmed AS (
            UPDATE orders SET status = 'CONFIRMED', payment_status = 'CAPTURED', updated_at = now()
             WHERE order_id = ANY($1) AND status IS NOT DISTINCT FROM 'PENDING'
            RETURNING order_id
         )
         INSERT INTO order_status_history (order_id, from_status, to_status, reason, actor)
         SELECT order_id, 'PENDING', 'CONFIRMED', $2, $3 FROM confirmed",
    )
    .bind(&ids)
    .bind(reason)
    .bind(Actor::System.label())
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE order_items SET status = 'CONFIRMED' WHERE order_id = ANY($1)")
        .bind(&ids)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// The lines of orders as ORDER_CREATED carries them, in line order, each with its order.
pub async fn created_items(
    conn: &mut PgConnection,
    orders: &[OrderId],
) -> Result<Vec<(OrderId, OrderCreatedItem)>, ApiError> {
    let ids: Vec<i64> = orders.iter().map(|o| o.get()).collect();
    #[derive(sqlx::FromRow)]
    struct Row {
        order_id: i64,
        product_id: i64,
        variant_id: Option<i64>,
        seller_id: i64,
        quantity: i32,
        unit_price: Decimal,
        total_price: Decimal,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT order_id, product_id, variant_id, seller_id, quantity, unit_price, total_price
           FROM order_items WHERE order_id = ANY($1) ORDER BY order_item_id",
    )
    .bind(&ids)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                OrderId::new(r.order_id),
                OrderCreatedItem {
                    product_id: ProductId::new(r.product_id),
                    variant_id: r.variant_id.map(VariantId::new),
                    seller_id: SellerId::new(r.seller_id),
                    quantity: r.quantity.max(0) as u32,
                    unit_price: r.unit_price,
                    total_price: r.total_price,
                },
            )
        })
        .collect())
}
