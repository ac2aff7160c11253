//! Moving a saga forward after the money is taken (CREATE_ORDER, CONFIRM_INVENTORY) and
//! backward when it cannot finish (compensation in reverse: refund, release, fail the order).
//! Every step is idempotent and re-reads the saga under its row lock, so the orchestrator, the
//! expiry sweep and the recovery job can all call these without stepping on each other.

use serde_json::json;
use shared_model::events::{
    InventoryConfirmed, InventoryReleased, OrderCreated, PaymentCompleted, ReleaseReason,
    ReservedItem,
};
use shared_model::ids::{
    AddressId, OrderId, ProductId, ReservationId, SagaId, VariantId, WarehouseId,
};
use shared_model::order::{OrderNumber, OrderStatus, PaymentStatus, SagaStatus, SagaStep};

use super::store::{self, PaymentRow};
use super::{crash_point, saga_log};
use crate::error::{ApiError, ApiResult};
use crate::inventory::reservation_store::{self, ReservedRow};
use crate::inventory::reservations::ReleaseKind;
use crate::orders::store::{self as orders, Actor};
use crate::outbox;
use crate::payments::{Charge, RefundOutcome, RefundReason};
use crate::state::AppState;

pub(super) fn reserved_items(rows: &[ReservedRow]) -> Vec<ReservedItem> {
    rows.iter()
        .map(|r| ReservedItem {
            reservation_id: ReservationId::new(r.reservation_id),
            product_id: ProductId::new(r.product_id),
            variant_id: r.variant_id.map(VariantId::new),
            warehouse_id: WarehouseId::new(r.warehouse_id),
            quantity_reserved: r.quantity.max(0) as u32,
        })
        .collect()
}

/// Records a captured charge against its payment attempt (PROCESS_PAYMENT completed).
pub async fn record_capture(
    state: &AppState,
    saga: SagaId,
    payment: &PaymentRow,
    charge: &Charge,
    correlation_id: &str,
) -> ApiResult<()> {
    let mut tx = state.db.begin().await?;
    let record = store::load_by_saga(&mut tx, saga, true)
        .await?
        .ok_or_else(super::view::not_found)?;
    if !record.completed(SagaStep::ProcessPayment) {
        store::settle_payment(
            &mut tx,
            payment.id(),
            PaymentStatus::Captured,
            Some(&charge.id),
            None,
        )
        .await?;
        orders::set_payment_status(&mut tx, record.order(), PaymentStatus::Captured).await?;
        saga_log::complete_step(
            &mut tx,
            saga,
            SagaStep::ProcessPayment,
            json!({ "chargeId": charge.id }),
        )
        .await?;
        let event = PaymentCompleted {
            payment_id: payment.id(),
            amount: charge.amount,
            currency: record.currency.parse()?,
            payment_method: "CARD".into(),
            gateway_transaction_id: charge.id.clone(),
            status: PaymentStatus::Captured,
        };
        outbox::enqueue(
            &mut tx,
            &outbox::envelope(event, Some(saga), correlation_id),
        )
        .await?;
    }
    tx.commit().await?;
    crash_point(state, SagaStep::ProcessPayment);
    Ok(())
}

