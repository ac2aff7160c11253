//! SQL for reservations: the durable record every hold must have before a buyer hears
//! "reserved", written many at a time, and the release/confirm/expiry transitions.
//!
//! Stock rows are always locked in `inventory_id` order, so concurrent batches from several
//! processes cannot deadlock. The database's `inventory_reserved_within_total` check is the
//! last word on overselling: whatever a cache believed, a reservation beyond the stock fails.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use shared_model::ids::{
    CheckoutId, InventoryId, OrderId, ProductId, ReservationId, SagaId, VariantId,
};
use sqlx::{Connection, PgConnection, PgPool};

use super::low_stock;

/// One saga's reservation as it is made durable.
#[derive(Debug, Clone)]
pub struct DurableReservation {
    pub saga: SagaId,
    pub checkout: CheckoutId,
    pub cart_id: Option<String>,
    pub expires_at: DateTime<Utc>,
    pub rows: Vec<(InventoryId, u32)>,
}

/// Whether a durable write took, or the database refused it as beyond the stock.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WriteOutcome {
    /// Durable, with the id of the saga's reservation row on each stock row.
    Written(Vec<(InventoryId, ReservationId)>),
    BeyondStock,
}

/// The batch's reservation rows and their units counted on their stock rows, as the CTE
/// `updated` (the stock rows changed) for the statements below to finish.
macro_rules! write_and_count {
    () => {
        "
    WITH input AS (
        SELECT * FROM UNNEST($1::uuid[], $2::uuid[], $3::text[], $4::timestamptz[], $5::bigint[], $6::int[])
                 AS t(saga_id, checkout_id, cart_id, expires_at, inventory_id, quantity)
    ), inserted AS (
        -- No ON CONFLICT: its speculative insertion probes the unique index a second time per
        -- row. A saga written twice fails the batch instead, and is then written alone.
        INSERT INTO inventory_reservations (saga_id, checkout_id, cart_id, expires_at, inventory_id, quantity)
        SELECT saga_id, checkout_id, cart_id, expires_at, inventory_id, quantity FROM input
        RETURNING reservation_id, saga_id, inventory_id, quantity
    ), totals AS (
        SELECT inventory_id, sum(quantity)::int AS quantity,
               array_agg(saga_id) AS sagas, array_agg(reservation_id) AS reservations
          FROM inserted GROUP BY inventory_id
    ), updated AS (
        UPDATE inventory i
           SET quantity_reserved = i.quantity_reserved + t.quantity, version = i.version + 1, updated_at = now()
          FROM totals t
         WHERE i.inventory_id = t.inventory_id
        RETURNING i.inventory_id, i.product_id, i.variant_id, i.warehouse_id, i.quantity_available,
                  i.low_stock_threshold, t.quantity AS taken, t.sagas, t.reservations
    )"
    };
}

/// The write, in the caller's transaction (which announces any low stock it reached).
const INSERT_AND_COUNT: &str = concat!(write_and_count!(), " SELECT * FROM updated");

/// The write as a statement of its own, committed as it ends. It cannot announce low stock, so
/// a write that reaches a row's threshold (as [`low_stock::Touched::crossed`] tells it) refuses
/// itself with [`LOW_STOCK_ANNOUNCED`] and leaves nothing behind.
const INSERT_AND_COUNT_UNLESS_LOW: &str = concat!(
    write_and_count!(),
    " SELECT u.*,
             CASE WHEN u.quantity_available <= u.low_stock_threshold
                   AND u.quantity_available + u.taken > u.low_stock_threshold
                  THEN inventory_refuse_unannounced_low_stock(u.inventory_id) END AS refused
        FROM updated u"
);

/// A stock row the batch changed, with the reservation rows written on it (by saga).
#[derive(sqlx::FromRow)]
struct WrittenRow {
    #[sqlx(flatten)]
    touched: low_stock::Touched,
    sagas: Vec<uuid::Uuid>,
    reservations: Vec<i64>,
}

/// The reservation rows a batch wrote, by saga: (stock row, reservation id).
type WrittenIds = HashMap<SagaId, Vec<(InventoryId, ReservationId)>>;

/// Locks stock rows for an update of their counts. NO KEY UPDATE, not UPDATE: reservation rows
/// referencing a locked stock row can still be inserted meanwhile (the foreign key only takes
/// KEY SHARE), so a sale being confirmed does not hold up new reservations' inserts.
async fn lock_rows(conn: &mut PgConnection, rows: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query(
        "SELECT 1 FROM inventory WHERE inventory_id = ANY($1) ORDER BY inventory_id FOR NO KEY UPDATE",
    )
    .bind(rows)
    .execute(&mut *conn)
    .await
    .map(|_| ())
}

