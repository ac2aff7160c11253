//! `POST /api/checkout/{id}/pay`: the orchestrated saga's payment and everything after it
//! (seed 7.9 with the brief's decisions).
//!
//! One payment runs at a time per checkout (the saga row is locked while an attempt is
//! recorded, and the database allows one live payment per order). A decline that another card
//! may fix keeps the reservation until the checkout expires; one that cannot be fixed releases
//! it. An answer that never came leaves the payment PENDING: asking again (or the recovery job)
//! looks the charge up at the gateway by the same key, so a buyer is never charged twice.

use std::collections::BTreeMap;

use chrono::Utc;
use serde_json::json;
use shared_model::api::checkout::{PayRequest, PayResponse};
use shared_model::events::{PaymentFailed, ReleaseReason};
use shared_model::ids::{CheckoutId, SagaId};
use shared_model::money::with_minor_units;
use shared_model::order::{OrderNumber, OrderStatus, PaymentStatus, SagaStep};

use super::completion::{Completion, Paid};
use super::store::{self, CheckoutRecord, OpenedPayment, PayRequestFor, PaymentRow};
use super::{progress, saga_log, view};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::outbox;
use crate::payments::{Charge, ChargeOutcome, ChargeStatus};
use crate::state::AppState;

/// A payment attempt younger than this may still be talking to the gateway.
const IN_FLIGHT_GRACE_SECONDS: i64 = 60;

pub async fn pay(
    state: &AppState,
    user: CurrentUser,
    checkout: CheckoutId,
    request: PayRequest,
    correlation_id: &str,
) -> ApiResult<(axum::http::StatusCode, PayResponse)> {
    if request.payment_token.trim().is_empty() || request.payment_token.len() > 255 {
        return Err(
            shared_model::ModelError::invalid("paymentToken", "must be 1-255 characters").into(),
        );
    }
    let opened = state
        .opener
        .open(PayRequestFor {
            checkout,
            user: user.user_id,
            method: request.payment_method.as_str().to_owned(),
        })
        .await?;
    let opened = match opened {
        Some(opened) => opened,
        None => match open_carefully(state, &user, checkout, &request, correlation_id).await? {
            Opened::Attempt(opened) => *opened,
            Opened::Answered(answer) => return Ok(answer),
        },
    };
    charge_and_complete(state, opened, &request, correlation_id).await
}

/// What the careful path made of a pay request: a new attempt to charge, or the answer.
enum Opened {
    Attempt(Box<OpenedPayment>),
    Answered((axum::http::StatusCode, PayResponse)),
}

/// Every case [`store::open_first_payments`] leaves out, told apart under the saga's lock:
/// a closed, completed or expired checkout, an attempt in flight or of unknown outcome, a
/// payment recorded by a saga a crash stopped.
async fn open_carefully(
    state: &AppState,
    user: &CurrentUser,
    checkout: CheckoutId,
    request: &PayRequest,
    correlation_id: &str,
) -> ApiResult<Opened> {
    let saga = SagaId::for_checkout(checkout);
    let answered = |answer| Ok(Opened::Answered(answer));
    let mut tx = state.db.begin().await?;
    let record = store::load(&mut tx, checkout, true)
        .await?
        .filter(|r| r.user() == user.user_id)
        .ok_or_else(view::not_found)?;
    match record.saga_status.as_str() {
        "COMPLETED" => return answered(answer(&record)?),
        "COMPENSATING" | "COMPENSATED" | "FAILED" => {
            return Err(ApiError::conflict(
                "checkout_closed",
                "this checkout has ended; start a new one",
            ));
        }
        _ => {}
    }
    if record.completed(SagaStep::ProcessPayment) {
        // Paid, but a crash stopped the saga: finish it now.
        drop(tx);
        progress::finish(state, saga, correlation_id).await?;
        return answered(answer_for(state, checkout).await?);
    }
    let attempts = store::payments(&mut tx, record.order()).await?;
    if let Some(last) = attempts
        .last()
        .filter(|p| p.status == "INITIATED" || p.status == "PENDING")
    {
        let young = (Utc::now() - last.created_at).num_seconds() < IN_FLIGHT_GRACE_SECONDS;
        if last.status == "INITIATED" && young {
            return Err(ApiError::conflict(
                "payment_in_progress",
                "a payment for this checkout is already being processed",
            ));
        }
        // An earlier attempt's outcome is unknown: ask the gateway before charging again.
        let last = last.clone();
        drop(tx);
        return answered(resolve_unknown(state, saga, &last, correlation_id).await?);
    }
    if record.expires_at <= Utc::now() {
        drop(tx);
        progress::compensate(
            state,
            saga,
            ReleaseReason::Expired,
            OrderStatus::Failed,
            "checkout expired",
            correlation_id,
        )
        .await?;
        return Err(ApiError::conflict(
            "checkout_expired",
            "this checkout expired; its items were released",
        ));
    }
    let attempt_number = attempts.len() + 1;
    let key = store::payment_key(checkout, attempt_number);
    let payment = store::start_payment(
        &mut tx,
        saga,
        record.order(),
        record.total_amount,
        &record.currency,
        request.payment_method.as_str(),
        &key,
        attempt_number,
    )
    .await?;
    tx.commit().await?;
    Ok(Opened::Attempt(Box::new(OpenedPayment {
        record,
        payment,
        key,
    })))
}

