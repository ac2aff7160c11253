//! Group commit for paid checkouts. Once the gateway has captured a payment, the rest of the
//! saga (PROCESS_PAYMENT recorded, CREATE_ORDER, CONFIRM_INVENTORY) is the same few rows for
//! every buyer, and the hot SKU's stock row is in all of them. So concurrent payments hand
//! their checkouts to one task that completes everything waiting in one transaction of
//! set-based statements: one commit, one lock on the stock row and a dozen statements per
//! batch instead of per buyer. The step log, the events and the rows written are the same as
//! the step-by-step path's.
//!
//! Only the plain case is taken here: a saga in progress with no step after the reservation
//! done, its order PENDING, this payment attempt still INITIATED and every reservation still
//! PENDING. Anything else (a retry, a recovery, a reservation that ended while the payment was
//! in flight) is handed back, and the caller takes the step-by-step path in `progress`, which
//! knows how to finish or compensate it. A batch that fails is handed back whole.

use std::collections::{HashMap, HashSet};

use serde_json::json;
use shared_model::events::{InventoryConfirmed, OrderCreated, OrderCreatedItem, PaymentCompleted};
use shared_model::ids::{AddressId, OrderId, PaymentId, SagaId, UserId};
use shared_model::order::{OrderNumber, OrderStatus, PaymentStatus, SagaStep, SagaStepStatus};
use sqlx::{Connection, PgConnection, PgPool};

use super::progress::reserved_items;
use super::saga_log::{self, LogLine};
use super::store::{self, PaidCheckout};
use crate::error::ApiError;
use crate::group_commit::{BEGIN_KEYED, GroupCommit, Handled};
use crate::inventory::reservation_store::{self, ReservedRow};
use crate::orders::store as orders;
use crate::outbox::{self, Queued};
use crate::payments::Charge;

/// A checkout whose payment the gateway captured.
#[derive(Debug, Clone)]
pub struct Paid {
    pub saga: SagaId,
    pub payment: PaymentId,
    pub charge: Charge,
    pub correlation_id: String,
}

/// What became of a checkout handed to the group commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Completion {
    /// Committed: payment captured, order confirmed, stock sold, saga completed.
    Completed,
    /// Nothing was written: finish it step by step.
    StepByStep,
}

#[derive(Clone)]
pub struct Completer {
    /// `None` when switched off: every checkout goes step by step.
    batches: Option<GroupCommit<Paid, ()>>,
}

impl Completer {
    /// Starts the task (it stops when every handle is dropped). `enabled: false` sends every
    /// checkout step by step (the crash tests stop a process between steps, which a batch
    /// that commits the steps together has none of).
    pub fn spawn(db: PgPool, enabled: bool) -> Self {
        let batches = enabled.then(|| {
            GroupCommit::spawn("checkout_completion", db, |conn, batch| {
                Box::pin(complete_together(conn, batch))
            })
        });
        Completer { batches }
    }

    /// Completes a paid checkout with others, or answers that it must go step by step.
    pub async fn complete(&self, paid: Paid) -> Completion {
        let Some(batches) = &self.batches else {
            return Completion::StepByStep;
        };
        match batches.submit(paid).await {
            Ok(Handled::Written(())) => Completion::Completed,
            Ok(Handled::Alone(_)) | Err(_) => Completion::StepByStep,
        }
    }
}

async fn complete_together(conn: &mut PgConnection, batch: Vec<Paid>) -> Vec<Handled<Paid, ()>> {
    let paid: Vec<&Paid> = batch.iter().collect();
    let done = match complete_batch(conn, &paid).await {
        Ok(done) => done,
        Err(err) => {
            tracing::warn!(error = %err, checkouts = paid.len(),
                "group commit of paid checkouts failed; finishing them step by step");
            HashSet::new()
        }
    };
    batch
        .into_iter()
        .enumerate()
        .map(|(n, paid)| {
            if done.contains(&n) {
                Handled::Written(())
            } else {
                Handled::Alone(paid)
            }
        })
        .collect()
}