/// After payment: confirm the order, then sell the reserved units. If the units are gone (the
/// reservation ended while the payment was in flight), the saga is compensated instead: the
/// buyer is refunded, never charged for nothing.
pub async fn finish(state: &AppState, saga: SagaId, correlation_id: &str) -> ApiResult<()> {
    let mut tx = state.db.begin().await?;
    let record = store::load_by_saga(&mut tx, saga, true)
        .await?
        .ok_or_else(super::view::not_found)?;
    if record.saga_status == "COMPLETED" || record.saga_status == "COMPENSATED" {
        return Ok(());
    }
    if !record.completed(SagaStep::CreateOrder) {
        saga_log::start_step(&mut tx, saga, SagaStep::CreateOrder, json!({})).await?;
        orders::change_status(
            &mut tx,
            record.order(),
            OrderStatus::Confirmed,
            "payment captured",
            Actor::System,
        )
        .await?;
        orders::set_items_status(&mut tx, record.order(), "CONFIRMED").await?;
        saga_log::complete_step(
            &mut tx,
            saga,
            SagaStep::CreateOrder,
            json!({ "orderId": record.order() }),
        )
        .await?;
        tx.commit().await?;
        crash_point(state, SagaStep::CreateOrder);
        tx = state.db.begin().await?;
        store::load_by_saga(&mut tx, saga, true).await?;
    }
    // Everything but the stock rows first: a hot SKU's row is locked by every sale of it, so
    // the deduction comes last and the lock is held only for it and the commit. If the units
    // turn out to be gone, the whole transaction is rolled back.
    saga_log::start_step(&mut tx, saga, SagaStep::ConfirmInventory, json!({})).await?;
    let held = reservation_store::reserved_rows(&mut tx, saga).await?;
    let pending = held.iter().filter(|r| r.status == "PENDING").count();
    // Sold by this step, or by an earlier attempt that crashed after committing.
    let sold_rows: Vec<ReservedRow> = held
        .into_iter()
        .filter(|r| r.status == "PENDING" || r.status == "CONFIRMED")
        .map(|r| ReservedRow {
            status: "CONFIRMED".to_owned(),
            ..r
        })
        .collect();
    saga_log::complete_step(
        &mut tx,
        saga,
        SagaStep::ConfirmInventory,
        json!({ "rows": pending }),
    )
    .await?;
    saga_log::set_status(&mut tx, saga, SagaStatus::Completed, None).await?;
    outbox::enqueue(
        &mut tx,
        &outbox::envelope(
            InventoryConfirmed {
                order_id: record.order(),
                items: reserved_items(&sold_rows),
            },
            Some(saga),
            correlation_id,
        ),
    )
    .await?;
    let items = orders::created_items(&mut tx, &[record.order()])
        .await?
        .into_iter()
        .map(|(_, item)| item)
        .collect();
    let shipping_address: Option<i64> =
        sqlx::query_scalar("SELECT shipping_address_id FROM orders WHERE order_id = $1")
            .bind(record.order().get())
            .fetch_one(&mut *tx)
            .await?;
    let created = OrderCreated {
        order_id: record.order(),
        order_number: OrderNumber::parse(&record.order_number)?,
        user_id: record.user(),
        status: OrderStatus::Confirmed,
        total_amount: record.total_amount,
        currency: record.currency.parse()?,
        items,
        shipping_address_id: AddressId::new(shipping_address.unwrap_or(0).max(1)),
    };
    outbox::enqueue(
        &mut tx,
        &outbox::envelope(created, Some(saga), correlation_id),
    )
    .await?;

    let confirmed = state
        .reservations
        .confirm_in(&mut tx, saga, record.order())
        .await?;
    if sold_rows.is_empty() || (confirmed.is_empty() && pending > 0) {
        // The reservation ended (expired or released) while the payment was in flight.
        tx.rollback().await?;
        tracing::error!(%saga, "paid, but the reservation had ended: compensating with a refund");
        return compensate(
            state,
            saga,
            ReleaseReason::Compensated,
            OrderStatus::Cancelled,
            "stock no longer held after payment",
            correlation_id,
        )
        .await;
    }
    tx.commit().await?;
    state.reservations.forget_hold(saga).await;
    crash_point(state, SagaStep::ConfirmInventory);
    metrics::counter!("checkout_orders_confirmed_total").increment(1);
    Ok(())
}

/// Undoes a saga in reverse: releases the stock, refunds what was captured, and ends the order
/// in `order_to` (FAILED before payment, CANCELLED after). If a refund's outcome is unknown the
/// saga stays COMPENSATING and the recovery job tries again with the same refund key.
pub async fn compensate(
    state: &AppState,
    saga: SagaId,
    reason: ReleaseReason,
    order_to: OrderStatus,
    why: &str,
    correlation_id: &str,
) -> ApiResult<()> {
    let mut tx = state.db.begin().await?;
    let Some(record) = store::load_by_saga(&mut tx, saga, true).await? else {
        // A reservation without a saga (a crash right after reserving): just release it.
        drop(tx);
        state
            .reservations
            .release(saga, ReleaseKind::Expired)
            .await?;
        return Ok(());
    };
    if record.saga_status == "COMPENSATED" || record.saga_status == "COMPLETED" {
        return Ok(());
    }
    saga_log::set_status(&mut tx, saga, SagaStatus::Compensating, Some(why)).await?;
    let kind = if reason == ReleaseReason::Expired {
        ReleaseKind::Expired
    } else {
        ReleaseKind::Released
    };
    let released = state.reservations.release_in(&mut tx, saga, kind).await?;
    if !released.is_empty() {
        let rows = reservation_store::reserved_rows(&mut tx, saga).await?;
        let ended: Vec<ReservedRow> = rows
            .into_iter()
            .filter(|r| r.status != "CONFIRMED")
            .collect();
        outbox::enqueue(
            &mut tx,
            &outbox::envelope(
                InventoryReleased {
                    items: reserved_items(&ended),
                    reason,
                },
                Some(saga),
                correlation_id,
            ),
        )
        .await?;
        saga_log::log_step(
            &mut tx,
            saga,
            SagaStep::ReserveInventory,
            shared_model::order::SagaStepStatus::Compensated,
            json!({ "reason": reason }),
        )
        .await?;
    }
    // Units already sold by this saga go back on the shelf.
    let restocked = reservation_store::restock_sold(&mut tx, saga).await?;
    tx.commit().await?;
    state.reservations.return_hold(saga).await;
    if !restocked.is_empty() {
        state.reservations.resync_counters(&restocked).await?;
    }

    let refunded_any = refund_captured(state, record.order(), saga, why).await?;

    let mut tx = state.db.begin().await?;
    let record = store::load_by_saga(&mut tx, saga, true)
        .await?
        .ok_or_else(super::view::not_found)?;
    // Before payment an order fails (or is cancelled); once confirmed it can only be cancelled.
    let target = if record.order_status == "PENDING" {
        order_to
    } else {
        OrderStatus::Cancelled
    };
    orders::change_status(&mut tx, record.order(), target, why, Actor::System).await?;
    orders::set_items_status(&mut tx, record.order(), "CANCELLED").await?;
    let payment_status = if refunded_any {
        PaymentStatus::Refunded
    } else {
        PaymentStatus::Failed
    };
    if record.payment_status != "FAILED" || refunded_any {
        orders::set_payment_status(&mut tx, record.order(), payment_status).await?;
    }
    saga_log::set_status(&mut tx, saga, SagaStatus::Compensated, Some(why)).await?;
    tx.commit().await?;
    metrics::counter!("checkout_sagas_compensated_total", "reason" => reason.as_str()).increment(1);
    Ok(())
}

