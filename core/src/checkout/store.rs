//! SQL for checkouts: a checkout is its saga (`saga_state`) and its PENDING-then-decided order,
//! so no table of its own; plus the payment attempts it made.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use shared_model::api::checkout::{CheckoutLine, PaymentAttempt};
use shared_model::ids::{
    CartId, CheckoutId, OrderId, PaymentId, ProductId, SagaId, UserId, VariantId,
};
use shared_model::order::{PaymentStatus, SagaStep, SagaStepStatus};
use sqlx::{PgConnection, QueryBuilder};

use super::saga_log::{self, NewSaga};
use crate::error::ApiError;
use crate::flash_sales::store::ClaimRecord;
use crate::orders::store::{self as orders, NewOrder};
use crate::outbox::{self, Queued};

/// What a checkout needs to know about a product line being bought.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Purchasable {
    pub product_id: i64,
    pub variant_id: Option<i64>,
    pub name: String,
    pub sku: String,
    pub seller_id: i64,
    pub base_price: Decimal,
    pub sale_price: Option<Decimal>,
    pub price_modifier: Decimal,
    pub currency: String,
    pub status: String,
    pub max_quantity_per_order: i32,
    /// The variant asked for exists, belongs to the product and is on sale.
    pub variant_ok: bool,
    /// The product is sold by variant (then a variant must be named).
    pub has_variants: bool,
}

pub async fn purchasables(
    db: impl sqlx::PgExecutor<'_>,
    items: &[(ProductId, Option<VariantId>)],
) -> Result<Vec<Purchasable>, ApiError> {
    let products: Vec<i64> = items.iter().map(|(p, _)| p.get()).collect();
    let variants: Vec<Option<i64>> = items.iter().map(|(_, v)| v.map(VariantId::get)).collect();
    Ok(sqlx::query_as(
        "SELECT p.product_id, w.variant_id,
                p.name || COALESCE(' (' || v.name || ')', '') AS name,
                COALESCE(v.sku, p.sku) AS sku, p.seller_id, p.base_price, p.sale_price,
                COALESCE(v.price_modifier, 0) AS price_modifier, p.currency, p.status,
                p.max_quantity_per_order,
                (w.variant_id IS NULL OR COALESCE(v.is_active, false)) AS variant_ok,
                EXISTS (SELECT 1 FROM product_variants pv WHERE pv.product_id = p.product_id AND pv.is_active) AS has_variants
           FROM UNNEST($1::bigint[], $2::bigint[]) AS w(product_id, variant_id)
           JOIN products p ON p.product_id = w.product_id
           LEFT JOIN product_variants v ON v.variant_id = w.variant_id AND v.product_id = p.product_id",
    )
    .bind(&products)
    .bind(&variants)
    .fetch_all(db)
    .await?)
}

/// A checkout whose stock is reserved, ready to be recorded: its PENDING order with the
/// lines, its saga with RESERVE_INVENTORY done, its first events, and for a flash-sale line
/// the purchase tokens it claimed.
pub struct NewCheckout {
    pub order: NewOrder,
    pub saga: NewSaga,
    pub events: Vec<Queued>,
    pub claim: Option<ClaimRecord>,
}

/// Records `checkouts` in one statement (one round trip, and one commit unless run in a
/// transaction): the orders with their lines and history, the sagas with their step log, and
/// the events, each checkout's in its own order. All or nothing. Answers each saga's order.
/// Their flash-sale claims are not written here (see `recording`).
pub async fn record_new<'c>(
    conn: impl sqlx::PgExecutor<'c>,
    checkouts: &[&NewCheckout],
) -> Result<Vec<(SagaId, OrderId)>, ApiError> {
    let orders: Vec<&NewOrder> = checkouts.iter().map(|c| &c.order).collect();
    let sagas: Vec<&NewSaga> = checkouts.iter().map(|c| &c.saga).collect();
    let events: Vec<&Queued> = checkouts.iter().flat_map(|c| &c.events).collect();
    let mut q = QueryBuilder::new("WITH ");
    orders::push_create(&mut q, &orders, "checkout started");
    q.push(", ");
    saga_log::push_begin_reserved(&mut q, &sagas);
    q.push(", ");
    outbox::push_enqueue(&mut q, &events);
    q.push(" SELECT created.saga_id, created.order_id, ");
    outbox::push_notify(&mut q);
    q.push(" FROM created");
    let created: Vec<(uuid::Uuid, i64, i64)> = q.build_query_as().fetch_all(conn).await?;
    Ok(created
        .into_iter()
        .map(|(saga, order, _notified)| (SagaId(saga), OrderId::new(order)))
        .collect())
}

