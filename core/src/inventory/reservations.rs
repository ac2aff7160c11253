//! Reserving stock for a checkout: Redis decides fast and atomically, PostgreSQL records it
//! durably before anyone hears "reserved", and PostgreSQL alone decides while Redis is down.
//!
//! Invariants: reserved never exceeds total (the database enforces it); a reservation is
//! all-or-nothing over a checkout's lines; a buyer is told "short" only when the units are not
//! there (a counter that drifted is corrected from PostgreSQL and the reservation retried).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use shared_model::ids::{
    CheckoutId, InventoryId, OrderId, ProductId, ReservationId, SagaId, VariantId, WarehouseId,
};
use sqlx::{PgConnection, PgPool};

use super::candidate_cache::CandidateCache;
use super::counters::{self, CounterReservation, LineDemand, StockKeys};
use super::durable_writer::DurableWriter;
use super::reservation_store::{self, DurableReservation, WriteOutcome};
use crate::error::ApiError;
use crate::kv::Redis;

/// How often a reservation is retried after PostgreSQL refused what a drifted counter allowed.
const RESYNC_ATTEMPTS: usize = 3;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineRequest {
    pub product: ProductId,
    pub variant: Option<VariantId>,
    pub quantity: u32,
}

/// Where the goods go, to pick the nearest warehouse.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShipTo {
    pub country: String,
    pub state: String,
}

#[derive(Debug, Clone)]
pub struct ReserveRequest {
    pub saga: SagaId,
    pub checkout: CheckoutId,
    pub cart_id: Option<String>,
    pub lines: Vec<LineRequest>,
    pub ship_to: ShipTo,
    pub expires_at: DateTime<Utc>,
}

/// Units of one line taken from one stock row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Allocation {
    pub line: usize,
    pub inventory_id: InventoryId,
    pub warehouse_id: WarehouseId,
    pub quantity: u32,
    /// The durable reservation row, when the write that made it durable reported it.
    pub reservation_id: Option<ReservationId>,
}

/// Units taken from a stock row, and the reservation row recording them when known.
type Taken = (InventoryId, u32, Option<ReservationId>);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortLine {
    pub line: usize,
    pub requested: u32,
    pub available: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReserveOutcome {
    Reserved(Vec<Allocation>),
    /// Nothing was reserved.
    Short(Vec<ShortLine>),
}

/// How a reservation ended without a sale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReleaseKind {
    Released,
    Expired,
}

impl ReleaseKind {
    fn status(self) -> &'static str {
        match self {
            ReleaseKind::Released => "RELEASED",
            ReleaseKind::Expired => "EXPIRED",
        }
    }
}

/// Which path took a reservation (for metrics and tests).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Path {
    Redis,
    RowLocks,
}

pub struct Reservations {
    db: PgPool,
    keys: StockKeys,
    writer: DurableWriter,
    candidate_cache: CandidateCache,
}

/// The candidate rows of each line, nearest first, and each row's warehouse.
struct Candidates {
    per_line: Vec<Vec<InventoryId>>,
    warehouse: HashMap<InventoryId, WarehouseId>,
    line_of: HashMap<InventoryId, usize>,
}

impl Reservations {
    /// Needs a tokio runtime: it starts the durable writer task.
    pub fn new(db: PgPool, redis: Redis) -> Self {
        Reservations {
            writer: DurableWriter::spawn(db.clone()),
            keys: StockKeys::new(redis),
            candidate_cache: CandidateCache::default(),
            db,
        }
    }

    pub fn keys(&self) -> &StockKeys {
        &self.keys
    }

    async fn candidates(&self, request: &ReserveRequest) -> Result<Candidates, ApiError> {
        let items: Vec<(ProductId, Option<VariantId>)> = request
            .lines
            .iter()
            .map(|l| (l.product, l.variant))
            .collect();
        let (country, state) = (&request.ship_to.country, &request.ship_to.state);
        let rows = match self.candidate_cache.get(&items, country, state) {
            Some(rows) => rows,
            None => {
                let rows = reservation_store::candidates(&self.db, &items, country, state).await?;
                self.candidate_cache
                    .put(&items, country, state, rows.clone());
                rows
            }
        };
        let mut per_line = vec![Vec::new(); request.lines.len()];
        let mut warehouse = HashMap::new();
        let mut line_of = HashMap::new();
        for row in rows {
            let id = InventoryId::new(row.inventory_id);
            if let Some(line) = request.lines.iter().position(|l| {
                l.product.get() == row.product_id && l.variant.map(VariantId::get) == row.variant_id
            }) {
                per_line[line].push(id);
                warehouse.insert(id, WarehouseId::new(row.warehouse_id));
                line_of.insert(id, line);
            }
        }
        Ok(Candidates {
            per_line,
            warehouse,
            line_of,
        })
    }

