//! Reading orders: a buyer's list and detail, a seller's lines.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use shared_model::Currency;
use shared_model::api::orders::{
    OrderDetail, OrderItemView, OrderList, OrderSummary, PaymentView, SellerOrderLine,
    SellerOrderList, StatusChange,
};
use shared_model::ids::{OrderId, PaymentId, ProductId, SellerId, UserId, VariantId, WarehouseId};
use shared_model::money::with_minor_units;
use shared_model::order::OrderNumber;
use sqlx::PgPool;

use super::cursor;
use crate::error::{ApiError, ApiResult};

#[derive(sqlx::FromRow)]
struct SummaryRow {
    order_id: i64,
    order_number: String,
    status: String,
    payment_status: String,
    total_amount: Decimal,
    currency: String,
    item_count: i64,
    created_at: DateTime<Utc>,
}

/// The buyer's orders, newest first, after `after` when given.
pub async fn list(
    db: &PgPool,
    user: UserId,
    after: Option<cursor::Position>,
    limit: i64,
) -> ApiResult<OrderList> {
    let rows: Vec<SummaryRow> = sqlx::query_as(
        "SELECT o.order_id, o.order_number, o.status, o.payment_status, o.total_amount, o.currency,
                (SELECT COALESCE(sum(quantity), 0)::bigint FROM order_items i WHERE i.order_id = o.order_id) AS item_count,
                o.created_at
           FROM orders o
          WHERE o.user_id = $1 AND ($2::timestamptz IS NULL OR (o.created_at, o.order_id) < ($2, $3))
          ORDER BY o.created_at DESC, o.order_id DESC LIMIT $4",
    )
    .bind(user.get())
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<SummaryRow> = rows.into_iter().take(limit as usize).collect();
    let next_cursor = more
        .then(|| {
            rows.last()
                .map(|r| cursor::encode(r.created_at, r.order_id))
        })
        .flatten();
    let orders = rows
        .into_iter()
        .map(|r| {
            let currency: Currency = r.currency.parse()?;
            Ok(OrderSummary {
                order_id: OrderId::new(r.order_id),
                order_number: OrderNumber::parse(&r.order_number)?,
                status: r.status.parse()?,
                payment_status: r.payment_status.parse()?,
                total: with_minor_units(r.total_amount, currency),
                currency,
                item_count: r.item_count,
                created_at: r.created_at,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(OrderList {
        orders,
        next_cursor,
    })
}

#[derive(sqlx::FromRow)]
struct ItemRow {
    order_id: i64,
    product_id: i64,
    variant_id: Option<i64>,
    seller_id: i64,
    warehouse_id: Option<i64>,
    name: String,
    sku: String,
    quantity: i32,
    unit_price: Decimal,
    discount_amount: Decimal,
    total_price: Decimal,
    status: String,
    currency: String,
}

const ITEM_COLUMNS: &str = "i.order_id, i.product_id, i.variant_id, i.seller_id, i.warehouse_id,
        p.name || COALESCE(' (' || v.name || ')', '') AS name, COALESCE(v.sku, p.sku) AS sku,
        i.quantity, i.unit_price, i.discount_amount, i.total_price, i.status, o.currency";

const ITEM_JOINS: &str = "FROM order_items i JOIN orders o ON o.order_id = i.order_id
        JOIN products p ON p.product_id = i.product_id
        LEFT JOIN product_variants v ON v.variant_id = i.variant_id";

impl ItemRow {
    fn view(self) -> ApiResult<OrderItemView> {
        let currency: Currency = self.currency.parse()?;
        Ok(OrderItemView {
            product_id: ProductId::new(self.product_id),
            variant_id: self.variant_id.map(VariantId::new),
            seller_id: SellerId::new(self.seller_id),
            warehouse_id: self.warehouse_id.map(WarehouseId::new),
            name: self.name,
            sku: self.sku,
            quantity: self.quantity,
            unit_price: with_minor_units(self.unit_price, currency),
            discount: with_minor_units(self.discount_amount, currency),
            total: with_minor_units(self.total_price, currency),
            status: self.status,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PaymentRow {
    payment_id: i64,
    status: String,
    amount: Decimal,
    refunded_amount: Decimal,
    payment_method: String,
    failure_code: Option<String>,
    created_at: DateTime<Utc>,
}

#[derive(sqlx::FromRow)]
struct HistoryRow {
    from_status: Option<String>,
    to_status: String,
    reason: Option<String>,
    created_at: DateTime<Utc>,
}

/// One of the buyer's orders with its lines, payments and history; another buyer's order is
/// "not found".
pub async fn detail(db: &PgPool, user: UserId, order: OrderId) -> ApiResult<OrderDetail> {
    #[derive(sqlx::FromRow)]
    struct OrderRow {
        order_number: String,
        status: String,
        payment_status: String,
        subtotal: Decimal,
        discount_amount: Decimal,
        tax_amount: Decimal,
        shipping_amount: Decimal,
        total_amount: Decimal,
        currency: String,
        shipping_address: serde_json::Value,
        created_at: DateTime<Utc>,
    }
    let row: OrderRow = sqlx::query_as(
        "SELECT order_number, status, payment_status, subtotal, discount_amount, tax_amount, shipping_amount,
                total_amount, currency, shipping_address, created_at
           FROM orders WHERE order_id = $1 AND user_id = $2",
    )
    .bind(order.get())
    .bind(user.get())
    .fetch_optional(db)
    .await?
    .ok_or_else(not_found)?;
    let items: Vec<ItemRow> = sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS} {ITEM_JOINS} WHERE i.order_id = $1 ORDER BY i.order_item_id"
    ))
    .bind(order.get())
    .fetch_all(db)
    .await?;
    let payments: Vec<PaymentRow> = sqlx::query_as(
        "SELECT payment_id, status, amount, refunded_amount, payment_method, failure_code, created_at
           FROM payments WHERE order_id = $1 ORDER BY payment_id",
    )
    .bind(order.get())
    .fetch_all(db)
    .await?;
    let history: Vec<HistoryRow> = sqlx::query_as(
        "SELECT from_status, to_status, reason, created_at FROM order_status_history WHERE order_id = $1 ORDER BY history_id",
    )
    .bind(order.get())
    .fetch_all(db)
    .await?;
    let currency: Currency = row.currency.parse()?;
    let money = |amount| with_minor_units(amount, currency);
    Ok(OrderDetail {
        order_id: order,
        order_number: OrderNumber::parse(&row.order_number)?,
        status: row.status.parse()?,
        payment_status: row.payment_status.parse()?,
        subtotal: money(row.subtotal),
        discount: money(row.discount_amount),
        tax: money(row.tax_amount),
        shipping: money(row.shipping_amount),
        total: money(row.total_amount),
        currency,
        items: items
            .into_iter()
            .map(ItemRow::view)
            .collect::<ApiResult<_>>()?,
        payments: payments
            .into_iter()
            .map(|p| {
                Ok(PaymentView {
                    payment_id: PaymentId::new(p.payment_id),
                    status: p.status.parse()?,
                    amount: money(p.amount),
                    refunded_amount: money(p.refunded_amount),
                    payment_method: p.payment_method,
                    failure_code: p.failure_code,
                    created_at: p.created_at,
                })
            })
            .collect::<ApiResult<_>>()?,
        history: history
            .into_iter()
            .map(|h| {
                Ok(StatusChange {
                    from: h.from_status.map(|f| f.parse()).transpose()?,
                    to: h.to_status.parse()?,
                    reason: h.reason,
                    at: h.created_at,
                })
            })
            .collect::<ApiResult<_>>()?,
        shipping_address: row.shipping_address,
        created_at: row.created_at,
    })
}

/// A seller's lines of paid orders, newest first.
pub async fn seller_lines(
    db: &PgPool,
    seller: SellerId,
    after: Option<cursor::Position>,
    limit: i64,
) -> ApiResult<SellerOrderList> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        item: ItemRow,
        order_item_id: i64,
        order_number: String,
        order_status: String,
        created_at: DateTime<Utc>,
    }
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "SELECT {ITEM_COLUMNS}, i.order_item_id, o.order_number, o.status AS order_status, o.created_at {ITEM_JOINS}
          WHERE i.seller_id = $1 AND o.status NOT IN ('PENDING', 'FAILED')
            AND ($2::timestamptz IS NULL OR (o.created_at, i.order_item_id) < ($2, $3))
          ORDER BY o.created_at DESC, i.order_item_id DESC LIMIT $4"
    ))
    .bind(seller.get())
    .bind(after.map(|a| a.0))
    .bind(after.map(|a| a.1))
    .bind(limit + 1)
    .fetch_all(db)
    .await?;
    let more = rows.len() as i64 > limit;
    let rows: Vec<Row> = rows.into_iter().take(limit as usize).collect();
    let next_cursor = more
        .then(|| {
            rows.last()
                .map(|r| cursor::encode(r.created_at, r.order_item_id))
        })
        .flatten();
    let lines = rows
        .into_iter()
        .map(|r| {
            Ok(SellerOrderLine {
                order_id: OrderId::new(r.item.order_id),
                order_number: OrderNumber::parse(&r.order_number)?,
                order_status: r.order_status.parse()?,
                created_at: r.created_at,
                item: r.item.view()?,
            })
        })
        .collect::<ApiResult<_>>()?;
    Ok(SellerOrderList { lines, next_cursor })
}

pub fn not_found() -> ApiError {
    ApiError::not_found("order_not_found", "no such order")
}