/// [`record_new`] for one checkout; answers its order.
pub async fn record_one<'c>(
    conn: impl sqlx::PgExecutor<'c>,
    checkout: &NewCheckout,
) -> Result<OrderId, ApiError> {
    let saga = checkout.saga.saga;
    record_new(conn, &[checkout])
        .await?
        .into_iter()
        .find_map(|(s, order)| (s == saga).then_some(order))
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("checkout {saga} was not recorded")))
}

/// A checkout as stored: its saga and its order.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CheckoutRecord {
    pub saga_id: uuid::Uuid,
    pub checkout_id: uuid::Uuid,
    pub user_id: i64,
    pub saga_status: String,
    pub current_step: Option<String>,
    pub completed_steps: sqlx::types::Json<Vec<String>>,
    pub expires_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub order_id: i64,
    pub order_number: String,
    pub order_status: String,
    pub payment_status: String,
    pub subtotal: Decimal,
    pub discount_amount: Decimal,
    pub tax_amount: Decimal,
    pub shipping_amount: Decimal,
    pub total_amount: Decimal,
    pub currency: String,
    pub payload: sqlx::types::Json<serde_json::Value>,
}

impl CheckoutRecord {
    pub fn saga(&self) -> SagaId {
        SagaId(self.saga_id)
    }

    pub fn checkout(&self) -> CheckoutId {
        CheckoutId(self.checkout_id)
    }

    pub fn order(&self) -> OrderId {
        OrderId::new(self.order_id)
    }

    pub fn user(&self) -> UserId {
        UserId::new(self.user_id)
    }

    /// The cart the checkout was started from, as `initiate` recorded it in the saga.
    pub fn cart(&self) -> Option<CartId> {
        self.payload
            .0
            .get("cartId")
            .and_then(|cart| cart.as_str())
            .and_then(|cart| CartId::parse(cart).ok())
    }

    pub fn completed(&self, step: shared_model::order::SagaStep) -> bool {
        self.completed_steps.0.iter().any(|s| s == step.as_str())
    }
}

const RECORD: &str = "SELECT s.saga_id, s.checkout_id, s.user_id, s.status AS saga_status, s.current_step,
        s.completed_steps, s.expires_at, s.updated_at, o.order_id, o.order_number, o.status AS order_status,
        o.payment_status, o.subtotal, o.discount_amount, o.tax_amount, o.shipping_amount, o.total_amount,
        o.currency, s.payload
   FROM saga_state s JOIN orders o ON o.order_id = s.order_id";

/// The checkout, its saga locked for the rest of the caller's transaction when `lock` (one
/// payment at a time per checkout).
pub async fn load(
    conn: &mut PgConnection,
    checkout: CheckoutId,
    lock: bool,
) -> Result<Option<CheckoutRecord>, ApiError> {
    read(conn, "s.checkout_id = $1", checkout.0, lock).await
}

/// The checkout of `saga`, locked as [`load`] does.
pub async fn load_by_saga(
    conn: &mut PgConnection,
    saga: SagaId,
    lock: bool,
) -> Result<Option<CheckoutRecord>, ApiError> {
    read(conn, "s.saga_id = $1", saga.0, lock).await
}

/// Locks first, then reads: a row lock that waited re-reads only the rows it locks, so one
/// locking statement would join the latest saga to the order as it was before the wait. The
/// order is not locked with the saga because some writers (a refund, a declined card) change
/// the order before they touch the saga, and the two would deadlock.
async fn read(
    conn: &mut PgConnection,
    filter: &str,
    id: uuid::Uuid,
    lock: bool,
) -> Result<Option<CheckoutRecord>, ApiError> {
    if lock {
        sqlx::query(&format!(
            "SELECT 1 FROM saga_state s WHERE {filter} FOR UPDATE"
        ))
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?;
    }
    Ok(sqlx::query_as(&format!("{RECORD} WHERE {filter}"))
        .bind(id)
        .fetch_optional(conn)
        .await?)
}