/// The batch as the statements' parameters: one entry per (saga, stock row).
struct Columns {
    sagas: Vec<uuid::Uuid>,
    checkouts: Vec<uuid::Uuid>,
    carts: Vec<Option<String>>,
    expiries: Vec<DateTime<Utc>>,
    rows: Vec<i64>,
    quantities: Vec<i32>,
}

impl Columns {
    fn of(batch: &[&DurableReservation]) -> Self {
        let mut columns = Columns {
            sagas: Vec::new(),
            checkouts: Vec::new(),
            carts: Vec::new(),
            expiries: Vec::new(),
            rows: Vec::new(),
            quantities: Vec::new(),
        };
        for reservation in batch {
            for (row, quantity) in &reservation.rows {
                columns.sagas.push(reservation.saga.0);
                columns.checkouts.push(reservation.checkout.0);
                columns.carts.push(reservation.cart_id.clone());
                columns.expiries.push(reservation.expires_at);
                columns.rows.push(row.get());
                columns.quantities.push(*quantity as i32);
            }
        }
        columns
    }

    /// The stock rows written, each once, in id order.
    fn stock_rows(&self) -> Vec<i64> {
        let mut distinct = self.rows.clone();
        distinct.sort_unstable();
        distinct.dedup();
        distinct
    }

    async fn write(
        &self,
        conn: &mut PgConnection,
        sql: &str,
    ) -> Result<Vec<WrittenRow>, sqlx::Error> {
        sqlx::query_as(sql)
            .bind(&self.sagas)
            .bind(&self.checkouts)
            .bind(&self.carts)
            .bind(&self.expiries)
            .bind(&self.rows)
            .bind(&self.quantities)
            .fetch_all(conn)
            .await
    }

    /// Writes the batch in the caller's transaction, announcing any low stock it reaches.
    async fn insert(&self, conn: &mut PgConnection) -> Result<WrittenIds, sqlx::Error> {
        let stock_rows = self.stock_rows();
        // Rows are locked in id order so two batches can never deadlock. A batch of one row (a
        // hot SKU's) needs no ordering: its update takes the lock, saving a round trip a batch.
        if stock_rows.len() > 1 {
            lock_rows(conn, &stock_rows).await?;
        }
        let written = self.write(conn, INSERT_AND_COUNT).await?;
        let ids = ids_of(&written);
        let touched: Vec<low_stock::Touched> = written.into_iter().map(|w| w.touched).collect();
        low_stock::announce(conn, &touched).await?;
        Ok(ids)
    }

    /// Whether every reservation takes from one stock row.
    fn on_one_stock_row(&self) -> bool {
        self.rows.iter().all(|row| Some(row) == self.rows.first())
    }
}

/// The reservation ids the stock rows' update returned, by saga. The ids let checkout describe
/// the reservation without reading it back.
fn ids_of(written: &[WrittenRow]) -> WrittenIds {
    let mut ids = WrittenIds::new();
    for row in written {
        let stock_row = InventoryId::new(row.touched.inventory_id);
        for (saga, reservation) in row.sagas.iter().zip(&row.reservations) {
            ids.entry(SagaId(*saga))
                .or_default()
                .push((stock_row, ReservationId::new(*reservation)));
        }
    }
    ids
}

/// Writes `batch` in the caller's transaction, announcing any low stock it reaches.
async fn insert(
    conn: &mut PgConnection,
    batch: &[&DurableReservation],
) -> Result<WrittenIds, sqlx::Error> {
    Columns::of(batch).insert(conn).await
}

/// Writes and commits `batch` in one round trip where it can (every reservation on one stock
/// row, and the row stays above its low-stock threshold), else in a transaction of its own.
async fn insert_and_commit(
    conn: &mut PgConnection,
    batch: &[&DurableReservation],
) -> Result<WrittenIds, sqlx::Error> {
    let columns = Columns::of(batch);
    if columns.on_one_stock_row() {
        match columns.write(conn, INSERT_AND_COUNT_UNLESS_LOW).await {
            Ok(written) => return Ok(ids_of(&written)),
            Err(err) if refused_by(&err, LOW_STOCK_ANNOUNCED) => {}
            Err(err) => return Err(err),
        }
    }
    let mut tx = conn.begin().await?;
    // A refused write is rolled back as `tx` drops, before the connection is used again.
    let ids = columns.insert(&mut tx).await?;
    tx.commit().await?;
    Ok(ids)
}