/// Charges the opened attempt at the gateway and carries the saga on from its outcome.
async fn charge_and_complete(
    state: &AppState,
    opened: OpenedPayment,
    request: &PayRequest,
    correlation_id: &str,
) -> ApiResult<(axum::http::StatusCode, PayResponse)> {
    let OpenedPayment {
        record,
        payment,
        key,
    } = opened;
    let saga = record.saga();
    let metadata = BTreeMap::from([("order_number".to_owned(), record.order_number.clone())]);
    let outcome = state
        .gateway
        .charge(
            &key,
            record.total_amount,
            &record.currency,
            request.payment_token.trim(),
            &format!("edgeshop order {}", record.order_number),
            &metadata,
        )
        .await;
    if let Ok(ChargeOutcome::Captured(charge)) = &outcome {
        let paid = Paid {
            saga,
            payment,
            charge: charge.clone(),
            correlation_id: correlation_id.to_owned(),
        };
        if state.completer.complete(paid).await == Completion::Completed {
            state.reservations.forget_hold(saga).await;
            metrics::counter!("checkout_orders_confirmed_total").increment(1);
            return confirmed(&record);
        }
    }
    let mut conn = state.db.acquire().await?;
    let row = store::last_payment(&mut conn, record.order())
        .await?
        .filter(|p| p.id() == payment)
        .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("payment {payment} vanished")))?;
    drop(conn);
    match outcome {
        Ok(ChargeOutcome::Captured(charge)) => {
            captured(state, saga, &row, &charge, correlation_id).await
        }
        Ok(ChargeOutcome::Declined {
            code,
            decline_code,
            message,
            retryable,
            ..
        }) => {
            declined(
                state,
                &record,
                &row,
                decline_code.as_deref().unwrap_or(&code),
                &message,
                retryable,
                correlation_id,
            )
            .await
        }
        Ok(ChargeOutcome::Unknown { reason }) => {
            pending(state, &record, &row, &reason.to_string()).await
        }
        Err(err) => {
            tracing::error!(error = %err, %saga, "the gateway refused the request itself");
            declined(
                state,
                &record,
                &row,
                "gateway_error",
                "the payment could not be processed",
                false,
                correlation_id,
            )
            .await
        }
    }
}

async fn captured(
    state: &AppState,
    saga: SagaId,
    payment: &PaymentRow,
    charge: &Charge,
    correlation_id: &str,
) -> ApiResult<(axum::http::StatusCode, PayResponse)> {
    progress::record_capture(state, saga, payment, charge, correlation_id).await?;
    progress::finish(state, saga, correlation_id).await?;
    let mut conn = state.db.acquire().await?;
    let record = store::load_by_saga(&mut conn, saga, false)
        .await?
        .ok_or_else(view::not_found)?;
    drop(conn);
    answer(&record)
}

#[allow(clippy::too_many_arguments)]
async fn declined(
    state: &AppState,
    record: &CheckoutRecord,
    payment: &PaymentRow,
    code: &str,
    message: &str,
    retryable: bool,
    correlation_id: &str,
) -> ApiResult<(axum::http::StatusCode, PayResponse)> {
    let saga = record.saga();
    let mut tx = state.db.begin().await?;
    store::settle_payment(
        &mut tx,
        payment.id(),
        PaymentStatus::Failed,
        None,
        Some((code, message, retryable)),
    )
    .await?;
    crate::orders::store::set_payment_status(&mut tx, record.order(), PaymentStatus::Failed)
        .await?;
    saga_log::fail_step(
        &mut tx,
        saga,
        SagaStep::ProcessPayment,
        json!({ "code": code, "retryable": retryable }),
    )
    .await?;
    // Back to "reserved, awaiting payment": the buyer may try another card until expiry.
    sqlx::query("UPDATE saga_state SET current_step = 'RESERVE_INVENTORY', updated_at = now() WHERE saga_id = $1")
        .bind(saga.0)
        .execute(&mut *tx)
        .await?;
    let event = PaymentFailed {
        payment_id: payment.id(),
        failure_reason: message.to_owned(),
        failure_code: code.to_owned(),
        retryable,
    };
    outbox::enqueue(
        &mut tx,
        &outbox::envelope(event, Some(saga), correlation_id),
    )
    .await?;
    tx.commit().await?;
    if !retryable {
        progress::compensate(
            state,
            saga,
            ReleaseReason::PaymentFailed,
            OrderStatus::Failed,
            "payment failed",
            correlation_id,
        )
        .await?;
    }
    Err(ApiError::Detailed {
        status: axum::http::StatusCode::PAYMENT_REQUIRED,
        code: "payment_declined",
        message: if retryable {
            format!(
                "{message} Your items stay reserved until the checkout expires: try another card."
            )
        } else {
            format!("{message} The checkout was cancelled.")
        },
        details: json!({ "declineCode": code, "retryable": retryable }),
    })
}