pub async fn lines(conn: &mut PgConnection, order: OrderId) -> Result<Vec<CheckoutLine>, ApiError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        product_id: i64,
        variant_id: Option<i64>,
        name: String,
        sku: String,
        quantity: i32,
        unit_price: Decimal,
        total_price: Decimal,
    }
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT i.product_id, i.variant_id, p.name || COALESCE(' (' || v.name || ')', '') AS name,
                COALESCE(v.sku, p.sku) AS sku, i.quantity, i.unit_price, i.total_price
           FROM order_items i JOIN products p ON p.product_id = i.product_id
           LEFT JOIN product_variants v ON v.variant_id = i.variant_id
          WHERE i.order_id = $1 ORDER BY i.order_item_id",
    )
    .bind(order.get())
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| CheckoutLine {
            product_id: ProductId::new(r.product_id),
            variant_id: r.variant_id.map(VariantId::new),
            name: r.name,
            sku: r.sku,
            quantity: r.quantity.max(0) as u32,
            unit_price: r.unit_price,
            line_total: r.total_price,
        })
        .collect())
}

/// One payment attempt.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaymentRow {
    pub payment_id: i64,
    pub status: String,
    pub idempotency_key: String,
    pub gateway_transaction_id: Option<String>,
    pub failure_code: Option<String>,
    pub failure_reason: Option<String>,
    pub retryable: bool,
    pub amount: Decimal,
    pub currency: String,
    pub created_at: DateTime<Utc>,
}

impl PaymentRow {
    pub fn id(&self) -> PaymentId {
        PaymentId::new(self.payment_id)
    }

    pub fn attempt(&self) -> Result<PaymentAttempt, ApiError> {
        Ok(PaymentAttempt {
            status: self.status.parse()?,
            failure_code: self.failure_code.clone(),
            failure_reason: self.failure_reason.clone(),
            retryable: self.retryable,
        })
    }
}

const PAYMENT: &str =
    "SELECT payment_id, status, idempotency_key, gateway_transaction_id, failure_code,
        failure_reason, retryable, amount, currency, created_at FROM payments";

pub async fn last_payment(
    conn: &mut PgConnection,
    order: OrderId,
) -> Result<Option<PaymentRow>, ApiError> {
    Ok(sqlx::query_as(&format!(
        "{PAYMENT} WHERE order_id = $1 ORDER BY payment_id DESC LIMIT 1"
    ))
    .bind(order.get())
    .fetch_optional(conn)
    .await?)
}

pub async fn payments(
    conn: &mut PgConnection,
    order: OrderId,
) -> Result<Vec<PaymentRow>, ApiError> {
    Ok(sqlx::query_as(&format!(
        "{PAYMENT} WHERE order_id = $1 ORDER BY payment_id"
    ))
    .bind(order.get())
    .fetch_all(conn)
    .await?)
}

/// Opens a payment attempt and marks the saga's PROCESS_PAYMENT step started (with the
/// attempt in its log line), in one statement. Answers the attempt's id.
#[allow(clippy::too_many_arguments)]
pub async fn start_payment(
    conn: &mut PgConnection,
    saga: SagaId,
    order: OrderId,
    amount: Decimal,
    currency: &str,
    method: &str,
    key: &str,
    attempt: usize,
) -> Result<PaymentId, ApiError> {
    let id: i64 = sqlx::query_scalar(
        "WITH payment AS (
            INSERT INTO payments (order_id, amount, currency, payment_method, payment_gateway, idempotency_key, attempt_count)
            VALUES ($1, $2, $3, $4, 'sandbox', $5, 1) RETURNING payment_id
         ), saga AS (
            UPDATE saga_state SET status = 'IN_PROGRESS', current_step = $7, updated_at = now()
             WHERE saga_id = $6
         ), logged AS (
            INSERT INTO saga_step_log (saga_id, step_name, step_status, step_data)
            SELECT $6, $7, $8, jsonb_build_object('paymentId', payment_id, 'attempt', $9::int) FROM payment
         )
         SELECT payment_id FROM payment",
    )
    .bind(order.get())
    .bind(amount)
    .bind(currency)
    .bind(method)
    .bind(key)
    .bind(saga.0)
    .bind(SagaStep::ProcessPayment.as_str())
    .bind(SagaStepStatus::Started.as_str())
    .bind(i32::try_from(attempt).unwrap_or(i32::MAX))
    .fetch_one(conn)
    .await?;
    Ok(PaymentId::new(id))
}

/// The gateway idempotency key of a checkout's `attempt`-th payment attempt (from 1): each
/// attempt is its own charge, and asking again with the same key finds it.
pub fn payment_key(checkout: CheckoutId, attempt: usize) -> String {
    format!("{}{attempt}", payment_key_prefix(checkout))
}

fn payment_key_prefix(checkout: CheckoutId) -> String {
    format!("pay-{checkout}-")
}

/// A payment attempt opened by [`open_first_payments`], with the checkout as it was read.
pub struct OpenedPayment {
    pub record: CheckoutRecord,
    pub payment: PaymentId,
    pub key: String,
}

