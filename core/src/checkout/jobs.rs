//! The background jobs that keep checkouts honest when buyers walk away and processes die:
//! the expiry sweep (every 30 s), saga recovery (every minute, sagas without progress for 15
//! minutes) and reconciliation across stores (hourly). Each is also a CLI command.

use std::time::Duration;

use chrono::Utc;
use shared_model::events::ReleaseReason;
use shared_model::ids::SagaId;
use shared_model::order::{OrderStatus, SagaStep};

use super::store;
use super::{pay, progress};
use crate::error::ApiResult;
use crate::inventory::reservations::ReleaseKind;
use crate::state::AppState;

const BATCH: i64 = 500;
const SOURCE: &str = "background-job";

/// What one run of a job did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct JobReport {
    pub expired_checkouts: usize,
    pub orphan_reservations: usize,
    pub repaired_holds: usize,
    pub recovered_sagas: usize,
    pub failed: usize,
}

/// Releases checkouts whose time ran out while awaiting payment (never one whose payment is in
/// flight), reservations whose saga was never written (a crash right after reserving), and
/// Redis holds that disagree with PostgreSQL.
pub async fn sweep_expired(state: &AppState) -> ApiResult<JobReport> {
    let mut report = JobReport::default();
    let expired: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT saga_id FROM saga_state
          WHERE saga_type = 'CHECKOUT' AND status IN ('STARTED', 'IN_PROGRESS')
            AND current_step = 'RESERVE_INVENTORY' AND expires_at < now()
          ORDER BY expires_at LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(&state.db)
    .await?;
    for saga in expired {
        match progress::compensate(
            state,
            SagaId(saga),
            ReleaseReason::Expired,
            OrderStatus::Failed,
            "checkout expired",
            SOURCE,
        )
        .await
        {
            Ok(()) => report.expired_checkouts += 1,
            Err(err) => {
                report.failed += 1;
                tracing::warn!(%saga, error = %err, "could not expire a checkout");
            }
        }
    }
    let orphans: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT r.saga_id FROM inventory_reservations r
          WHERE r.status = 'PENDING' AND r.expires_at < now()
            AND NOT EXISTS (SELECT 1 FROM saga_state s WHERE s.saga_id = r.saga_id)
          LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(&state.db)
    .await?;
    for saga in orphans {
        state
            .reservations
            .release(SagaId(saga), ReleaseKind::Expired)
            .await?;
        report.orphan_reservations += 1;
    }
    report.repaired_holds = state.reservations.sweep_orphan_holds(Utc::now()).await?;
    Ok(report)
}

/// Continues or compensates every saga that made no progress for `older_than`.
pub async fn recover_stuck(state: &AppState, older_than: Duration) -> ApiResult<JobReport> {
    let mut report = JobReport::default();
    let stuck: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT saga_id FROM saga_state
          WHERE status IN ('STARTED', 'IN_PROGRESS', 'COMPENSATING')
            AND updated_at < now() - make_interval(secs => $1)
          ORDER BY updated_at LIMIT $2",
    )
    .bind(older_than.as_secs_f64())
    .bind(BATCH)
    .fetch_all(&state.db)
    .await?;
    for saga in stuck {
        match recover_one(state, SagaId(saga)).await {
            Ok(true) => report.recovered_sagas += 1,
            Ok(false) => {}
            Err(err) => {
                report.failed += 1;
                tracing::error!(%saga, error = %err, "saga recovery failed; it will be retried");
            }
        }
    }
    Ok(report)
}

/// Moves one saga on from wherever it stopped. Answers whether anything was done.
pub async fn recover_one(state: &AppState, saga: SagaId) -> ApiResult<bool> {
    let mut conn = state.db.acquire().await?;
    let Some(record) = store::load_by_saga(&mut conn, saga, false).await? else {
        return Ok(false);
    };
    let last_payment = store::last_payment(&mut conn, record.order()).await?;
    drop(conn);
    let expired = record.expires_at <= Utc::now();
    if record.saga_status == "COMPENSATING" {
        progress::compensate(
            state,
            saga,
            ReleaseReason::Compensated,
            OrderStatus::Failed,
            "recovery: finishing compensation",
            SOURCE,
        )
        .await?;
        return Ok(true);
    }
    if record.completed(SagaStep::ProcessPayment) {
        progress::finish(state, saga, SOURCE).await?;
        return Ok(true);
    }
    if let Some(payment) = last_payment.filter(|p| p.status == "INITIATED" || p.status == "PENDING")
    {
        // The outcome of this attempt was never recorded: the gateway knows it, by key.
        if let Err(err) = pay::resolve_unknown(state, saga, &payment, SOURCE).await {
            tracing::info!(%saga, error = %err, "recovery settled an unknown payment as not captured");
        }
        let mut conn = state.db.acquire().await?;
        let settled = store::load_by_saga(&mut conn, saga, false).await?;
        drop(conn);
        if settled.is_some_and(|r| {
            !r.completed(SagaStep::ProcessPayment) && r.saga_status == "IN_PROGRESS"
        }) && expired
        {
            progress::compensate(
                state,
                saga,
                ReleaseReason::Expired,
                OrderStatus::Failed,
                "checkout expired",
                SOURCE,
            )
            .await?;
        }
        return Ok(true);
    }
    if expired {
        progress::compensate(
            state,
            saga,
            ReleaseReason::Expired,
            OrderStatus::Failed,
            "checkout expired",
            SOURCE,
        )
        .await?;
        return Ok(true);
    }
    Ok(false)
}