    /// Reserves every line or none.
    pub async fn reserve(&self, request: &ReserveRequest) -> Result<ReserveOutcome, ApiError> {
        let candidates = self.candidates(request).await?;
        let demand: Vec<LineDemand> = request
            .lines
            .iter()
            .zip(&candidates.per_line)
            .map(|(line, rows)| LineDemand {
                quantity: line.quantity,
                candidates: rows.clone(),
            })
            .collect();
        let taken = match self.reserve_with_counters(request, &demand).await {
            Ok(taken) => taken.map(|rows| (rows, Path::Redis)),
            Err(Unavailable::Redis(err)) => {
                tracing::warn!(error = %err, "Redis unavailable; reserving with PostgreSQL row locks");
                self.reserve_with_row_locks(request, &demand)
                    .await?
                    .map(|rows| {
                        let rows = rows.into_iter().map(|(row, n)| (row, n, None)).collect();
                        (rows, Path::RowLocks)
                    })
            }
            Err(Unavailable::Database(err)) => return Err(err),
        };
        Ok(match taken {
            Ok((rows, path)) => {
                metrics::counter!("inventory_reservations_total", "outcome" => "reserved", "path" => path_label(path)).increment(1);
                ReserveOutcome::Reserved(
                    rows.into_iter()
                        .map(|(row, quantity, reservation_id)| Allocation {
                            line: candidates.line_of.get(&row).copied().unwrap_or(0),
                            warehouse_id: candidates
                                .warehouse
                                .get(&row)
                                .copied()
                                .unwrap_or(WarehouseId::new(0)),
                            inventory_id: row,
                            quantity,
                            reservation_id,
                        })
                        .collect(),
                )
            }
            Err(short) => {
                metrics::counter!("inventory_reservations_total", "outcome" => "short")
                    .increment(1);
                ReserveOutcome::Short(
                    short
                        .into_iter()
                        .map(|(line, available)| ShortLine {
                            line,
                            requested: request.lines.get(line).map_or(0, |l| l.quantity),
                            available,
                        })
                        .collect(),
                )
            }
        })
    }

    /// The Redis path. `Ok(Ok(rows))` reserved, `Ok(Err(short))` not enough stock.
    async fn reserve_with_counters(
        &self,
        request: &ReserveRequest,
        demand: &[LineDemand],
    ) -> Result<Result<Vec<Taken>, Vec<(usize, u32)>>, Unavailable> {
        let expires_ms = request.expires_at.timestamp_millis();
        let mut attempts = 0;
        loop {
            match counters::reserve(&self.keys, request.saga, expires_ms, demand).await? {
                CounterReservation::Missing(rows) => {
                    // First use, or Redis lost its data: rebuild from PostgreSQL, then retry.
                    let available = reservation_store::available(&self.db, &rows)
                        .await
                        .map_err(db_error)?;
                    counters::load_missing(&self.keys, &available).await?;
                }
                CounterReservation::Short(short) => return Ok(Err(short)),
                CounterReservation::Held(rows) => {
                    let durable = DurableReservation {
                        saga: request.saga,
                        checkout: request.checkout,
                        cart_id: request.cart_id.clone(),
                        expires_at: request.expires_at,
                        rows: rows.clone(),
                    };
                    match self.writer.write(durable).await {
                        Ok(WriteOutcome::Written(ids)) => {
                            let id_of = |row: InventoryId| {
                                ids.iter().find(|(r, _)| *r == row).map(|(_, id)| *id)
                            };
                            return Ok(Ok(rows
                                .iter()
                                .map(|&(row, n)| (row, n, id_of(row)))
                                .collect()));
                        }
                        Ok(WriteOutcome::BeyondStock) => {
                            // The counters promised more than PostgreSQL has: give the hold
                            // back, correct the counters from the database and try again.
                            counters::release(&self.keys, request.saga).await?;
                            let ids: Vec<InventoryId> = demand
                                .iter()
                                .flat_map(|d| d.candidates.iter().copied())
                                .collect();
                            let truth = reservation_store::available(&self.db, &ids)
                                .await
                                .map_err(db_error)?;
                            counters::resync(&self.keys, &truth).await?;
                            metrics::counter!("inventory_counter_resyncs_total").increment(1);
                            attempts += 1;
                            if attempts >= RESYNC_ATTEMPTS {
                                return Ok(Err(short_from(&truth, demand)));
                            }
                        }
                        Err(err) => {
                            // Not durable, so not reserved: undo the hold before failing.
                            if let Err(redis) = counters::release(&self.keys, request.saga).await {
                                tracing::warn!(error = %redis, saga = %request.saga, "could not undo a hold; the orphan sweep will");
                            }
                            return Err(Unavailable::Database(ApiError::Database(unshare(err))));
                        }
                    }
                }
            }
        }
    }