fn refused_by(err: &sqlx::Error, constraint: &str) -> bool {
    err.as_database_error()
        .and_then(|e| e.constraint())
        .is_some_and(|c| c == constraint)
}

const WITHIN_TOTAL: &str = "inventory_reserved_within_total";
const ONCE_PER_SAGA: &str = "inventory_reservations_saga_inventory_key";
const KNOWN_STOCK_ROW: &str = "inventory_reservations_stock_row";
const LOW_STOCK_ANNOUNCED: &str = "inventory_low_stock_announced";

fn beyond_stock(err: &sqlx::Error) -> bool {
    refused_by(err, WITHIN_TOTAL)
}

/// Makes a batch durable in one transaction (one commit, one update per hot row), on a
/// connection outside any transaction: a batch on one stock row commits with its statement. If
/// the database refuses the batch for what one reservation holds (beyond the stock, written
/// before, an unknown stock row), each is written alone, so only that one is refused.
pub async fn write_batch(
    conn: &mut PgConnection,
    batch: &[&DurableReservation],
) -> Result<Vec<Result<WriteOutcome, sqlx::Error>>, sqlx::Error> {
    match insert_and_commit(conn, batch).await {
        Ok(mut ids) => Ok(batch
            .iter()
            .map(|r| {
                Ok(WriteOutcome::Written(
                    ids.remove(&r.saga).unwrap_or_default(),
                ))
            })
            .collect()),
        Err(err)
            if [WITHIN_TOTAL, ONCE_PER_SAGA, KNOWN_STOCK_ROW]
                .iter()
                .any(|c| refused_by(&err, c)) =>
        {
            let mut outcomes = Vec::with_capacity(batch.len());
            for reservation in batch {
                outcomes.push(write_alone(conn, reservation).await);
            }
            Ok(outcomes)
        }
        Err(err) => Err(err),
    }
}

async fn write_alone(
    conn: &mut PgConnection,
    reservation: &DurableReservation,
) -> Result<WriteOutcome, sqlx::Error> {
    let mut tx = conn.begin().await?;
    match insert(&mut tx, &[reservation]).await {
        Ok(mut ids) => {
            tx.commit().await?;
            Ok(WriteOutcome::Written(
                ids.remove(&reservation.saga).unwrap_or_default(),
            ))
        }
        Err(err) if beyond_stock(&err) => Ok(WriteOutcome::BeyondStock),
        // A saga's rows are written all together or not at all, so finding one means an
        // earlier write of this saga committed: it is durable already.
        Err(err) if refused_by(&err, ONCE_PER_SAGA) => {
            tx.rollback().await?;
            Ok(WriteOutcome::Written(
                written_ids(conn, reservation.saga).await?,
            ))
        }
        Err(err) => Err(err),
    }
}

/// The reservation rows a saga holds, by stock row.
async fn written_ids(
    conn: &mut PgConnection,
    saga: SagaId,
) -> Result<Vec<(InventoryId, ReservationId)>, sqlx::Error> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT inventory_id, reservation_id FROM inventory_reservations WHERE saga_id = $1",
    )
    .bind(saga.0)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(row, id)| (InventoryId::new(row), ReservationId::new(id)))
        .collect())
}

/// A stock row that may supply a line, with what PostgreSQL says is free.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct CandidateRow {
    pub inventory_id: i64,
    pub product_id: i64,
    pub variant_id: Option<i64>,
    pub warehouse_id: i64,
    pub quantity_available: i32,
    /// 0 same state, 1 same country, 2 elsewhere: lower ships sooner.
    pub distance_rank: i32,
}