/// Refunds every captured payment of an order in full, each under a refund key derived from
/// its payment key (so a retry refunds once). Answers whether anything was refunded; a refund
/// whose outcome is unknown is an error, and the caller's saga or order stays where recovery
/// will retry it.
pub async fn refund_captured(
    state: &AppState,
    order: OrderId,
    saga: SagaId,
    why: &str,
) -> ApiResult<bool> {
    let mut conn = state.db.acquire().await?;
    let payments = store::payments(&mut conn, order).await?;
    drop(conn);
    let mut refunded_any = false;
    for payment in payments.iter().filter(|p| p.status == "CAPTURED") {
        let Some(charge) = &payment.gateway_transaction_id else {
            continue;
        };
        let key = format!("refund-{}", payment.idempotency_key);
        let outcome = state
            .gateway
            .refund(&key, charge, None, Some(RefundReason::RequestedByCustomer))
            .await;
        let refund = match outcome {
            Ok(RefundOutcome::Refunded(refund)) => Some((refund.id, refund.amount)),
            Ok(RefundOutcome::Refused { code, .. }) if code == "charge_already_refunded" => None,
            Ok(other) => {
                tracing::warn!(%saga, outcome = ?other, "refund not done yet; recovery will retry");
                return Err(ApiError::unavailable(
                    "refund_pending",
                    "the refund could not be completed yet; it will be retried",
                ));
            }
            Err(err) => {
                tracing::warn!(%saga, error = %err, "refund failed; recovery will retry");
                return Err(ApiError::unavailable(
                    "refund_pending",
                    "the refund could not be completed yet; it will be retried",
                ));
            }
        };
        let mut tx = state.db.begin().await?;
        if let Some((refund_id, amount)) = &refund {
            sqlx::query(
                "INSERT INTO refunds (payment_id, order_id, amount, reason, status, gateway_refund_id, idempotency_key, processed_at)
                 VALUES ($1, $2, $3, $4, 'PROCESSED', $5, $6, now()) ON CONFLICT (idempotency_key) DO NOTHING",
            )
            .bind(payment.payment_id)
            .bind(order.get())
            .bind(amount)
            .bind(why)
            .bind(refund_id)
            .bind(&key)
            .execute(&mut *tx)
            .await?;
        }
        sqlx::query("UPDATE payments SET status = 'REFUNDED', refunded_amount = amount, updated_at = now() WHERE payment_id = $1")
            .bind(payment.payment_id)
            .execute(&mut *tx)
            .await?;
        orders::set_payment_status(&mut tx, order, PaymentStatus::Refunded).await?;
        saga_log::log_step(
            &mut tx,
            saga,
            SagaStep::ProcessPayment,
            shared_model::order::SagaStepStatus::Compensated,
            json!({ "refundId": refund.map(|r| r.0) }),
        )
        .await?;
        tx.commit().await?;
        refunded_any = true;
    }
    Ok(refunded_any)
}