    async fn reserve_with_row_locks(
        &self,
        request: &ReserveRequest,
        demand: &[LineDemand],
    ) -> Result<Result<Vec<(InventoryId, u32)>, Vec<(usize, u32)>>, ApiError> {
        let durable = DurableReservation {
            saga: request.saga,
            checkout: request.checkout,
            cart_id: request.cart_id.clone(),
            expires_at: request.expires_at,
            rows: Vec::new(),
        };
        let lines: Vec<(u32, Vec<InventoryId>)> = demand
            .iter()
            .map(|d| (d.quantity, d.candidates.clone()))
            .collect();
        Ok(reservation_store::reserve_with_row_locks(&self.db, &durable, &lines).await?)
    }

    /// Ends a saga's reservation without a sale, in the caller's transaction. Call
    /// [`Reservations::forget_hold`] after the transaction commits.
    pub async fn release_in(
        &self,
        conn: &mut PgConnection,
        saga: SagaId,
        kind: ReleaseKind,
    ) -> Result<Vec<(InventoryId, i32)>, ApiError> {
        Ok(reservation_store::release(conn, saga, kind.status()).await?)
    }

    /// Gives a released saga's units back to the Redis counters. A failure is only logged: the
    /// orphan sweep repairs it from PostgreSQL's record.
    pub async fn return_hold(&self, saga: SagaId) {
        if let Err(err) = counters::release(&self.keys, saga).await {
            tracing::warn!(error = %err, %saga, "could not return a hold to Redis; the orphan sweep will");
        }
    }

    /// Ends a saga's reservation without a sale, in its own transaction.
    pub async fn release(
        &self,
        saga: SagaId,
        kind: ReleaseKind,
    ) -> Result<Vec<(InventoryId, i32)>, ApiError> {
        let mut tx = self.db.begin().await?;
        let released = self.release_in(&mut tx, saga, kind).await?;
        tx.commit().await?;
        self.return_hold(saga).await;
        Ok(released)
    }

    /// Sells a saga's reserved units, in the caller's transaction. Call
    /// [`Reservations::forget_hold`] after the transaction commits.
    pub async fn confirm_in(
        &self,
        conn: &mut PgConnection,
        saga: SagaId,
        order: OrderId,
    ) -> Result<Vec<(InventoryId, i32)>, ApiError> {
        Ok(reservation_store::confirm(conn, saga, order).await?)
    }

    /// Drops a sold saga's hold from Redis without giving units back.
    pub async fn forget_hold(&self, saga: SagaId) {
        if let Err(err) = counters::confirm(&self.keys, saga).await {
            tracing::warn!(error = %err, %saga, "could not drop a sold hold from Redis; the orphan sweep will");
        }
    }