/// The stock rows of these (product, variant) pairs in active warehouses, nearest to the
/// shipping address first (same state, then same country, then any), ties by warehouse id.
pub async fn candidates(
    db: &PgPool,
    items: &[(ProductId, Option<VariantId>)],
    country: &str,
    state: &str,
) -> Result<Vec<CandidateRow>, sqlx::Error> {
    let products: Vec<i64> = items.iter().map(|(p, _)| p.get()).collect();
    let variants: Vec<Option<i64>> = items.iter().map(|(_, v)| v.map(VariantId::get)).collect();
    sqlx::query_as(
        "SELECT i.inventory_id, i.product_id, i.variant_id, i.warehouse_id, i.quantity_available,
                CASE WHEN w.country = $3 AND w.state = $4 THEN 0 WHEN w.country = $3 THEN 1 ELSE 2 END AS distance_rank
           FROM UNNEST($1::bigint[], $2::bigint[]) AS wanted(product_id, variant_id)
           JOIN inventory i ON i.product_id = wanted.product_id
                           AND i.variant_id IS NOT DISTINCT FROM wanted.variant_id
           JOIN warehouses w ON w.warehouse_id = i.warehouse_id AND w.is_active
          ORDER BY distance_rank, i.warehouse_id",
    )
    .bind(&products)
    .bind(&variants)
    .bind(country)
    .bind(state)
    .fetch_all(db)
    .await
}

/// What PostgreSQL says is free on these rows.
pub async fn available(
    db: &PgPool,
    rows: &[InventoryId],
) -> Result<Vec<(InventoryId, i32)>, sqlx::Error> {
    let ids: Vec<i64> = rows.iter().map(|r| r.get()).collect();
    let found: Vec<(i64, i32)> = sqlx::query_as(
        "SELECT inventory_id, quantity_available FROM inventory WHERE inventory_id = ANY($1)",
    )
    .bind(&ids)
    .fetch_all(db)
    .await?;
    Ok(found
        .into_iter()
        .map(|(id, units)| (InventoryId::new(id), units))
        .collect())
}

/// Reserves with row locks alone, for when Redis cannot be reached: slower, never wrong.
/// Each line takes from its candidates in order; all or nothing. Answers the allocation, or
/// `Err(short lines with the units that were free)`.
pub async fn reserve_with_row_locks(
    db: &PgPool,
    reservation: &DurableReservation,
    lines: &[(u32, Vec<InventoryId>)],
) -> Result<Result<Vec<(InventoryId, u32)>, Vec<(usize, u32)>>, sqlx::Error> {
    let mut tx = db.begin().await?;
    // A retry of a saga that already holds stock answers what it holds.
    let existing: Vec<(i64, i32)> = sqlx::query_as(
        "SELECT inventory_id, quantity FROM inventory_reservations WHERE saga_id = $1 AND status = 'PENDING'",
    )
    .bind(reservation.saga.0)
    .fetch_all(&mut *tx)
    .await?;
    if !existing.is_empty() {
        tx.commit().await?;
        return Ok(Ok(existing
            .into_iter()
            .map(|(id, q)| (InventoryId::new(id), q.max(0) as u32))
            .collect()));
    }
    let mut rows: Vec<i64> = lines
        .iter()
        .flat_map(|(_, c)| c.iter().map(|r| r.get()))
        .collect();
    rows.sort_unstable();
    rows.dedup();
    let free: Vec<(i64, i32)> = sqlx::query_as(
        "SELECT inventory_id, quantity_available FROM inventory WHERE inventory_id = ANY($1)
          ORDER BY inventory_id FOR UPDATE",
    )
    .bind(&rows)
    .fetch_all(&mut *tx)
    .await?;
    let mut free: std::collections::HashMap<i64, i32> = free.into_iter().collect();
    let mut allocation = Vec::new();
    let mut short = Vec::new();
    for (index, (wanted, candidates)) in lines.iter().enumerate() {
        let total: i64 = candidates
            .iter()
            .map(|r| i64::from(free.get(&r.get()).copied().unwrap_or(0).max(0)))
            .sum();
        if total < i64::from(*wanted) {
            short.push((index, total as u32));
            continue;
        }
        let mut left = *wanted as i32;
        for row in candidates {
            let units = free.entry(row.get()).or_insert(0);
            let take = (*units).min(left).max(0);
            if take > 0 {
                *units -= take;
                left -= take;
                allocation.push((*row, take as u32));
            }
        }
    }
    if !short.is_empty() {
        tx.rollback().await?;
        return Ok(Err(short));
    }
    let durable = DurableReservation {
        rows: allocation.clone(),
        ..reservation.clone()
    };
    // Rows are locked already; the insert's own lock is a no-op re-lock in the same order.
    insert(&mut tx, &[&durable]).await?;
    tx.commit().await?;
    Ok(Ok(allocation))
}

/// Ends a saga's pending reservations (released or expired) and gives their units back.
/// Answers the rows that were released; none when there was nothing pending (idempotent).
pub async fn release(
    conn: &mut PgConnection,
    saga: SagaId,
    status: &str,
) -> Result<Vec<(InventoryId, i32)>, sqlx::Error> {
    end_pending(conn, saga, status, None).await
}