/// On the plain path: nothing after the reservation done, and this attempt still open.
fn plain(checkout: &PaidCheckout) -> bool {
    let done = &checkout.completed_steps.0;
    checkout.saga_status == "IN_PROGRESS"
        && checkout.order_status == "PENDING"
        && checkout.payment_status == "INITIATED"
        && [
            SagaStep::ProcessPayment,
            SagaStep::CreateOrder,
            SagaStep::ConfirmInventory,
        ]
        .iter()
        .all(|step| !done.iter().any(|d| d == step.as_str()))
}

/// One checkout of the batch, with everything its completion writes.
struct Completing<'a> {
    /// Where it is in the batch.
    position: usize,
    paid: &'a Paid,
    checkout: PaidCheckout,
    reserved: Vec<ReservedRow>,
}

/// Completes in one transaction every checkout of `batch` on the plain path; answers the
/// positions in `batch` of those it completed (the others were not touched).
async fn complete_batch(
    conn: &mut PgConnection,
    batch: &[&Paid],
) -> Result<HashSet<usize>, ApiError> {
    let mut tx = conn.begin_with(BEGIN_KEYED).await?;
    // A saga handed over twice (two requests racing) goes step by step the second time.
    let mut seen = HashSet::new();
    let unique: Vec<(usize, &Paid)> = batch
        .iter()
        .copied()
        .enumerate()
        .filter(|(_, p)| seen.insert(p.saga))
        .collect();
    let pairs: Vec<(SagaId, PaymentId)> = unique.iter().map(|(_, p)| (p.saga, p.payment)).collect();
    let mut locked: HashMap<SagaId, PaidCheckout> = store::lock_paid(&mut tx, &pairs)
        .await?
        .into_iter()
        .filter(plain)
        .map(|c| (SagaId(c.saga_id), c))
        .collect();
    let sagas: Vec<SagaId> = locked.keys().copied().collect();
    let mut reserved: HashMap<SagaId, Vec<ReservedRow>> = HashMap::new();
    for (saga, row) in reservation_store::reserved_rows_of(&mut tx, &sagas).await? {
        reserved.entry(saga).or_default().push(row);
    }
    let completing: Vec<Completing> = unique
        .iter()
        .filter_map(|&(position, paid)| {
            let checkout = locked.remove(&paid.saga)?;
            let rows = reserved.remove(&paid.saga)?;
            // Every unit still held: a reservation that ended needs the compensating path.
            let held = !rows.is_empty() && rows.iter().all(|r| r.status == "PENDING");
            held.then_some(Completing {
                position,
                paid,
                checkout,
                reserved: rows,
            })
        })
        .collect();
    if completing.is_empty() {
        tx.rollback().await?;
        return Ok(HashSet::new());
    }

    let order_ids: Vec<OrderId> = completing
        .iter()
        .map(|c| OrderId::new(c.checkout.order_id))
        .collect();
    let mut items: HashMap<OrderId, Vec<OrderCreatedItem>> = HashMap::new();
    for (order, item) in orders::created_items(&mut tx, &order_ids).await? {
        items.entry(order).or_default().push(item);
    }
    let mut lines = Vec::with_capacity(completing.len() * 5);
    let mut events = Vec::with_capacity(completing.len() * 3);
    for c in &completing {
        lines.extend(log_lines(c));
        events.extend(events_of(
            c,
            items.remove(&OrderId::new(c.checkout.order_id)),
        )?);
    }

    // Everything but the stock rows first: they are shared with every other sale of the SKU,
    // so they are locked last and held only for the deduction and the commit.
    let captured: Vec<(PaymentId, &str)> = completing
        .iter()
        .map(|c| (c.paid.payment, c.paid.charge.id.as_str()))
        .collect();
    store::capture_payments(&mut tx, &captured).await?;
    orders::confirm_paid(&mut tx, &order_ids, "payment captured").await?;
    let sagas: Vec<SagaId> = completing.iter().map(|c| c.paid.saga).collect();
    saga_log::complete_many(
        &mut tx,
        &sagas,
        &[
            SagaStep::ProcessPayment,
            SagaStep::CreateOrder,
            SagaStep::ConfirmInventory,
        ],
        SagaStep::ConfirmInventory,
        &lines,
    )
    .await?;
    outbox::enqueue_many(&mut tx, &events).await?;
    let sales: Vec<(SagaId, OrderId)> = sagas.iter().copied().zip(order_ids).collect();
    let stock_rows: Vec<i64> = completing
        .iter()
        .flat_map(|c| c.reserved.iter().map(|r| r.inventory_id))
        .collect();
    let sold: HashMap<SagaId, i64> = reservation_store::confirm_many(&mut tx, &sales, &stock_rows)
        .await?
        .into_iter()
        .collect();
    // The saga locks keep every other path off these reservations, so each sells exactly what
    // was read above; if not, write nothing and let the careful path sort it out.
    let mismatch = completing
        .iter()
        .any(|c| sold.get(&c.paid.saga).copied() != Some(c.reserved.len() as i64));
    if mismatch {
        tx.rollback().await?;
        return Err(ApiError::Internal(anyhow::anyhow!(
            "reservations changed under a locked saga"
        )));
    }
    tx.commit().await?;
    Ok(completing.iter().map(|c| c.position).collect())
}