/// A pay request's first question: may this buyer's checkout be charged now?
#[derive(Debug, Clone)]
pub struct PayRequestFor {
    pub checkout: CheckoutId,
    pub user: UserId,
    pub method: String,
}

/// The common case of pay requests, in one statement for any number of checkouts (one round
/// trip, one commit): where the buyer's checkout is open (saga started or in progress, payment
/// not done, not expired) and no earlier attempt is open, a new attempt is recorded and
/// PROCESS_PAYMENT started, as [`load`], [`payments`] and [`start_payment`] would in a
/// transaction. Answers the attempts opened; a checkout left out is "not the common case":
/// the careful path tells closed, expired, in-flight and unknown-outcome checkouts apart.
///
/// The sagas are locked in id order, as the group commit of paid checkouts locks them. A
/// unique violation (a checkout twice in `requests`, or an attempt of the same checkout
/// racing this one: the saga lock orders the two, but the attempts were counted before the
/// lock was taken, so the keys collide) writes nothing; see [`open_first_payment`].
pub async fn open_first_payments(
    conn: &mut PgConnection,
    requests: &[&PayRequestFor],
) -> Result<Vec<OpenedPayment>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        record: CheckoutRecord,
        payment_id: i64,
        idempotency_key: String,
    }
    // Each checkout is read by its key alone (OFFSET 0 keeps the other tests out of the
    // lookup, where an index on status or buyer would do instead and read every open saga).
    // The sagas are locked in the order of `requests`, which is saga id order.
    let mut requests = requests.to_vec();
    requests.sort_by_key(|r| SagaId::for_checkout(r.checkout));
    let opened: Vec<Row> = sqlx::query_as(&format!(
        "WITH wanted AS (
            SELECT * FROM UNNEST($1::uuid[], $2::bigint[], $3::text[], $4::text[])
                       WITH ORDINALITY AS w (checkout_id, user_id, method, key_prefix, n)
         ), checkout AS (
            SELECT c.* FROM wanted w CROSS JOIN LATERAL (
                {RECORD} WHERE s.checkout_id = w.checkout_id OFFSET 0 FOR UPDATE OF s
            ) c
             WHERE c.user_id = w.user_id AND c.saga_status IN ('STARTED', 'IN_PROGRESS')
               AND NOT c.completed_steps @> jsonb_build_array($5::text) AND c.expires_at > now()
             ORDER BY w.n
         ), attempt AS (
            SELECT c.saga_id, c.order_id, c.total_amount, c.currency, w.method, w.key_prefix,
                   count(p.payment_id) + 1 AS n
              FROM checkout c JOIN wanted w ON w.checkout_id = c.checkout_id
              LEFT JOIN payments p ON p.order_id = c.order_id
             GROUP BY c.saga_id, c.order_id, c.total_amount, c.currency, w.method, w.key_prefix
            HAVING NOT COALESCE(bool_or(p.status IN ('INITIATED', 'PENDING')), false)
         ), payment AS (
            INSERT INTO payments (order_id, amount, currency, payment_method, payment_gateway, idempotency_key, attempt_count)
            SELECT order_id, total_amount, currency, method, 'sandbox', key_prefix || n, 1 FROM attempt
            RETURNING payment_id, order_id, idempotency_key
         ), saga AS (
            UPDATE saga_state SET status = 'IN_PROGRESS', current_step = $5, updated_at = now()
              FROM attempt JOIN payment ON payment.order_id = attempt.order_id
             WHERE saga_state.saga_id = attempt.saga_id
         ), logged AS (
            INSERT INTO saga_step_log (saga_id, step_name, step_status, step_data)
            SELECT attempt.saga_id, $5, $6, jsonb_build_object('paymentId', payment.payment_id, 'attempt', attempt.n::int)
              FROM attempt JOIN payment ON payment.order_id = attempt.order_id
             ORDER BY attempt.saga_id
         )
         SELECT checkout.*, payment.payment_id, payment.idempotency_key
           FROM checkout JOIN payment ON payment.order_id = checkout.order_id"
    ))
    .bind(requests.iter().map(|r| r.checkout.0).collect::<Vec<_>>())
    .bind(requests.iter().map(|r| r.user.get()).collect::<Vec<_>>())
    .bind(requests.iter().map(|r| r.method.as_str()).collect::<Vec<_>>())
    .bind(
        requests
            .iter()
            .map(|r| payment_key_prefix(r.checkout))
            .collect::<Vec<_>>(),
    )
    .bind(SagaStep::ProcessPayment.as_str())
    .bind(SagaStepStatus::Started.as_str())
    .fetch_all(conn)
    .await?;
    Ok(opened
        .into_iter()
        .map(|r| OpenedPayment {
            record: r.record,
            payment: PaymentId::new(r.payment_id),
            key: r.idempotency_key,
        })
        .collect())
}