    /// Brings Redis holds in line with PostgreSQL's record: a hold whose reservation was sold
    /// is dropped, one whose reservation ended (or never became durable and has expired) is
    /// given back. Repairs crashes between the two stores and releases made while Redis was
    /// unreachable. Answers the number of holds repaired.
    pub async fn sweep_orphan_holds(&self, now: DateTime<Utc>) -> Result<usize, ApiError> {
        let holds = match counters::holds(&self.keys, 10_000).await {
            Ok(holds) => holds,
            Err(err) => {
                tracing::debug!(error = %err, "orphan sweep skipped: Redis unavailable");
                return Ok(0);
            }
        };
        if holds.is_empty() {
            return Ok(0);
        }
        let sagas: Vec<SagaId> = holds.iter().map(|(s, _)| *s).collect();
        let states: HashMap<SagaId, (bool, bool)> =
            reservation_store::saga_states(&self.db, &sagas)
                .await?
                .into_iter()
                .map(|(saga, pending, confirmed)| (saga, (pending, confirmed)))
                .collect();
        let mut repaired = 0;
        for (saga, expires_ms) in holds {
            let action = match states.get(&saga) {
                Some((true, _)) => None,
                Some((false, true)) => Some(true),
                Some((false, false)) => Some(false),
                // No durable record: a write may still be on its way, unless the hold expired.
                None if expires_ms < now.timestamp_millis() => Some(false),
                None => None,
            };
            let result = match action {
                Some(true) => counters::confirm(&self.keys, saga).await.map(|_| ()),
                Some(false) => counters::release(&self.keys, saga).await.map(|_| ()),
                None => continue,
            };
            match result {
                Ok(()) => repaired += 1,
                Err(err) => {
                    tracing::warn!(error = %err, %saga, "orphan sweep could not repair a hold")
                }
            }
        }
        if repaired > 0 {
            metrics::counter!("inventory_orphan_holds_repaired_total").increment(repaired as u64);
        }
        Ok(repaired)
    }

    /// Creates the Redis counters of these rows where missing (a flash sale's pre-warm). An
    /// existing counter is kept: it carries reservations PostgreSQL may not have committed yet.
    pub async fn preload_counters(&self, rows: &[InventoryId]) -> Result<(), ApiError> {
        let truth = reservation_store::available(&self.db, rows).await?;
        if let Err(err) = counters::load_missing(&self.keys, &truth).await {
            tracing::warn!(error = %err, "could not preload stock counters");
        }
        Ok(())
    }

    /// Overwrites the counters of these rows with PostgreSQL's figures (after an admin changed
    /// the stock). Redis being down is fine: counters are rebuilt when next loaded.
    pub async fn resync_counters(&self, rows: &[InventoryId]) -> Result<(), ApiError> {
        // Stock rows changed here (perhaps a new one): look them up afresh.
        self.candidate_cache.clear();
        let truth = reservation_store::available(&self.db, rows).await?;
        if let Err(err) = counters::resync(&self.keys, &truth).await {
            tracing::warn!(error = %err, "could not resync stock counters");
        }
        Ok(())
    }
}

fn path_label(path: Path) -> &'static str {
    match path {
        Path::Redis => "redis",
        Path::RowLocks => "row_locks",
    }
}

/// Per short line, what PostgreSQL says is free.
fn short_from(truth: &[(InventoryId, i32)], demand: &[LineDemand]) -> Vec<(usize, u32)> {
    let free: HashMap<InventoryId, i32> = truth.iter().copied().collect();
    demand
        .iter()
        .enumerate()
        .filter_map(|(line, d)| {
            let total: i64 = d
                .candidates
                .iter()
                .map(|r| i64::from(free.get(r).copied().unwrap_or(0).max(0)))
                .sum();
            (total < i64::from(d.quantity)).then_some((line, total as u32))
        })
        .collect()
}

/// Why the Redis path gave up: Redis itself (fall back to row locks) or the database.
enum Unavailable {
    Redis(redis::RedisError),
    Database(ApiError),
}

impl From<redis::RedisError> for Unavailable {
    fn from(err: redis::RedisError) -> Self {
        Unavailable::Redis(err)
    }
}

fn db_error(err: sqlx::Error) -> Unavailable {
    Unavailable::Database(ApiError::Database(err))
}

/// The writer shares one error among a batch's callers; each caller reports it as its own.
fn unshare(err: std::sync::Arc<sqlx::Error>) -> sqlx::Error {
    match std::sync::Arc::try_unwrap(err) {
        Ok(err) => err,
        Err(shared) => sqlx::Error::Protocol(shared.to_string()),
    }
}