/// The step log lines the step-by-step path writes for the same steps.
fn log_lines(c: &Completing) -> [LogLine; 5] {
    let saga = c.paid.saga;
    let line = |step, status, data| LogLine {
        saga,
        step,
        status,
        data,
    };
    [
        line(
            SagaStep::ProcessPayment,
            SagaStepStatus::Completed,
            json!({ "chargeId": c.paid.charge.id }),
        ),
        line(SagaStep::CreateOrder, SagaStepStatus::Started, json!({})),
        line(
            SagaStep::CreateOrder,
            SagaStepStatus::Completed,
            json!({ "orderId": c.checkout.order_id }),
        ),
        line(
            SagaStep::ConfirmInventory,
            SagaStepStatus::Started,
            json!({}),
        ),
        line(
            SagaStep::ConfirmInventory,
            SagaStepStatus::Completed,
            json!({ "rows": c.reserved.len() }),
        ),
    ]
}

/// PAYMENT_COMPLETED, INVENTORY_CONFIRMED and ORDER_CREATED, in the step-by-step order.
fn events_of(
    c: &Completing,
    items: Option<Vec<OrderCreatedItem>>,
) -> Result<[Queued; 3], ApiError> {
    let saga = Some(c.paid.saga);
    let correlation_id = c.paid.correlation_id.as_str();
    let order = OrderId::new(c.checkout.order_id);
    let currency = c.checkout.currency.parse()?;
    let sold: Vec<ReservedRow> = c
        .reserved
        .iter()
        .map(|r| ReservedRow {
            status: "CONFIRMED".to_owned(),
            ..r.clone()
        })
        .collect();
    Ok([
        Queued::new(&outbox::envelope(
            PaymentCompleted {
                payment_id: c.paid.payment,
                amount: c.paid.charge.amount,
                currency,
                payment_method: "CARD".into(),
                gateway_transaction_id: c.paid.charge.id.clone(),
                status: PaymentStatus::Captured,
            },
            saga,
            correlation_id,
        ))?,
        Queued::new(&outbox::envelope(
            InventoryConfirmed {
                order_id: order,
                items: reserved_items(&sold),
            },
            saga,
            correlation_id,
        ))?,
        Queued::new(&outbox::envelope(
            OrderCreated {
                order_id: order,
                order_number: OrderNumber::parse(&c.checkout.order_number)?,
                user_id: UserId::new(c.checkout.user_id),
                status: OrderStatus::Confirmed,
                total_amount: c.checkout.total_amount,
                currency,
                items: items.unwrap_or_default(),
                shipping_address_id: AddressId::new(
                    c.checkout.shipping_address_id.unwrap_or(0).max(1),
                ),
            },
            saga,
            correlation_id,
        ))?,
    ])
}