/// Cross-store reconciliation (seed 7.8): reservations still pending long after their saga
/// ended, payments captured without a confirmed order, confirmed orders whose stock is still
/// only reserved, and payments whose outcome has been unknown for an hour.
pub async fn reconcile(state: &AppState) -> ApiResult<JobReport> {
    let mut report = JobReport::default();
    let orphaned: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT r.saga_id FROM inventory_reservations r
           LEFT JOIN saga_state s ON s.saga_id = r.saga_id
          WHERE r.status = 'PENDING' AND r.created_at < now() - interval '30 minutes'
            AND (s.saga_id IS NULL OR s.status IN ('COMPLETED', 'COMPENSATED', 'FAILED'))
          LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(&state.db)
    .await?;
    for saga in orphaned {
        state
            .reservations
            .release(SagaId(saga), ReleaseKind::Released)
            .await?;
        report.orphan_reservations += 1;
    }
    // Cancelled after payment, but the refund's outcome was unknown at the time.
    let unrefunded: Vec<(uuid::Uuid, i64)> = sqlx::query_as(
        "SELECT DISTINCT s.saga_id, o.order_id FROM orders o
           JOIN saga_state s ON s.order_id = o.order_id
           JOIN payments p ON p.order_id = o.order_id
          WHERE o.status = 'CANCELLED' AND p.status = 'CAPTURED'
          LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(&state.db)
    .await?;
    for (saga, order) in unrefunded {
        match progress::refund_captured(
            state,
            shared_model::ids::OrderId::new(order),
            SagaId(saga),
            "cancelled order",
        )
        .await
        {
            Ok(_) => report.recovered_sagas += 1,
            Err(err) => {
                report.failed += 1;
                tracing::error!(%saga, error = %err, "reconciliation could not refund a cancelled order");
            }
        }
    }
    let unfinished: Vec<uuid::Uuid> = sqlx::query_scalar(
        "SELECT DISTINCT s.saga_id FROM saga_state s JOIN payments p ON p.order_id = s.order_id
          WHERE (p.status = 'CAPTURED' AND s.status NOT IN ('COMPLETED', 'COMPENSATED'))
             OR (p.status IN ('INITIATED', 'PENDING') AND p.created_at < now() - interval '1 hour')
             OR (s.status = 'COMPLETED' AND EXISTS (
                    SELECT 1 FROM inventory_reservations r WHERE r.saga_id = s.saga_id AND r.status = 'PENDING'))
          LIMIT $1",
    )
    .bind(BATCH)
    .fetch_all(&state.db)
    .await?;
    for saga in unfinished {
        let saga = SagaId(saga);
        let outcome = async {
            let mut conn = state.db.acquire().await?;
            let completed = store::load_by_saga(&mut conn, saga, false)
                .await?
                .is_some_and(|r| r.saga_status == "COMPLETED");
            drop(conn);
            if completed {
                // Sold but the stock was never confirmed: confirm it now.
                let mut tx = state.db.begin().await?;
                let order: i64 =
                    sqlx::query_scalar("SELECT order_id FROM saga_state WHERE saga_id = $1")
                        .bind(saga.0)
                        .fetch_one(&mut *tx)
                        .await?;
                state
                    .reservations
                    .confirm_in(&mut tx, saga, shared_model::ids::OrderId::new(order))
                    .await?;
                tx.commit().await?;
                state.reservations.forget_hold(saga).await;
                Ok(true)
            } else {
                recover_one(state, saga).await
            }
        }
        .await;
        match outcome {
            Ok(true) => report.recovered_sagas += 1,
            Ok(false) => {}
            Err(err) => {
                report.failed += 1;
                tracing::error!(%saga, error = %err, "reconciliation could not settle a saga");
            }
        }
    }
    Ok(report)
}

/// Runs the sweep, recovery and reconciliation forever, each on its own period.
pub fn spawn(state: AppState) {
    let sweep_state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(sweep_state.config.sweep_interval);
        loop {
            tick.tick().await;
            if let Err(err) = sweep_expired(&sweep_state).await {
                tracing::warn!(error = %err, "expiry sweep failed");
            }
        }
    });
    let recovery_state = state.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            if let Err(err) =
                recover_stuck(&recovery_state, recovery_state.config.saga_stuck_after).await
            {
                tracing::warn!(error = %err, "saga recovery failed");
            }
        }
    });
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60 * 60));
        loop {
            tick.tick().await;
            if let Err(err) = reconcile(&state).await {
                tracing::warn!(error = %err, "reconciliation failed");
            }
        }
    });
}
