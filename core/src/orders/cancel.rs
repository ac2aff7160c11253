//! `POST /api/orders/{id}/cancel`: a buyer cancels before the order ships. Unpaid, the
//! checkout saga is compensated (the stock is released); paid, the sold units go back on the
//! shelf and the payment is refunded. A refund whose outcome is unknown leaves the order
//! CANCELLED with its payment CAPTURED, which reconciliation refunds later.

use serde_json::json;
use shared_model::events::{OrderStatusChanged, ReleaseReason};
use shared_model::ids::{OrderId, SagaId};
use shared_model::order::{OrderStatus, SagaStep};

use super::read;
use super::store::{self, Actor};
use crate::auth::CurrentUser;
use crate::checkout::{progress, saga_log};
use crate::error::{ApiError, ApiResult};
use crate::inventory::reservation_store;
use crate::outbox;
use crate::state::AppState;

pub async fn cancel(
    state: &AppState,
    user: CurrentUser,
    order: OrderId,
    reason: &str,
    correlation_id: &str,
) -> ApiResult<()> {
    #[derive(sqlx::FromRow)]
    struct Row {
        saga_id: uuid::Uuid,
        status: String,
        saga_status: String,
        current_step: Option<String>,
        completed_steps: sqlx::types::Json<Vec<String>>,
    }
    let row: Option<Row> = sqlx::query_as(
        "SELECT s.saga_id, o.status, s.status AS saga_status, s.current_step, s.completed_steps
           FROM orders o JOIN saga_state s ON s.order_id = o.order_id
          WHERE o.order_id = $1 AND o.user_id = $2",
    )
    .bind(order.get())
    .bind(user.user_id.get())
    .fetch_optional(&state.db)
    .await?;
    let row = row.ok_or_else(read::not_found)?;
    let (saga, status, saga_status, step, completed) = (
        row.saga_id,
        row.status,
        row.saga_status,
        row.current_step,
        row.completed_steps,
    );
    let saga = SagaId(saga);
    let status: OrderStatus = status.parse()?;
    if status == OrderStatus::Cancelled {
        return Ok(());
    }
    if !status.is_cancellable() {
        return Err(ApiError::conflict(
            "order_not_cancellable",
            format!("an order that is {status} cannot be cancelled"),
        ));
    }
    let paying = step.as_deref() == Some(SagaStep::ProcessPayment.as_str())
        && !completed
            .0
            .iter()
            .any(|s| s == SagaStep::ProcessPayment.as_str())
        && saga_status == "IN_PROGRESS";
    if status == OrderStatus::Pending {
        if paying {
            return Err(ApiError::conflict(
                "payment_in_progress",
                "a payment is being processed; try again in a moment",
            ));
        }
        return progress::compensate(
            state,
            saga,
            ReleaseReason::Cancelled,
            OrderStatus::Cancelled,
            reason,
            correlation_id,
        )
        .await;
    }
    let mut tx = state.db.begin().await?;
    let Some(from) = store::change_status(
        &mut tx,
        order,
        OrderStatus::Cancelled,
        reason,
        Actor::User(user.user_id),
    )
    .await?
    else {
        return Ok(());
    };
    store::set_items_status(&mut tx, order, "CANCELLED").await?;
    let restocked = reservation_store::restock_sold(&mut tx, saga).await?;
    saga_log::log_step(
        &mut tx,
        saga,
        SagaStep::ConfirmInventory,
        shared_model::order::SagaStepStatus::Compensated,
        json!({ "reason": reason }),
    )
    .await?;
    outbox::enqueue(
        &mut tx,
        &outbox::envelope(
            OrderStatusChanged::new(order, from, OrderStatus::Cancelled)?,
            Some(saga),
            correlation_id,
        ),
    )
    .await?;
    tx.commit().await?;
    if !restocked.is_empty() {
        state.reservations.resync_counters(&restocked).await?;
    }
    if let Err(err) = progress::refund_captured(state, order, saga, reason).await {
        tracing::warn!(%saga, error = %err, "order cancelled; its refund will be retried by reconciliation");
    }
    Ok(())
}