/// Turns a saga's pending reservations into a sale: the units leave the stock (total and
/// reserved both drop) and the reservations point at the order. Idempotent.
pub async fn confirm(
    conn: &mut PgConnection,
    saga: SagaId,
    order: OrderId,
) -> Result<Vec<(InventoryId, i32)>, sqlx::Error> {
    end_pending(conn, saga, "CONFIRMED", Some(order)).await
}

/// Moves a saga's PENDING reservations to `status` and takes their units off `reserved`; a
/// sale (`order` given) takes them off `total` too. Rows are locked in id order first.
async fn end_pending(
    conn: &mut PgConnection,
    saga: SagaId,
    status: &str,
    order: Option<OrderId>,
) -> Result<Vec<(InventoryId, i32)>, sqlx::Error> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT inventory_id FROM inventory_reservations WHERE saga_id = $1 AND status = 'PENDING'",
    )
    .bind(saga.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut ids: Vec<i64> = rows.into_iter().map(|(id,)| id).collect();
    ids.sort_unstable();
    lock_rows(conn, &ids).await?;
    let ended: Vec<(i64, i32)> = sqlx::query_as(
        "WITH ended AS (
            UPDATE inventory_reservations SET status = $2, order_id = COALESCE($3, order_id), updated_at = now()
             WHERE saga_id = $1 AND status = 'PENDING'
            RETURNING inventory_id, quantity
         ), totals AS (SELECT inventory_id, sum(quantity)::int AS quantity FROM ended GROUP BY inventory_id),
         updated AS (
            UPDATE inventory i
               SET quantity_total = i.quantity_total - CASE WHEN $3 IS NULL THEN 0 ELSE t.quantity END,
                   quantity_reserved = i.quantity_reserved - t.quantity,
                   version = i.version + 1, updated_at = now()
              FROM totals t WHERE i.inventory_id = t.inventory_id
            RETURNING i.inventory_id
         )
         SELECT inventory_id, quantity FROM totals",
    )
    .bind(saga.0)
    .bind(status)
    .bind(order.map(OrderId::get))
    .fetch_all(&mut *conn)
    .await?;
    Ok(ended
        .into_iter()
        .map(|(id, q)| (InventoryId::new(id), q))
        .collect())
}

/// Puts a saga's sold units back on the shelf (an order cancelled after payment): its
/// CONFIRMED reservations become RELEASED and their units return to the total. Answers the
/// stock rows touched (their Redis counters need resyncing). Idempotent.
pub async fn restock_sold(
    conn: &mut PgConnection,
    saga: SagaId,
) -> Result<Vec<InventoryId>, sqlx::Error> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "SELECT inventory_id FROM inventory_reservations WHERE saga_id = $1 AND status = 'CONFIRMED'",
    )
    .bind(saga.0)
    .fetch_all(&mut *conn)
    .await?;
    let mut ids: Vec<i64> = rows.into_iter().map(|(id,)| id).collect();
    ids.sort_unstable();
    lock_rows(conn, &ids).await?;
    let restocked: Vec<(i64,)> = sqlx::query_as(
        "WITH returned AS (
            UPDATE inventory_reservations SET status = 'RELEASED', updated_at = now()
             WHERE saga_id = $1 AND status = 'CONFIRMED'
            RETURNING inventory_id, quantity
         ), totals AS (SELECT inventory_id, sum(quantity)::int AS quantity FROM returned GROUP BY inventory_id)
         UPDATE inventory i SET quantity_total = i.quantity_total + t.quantity, version = i.version + 1, updated_at = now()
           FROM totals t WHERE i.inventory_id = t.inventory_id
         RETURNING i.inventory_id",
    )
    .bind(saga.0)
    .fetch_all(&mut *conn)
    .await?;
    Ok(restocked
        .into_iter()
        .map(|(id,)| InventoryId::new(id))
        .collect())
}

/// The state of each saga's reservations: (any pending, any confirmed).
pub async fn saga_states(
    db: &PgPool,
    sagas: &[SagaId],
) -> Result<Vec<(SagaId, bool, bool)>, sqlx::Error> {
    let ids: Vec<uuid::Uuid> = sagas.iter().map(|s| s.0).collect();
    let rows: Vec<(uuid::Uuid, bool, bool)> = sqlx::query_as(
        "SELECT saga_id, bool_or(status = 'PENDING'), bool_or(status = 'CONFIRMED')
           FROM inventory_reservations WHERE saga_id = ANY($1) GROUP BY saga_id",
    )
    .bind(&ids)
    .fetch_all(db)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(s, p, c)| (SagaId(s), p, c))
        .collect())
}