/// [`open_first_payments`] for one request; `None` also when it lost a race (a unique
/// violation): the careful path sorts that out under the saga's lock.
pub async fn open_first_payment(
    conn: &mut PgConnection,
    request: &PayRequestFor,
) -> Result<Option<OpenedPayment>, ApiError> {
    match open_first_payments(conn, &[request]).await {
        Ok(opened) => Ok(opened.into_iter().next()),
        Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
        Err(e) => Err(e.into()),
    }
}

/// Records what became of a payment attempt.
pub async fn settle_payment(
    conn: &mut PgConnection,
    payment: PaymentId,
    status: PaymentStatus,
    gateway_transaction_id: Option<&str>,
    failure: Option<(&str, &str, bool)>,
) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE payments SET status = $2, gateway_transaction_id = COALESCE($3, gateway_transaction_id),
                failure_code = $4, failure_reason = $5, retryable = COALESCE($6, retryable), updated_at = now()
          WHERE payment_id = $1",
    )
    .bind(payment.get())
    .bind(status.as_str())
    .bind(gateway_transaction_id)
    .bind(failure.map(|f| f.0))
    .bind(failure.map(|f| f.1))
    .bind(failure.map(|f| f.2))
    .execute(conn)
    .await?;
    Ok(())
}

/// A paid checkout as the group commit sees it, with the payment attempt that was captured.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct PaidCheckout {
    pub saga_id: uuid::Uuid,
    pub saga_status: String,
    pub completed_steps: sqlx::types::Json<Vec<String>>,
    pub order_id: i64,
    pub order_number: String,
    pub order_status: String,
    pub user_id: i64,
    pub total_amount: Decimal,
    pub currency: String,
    pub shipping_address_id: Option<i64>,
    pub payment_id: i64,
    pub payment_status: String,
}

/// Locks the sagas of these (saga, payment) pairs in saga id order (so two batches never wait
/// on each other in a cycle) and reads what deciding their completion needs. A pair whose
/// payment is not that saga's order's is left out. The orders and payments are locked too
/// (the batch updates them anyway): a lock that had to wait re-reads the latest version of
/// the rows it locks, and only of those.
pub async fn lock_paid(
    conn: &mut PgConnection,
    paid: &[(SagaId, PaymentId)],
) -> Result<Vec<PaidCheckout>, ApiError> {
    Ok(sqlx::query_as(
        "SELECT s.saga_id, s.status AS saga_status, s.completed_steps, o.order_id, o.order_number,
                o.status AS order_status, o.user_id, o.total_amount, o.currency, o.shipping_address_id,
                p.payment_id, p.status AS payment_status
           FROM UNNEST($1::uuid[], $2::bigint[]) AS u (saga_id, payment_id)
           JOIN saga_state s ON s.saga_id = u.saga_id
           JOIN orders o ON o.order_id = s.order_id
           JOIN payments p ON p.payment_id = u.payment_id AND p.order_id = o.order_id
          ORDER BY s.saga_id
            FOR UPDATE OF s FOR NO KEY UPDATE OF o, p",
    )
    .bind(paid.iter().map(|(s, _)| s.0).collect::<Vec<_>>())
    .bind(paid.iter().map(|(_, p)| p.get()).collect::<Vec<_>>())
    .fetch_all(conn)
    .await?)
}

/// Marks payment attempts CAPTURED with their gateway charge ids, in one statement.
pub async fn capture_payments(
    conn: &mut PgConnection,
    captured: &[(PaymentId, &str)],
) -> Result<(), ApiError> {
    sqlx::query(
        "UPDATE payments p
            SET status = 'CAPTURED', gateway_transaction_id = u.charge_id, failure_code = NULL,
                failure_reason = NULL, updated_at = now()
           FROM UNNEST($1::bigint[], $2::text[]) AS u (payment_id, charge_id)
          WHERE p.payment_id = u.payment_id",
    )
    .bind(captured.iter().map(|(p, _)| p.get()).collect::<Vec<_>>())
    .bind(captured.iter().map(|(_, c)| *c).collect::<Vec<_>>())
    .execute(conn)
    .await?;
    Ok(())
}