/// The gateway did not answer: the money may have moved. The payment stays PENDING and the
/// buyer is told so (202); asking again resolves it by key.
async fn pending(
    state: &AppState,
    record: &CheckoutRecord,
    payment: &PaymentRow,
    reason: &str,
) -> ApiResult<(axum::http::StatusCode, PayResponse)> {
    let mut tx = state.db.begin().await?;
    store::settle_payment(
        &mut tx,
        payment.id(),
        PaymentStatus::Pending,
        None,
        Some(("gateway_unreachable", reason, true)),
    )
    .await?;
    crate::orders::store::set_payment_status(&mut tx, record.order(), PaymentStatus::Pending)
        .await?;
    tx.commit().await?;
    tracing::warn!(saga = %record.saga(), reason, "payment outcome unknown; left PENDING for reconciliation");
    Ok((
        axum::http::StatusCode::ACCEPTED,
        response(record, OrderStatus::Pending, PaymentStatus::Pending)?,
    ))
}

/// Settles a payment whose outcome was unknown by asking the gateway for the charge made with
/// its key: captured → the saga continues; declined or never made → the attempt failed.
pub async fn resolve_unknown(
    state: &AppState,
    saga: SagaId,
    payment: &PaymentRow,
    correlation_id: &str,
) -> ApiResult<(axum::http::StatusCode, PayResponse)> {
    let charge = state
        .gateway
        .find_charge(&payment.idempotency_key)
        .await
        .map_err(|e| {
            ApiError::unavailable(
                "payment_gateway_unavailable",
                format!("the payment's outcome cannot be checked yet: {e}"),
            )
        })?;
    let mut conn = state.db.acquire().await?;
    let record = store::load_by_saga(&mut conn, saga, false)
        .await?
        .ok_or_else(view::not_found)?;
    drop(conn);
    match charge {
        Some(charge) if charge.status == ChargeStatus::Succeeded => {
            captured(state, saga, payment, &charge, correlation_id).await
        }
        Some(charge) => {
            let code = charge
                .decline_code
                .clone()
                .or(charge.failure_code.clone())
                .unwrap_or_else(|| "card_declined".into());
            declined(
                state,
                &record,
                payment,
                &code,
                "The card was declined.",
                true,
                correlation_id,
            )
            .await
        }
        None => {
            declined(
                state,
                &record,
                payment,
                "not_processed",
                "The payment never reached the card network.",
                true,
                correlation_id,
            )
            .await
        }
    }
}

/// The answer for a checkout the group commit completed: confirmed and captured.
fn confirmed(record: &CheckoutRecord) -> ApiResult<(axum::http::StatusCode, PayResponse)> {
    Ok((
        axum::http::StatusCode::OK,
        response(record, OrderStatus::Confirmed, PaymentStatus::Captured)?,
    ))
}

/// The pay answer for `record` with these statuses.
fn response(
    record: &CheckoutRecord,
    status: OrderStatus,
    payment_status: PaymentStatus,
) -> ApiResult<PayResponse> {
    let currency = record.currency.parse()?;
    Ok(PayResponse {
        order_id: record.order(),
        order_number: OrderNumber::parse(&record.order_number)?,
        status,
        payment_status,
        total: with_minor_units(record.total_amount, currency),
        currency,
        cart_id: record.cart(),
    })
}

async fn answer_for(
    state: &AppState,
    checkout: CheckoutId,
) -> ApiResult<(axum::http::StatusCode, PayResponse)> {
    let mut conn = state.db.acquire().await?;
    let record = store::load(&mut conn, checkout, false)
        .await?
        .ok_or_else(view::not_found)?;
    drop(conn);
    answer(&record)
}

/// The pay answer for a checkout as stored.
fn answer(record: &CheckoutRecord) -> ApiResult<(axum::http::StatusCode, PayResponse)> {
    Ok((
        axum::http::StatusCode::OK,
        response(
            record,
            record.order_status.parse()?,
            record.payment_status.parse()?,
        )?,
    ))
}