/// Where each reserved unit of a saga comes from, for the order's lines.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ReservedRow {
    pub reservation_id: i64,
    pub inventory_id: i64,
    pub product_id: i64,
    pub variant_id: Option<i64>,
    pub warehouse_id: i64,
    pub quantity: i32,
    pub status: String,
}

pub async fn reserved_rows(
    conn: &mut PgConnection,
    saga: SagaId,
) -> Result<Vec<ReservedRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT r.reservation_id, r.inventory_id, i.product_id, i.variant_id, i.warehouse_id, r.quantity, r.status
           FROM inventory_reservations r JOIN inventory i ON i.inventory_id = r.inventory_id
          WHERE r.saga_id = $1 ORDER BY r.reservation_id",
    )
    .bind(saga.0)
    .fetch_all(conn)
    .await
}

/// [`reserved_rows`] of many sagas at once, each row with its saga, in reservation order per
/// saga (ordered by saga first: by reservation id alone, a plan would walk the whole primary key
/// to skip a sort).
pub async fn reserved_rows_of(
    conn: &mut PgConnection,
    sagas: &[SagaId],
) -> Result<Vec<(SagaId, ReservedRow)>, sqlx::Error> {
    #[derive(sqlx::FromRow)]
    struct Row {
        saga_id: uuid::Uuid,
        #[sqlx(flatten)]
        row: ReservedRow,
    }
    let ids: Vec<uuid::Uuid> = sagas.iter().map(|s| s.0).collect();
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT r.saga_id, r.reservation_id, r.inventory_id, i.product_id, i.variant_id, i.warehouse_id,
                r.quantity, r.status
           FROM inventory_reservations r JOIN inventory i ON i.inventory_id = r.inventory_id
          WHERE r.saga_id = ANY($1) ORDER BY r.saga_id, r.reservation_id",
    )
    .bind(&ids)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| (SagaId(r.saga_id), r.row))
        .collect())
}

/// [`confirm`] for many sagas in one statement: every pending reservation of each saga is sold
/// to its order, and each stock row is updated once for all of them. Stock rows are locked in
/// id order first (several of them) or by the update itself (one). Answers, per saga, how many
/// reservations it sold. The reservations are found by saga; their status is tested with
/// `IS NOT DISTINCT FROM`, which the partial index of pending reservations cannot answer (a
/// plan through it would read every pending reservation of the shop).
pub async fn confirm_many(
    conn: &mut PgConnection,
    sales: &[(SagaId, OrderId)],
    stock_rows: &[i64],
) -> Result<Vec<(SagaId, i64)>, sqlx::Error> {
    let mut rows = stock_rows.to_vec();
    rows.sort_unstable();
    rows.dedup();
    if rows.len() > 1 {
        lock_rows(conn, &rows).await?;
    }
    let sold: Vec<(uuid::Uuid, i64)> = sqlx::query_as(
        "WITH sold AS (
            UPDATE inventory_reservations r
               SET status = 'CONFIRMED', order_id = u.order_id, updated_at = now()
              FROM UNNEST($1::uuid[], $2::bigint[]) AS u (saga_id, order_id)
             WHERE r.saga_id = u.saga_id AND r.status IS NOT DISTINCT FROM 'PENDING'
            RETURNING r.saga_id, r.inventory_id, r.quantity
         ), totals AS (SELECT inventory_id, sum(quantity)::int AS quantity FROM sold GROUP BY inventory_id),
         updated AS (
            UPDATE inventory i
               SET quantity_total = i.quantity_total - t.quantity,
                   quantity_reserved = i.quantity_reserved - t.quantity,
                   version = i.version + 1, updated_at = now()
              FROM totals t WHERE i.inventory_id = t.inventory_id
            RETURNING i.inventory_id
         )
         SELECT saga_id, count(*) FROM sold GROUP BY saga_id",
    )
    .bind(sales.iter().map(|(s, _)| s.0).collect::<Vec<_>>())
    .bind(sales.iter().map(|(_, o)| o.get()).collect::<Vec<_>>())
    .fetch_all(&mut *conn)
    .await?;
    Ok(sold.into_iter().map(|(s, n)| (SagaId(s), n)).collect())
}
