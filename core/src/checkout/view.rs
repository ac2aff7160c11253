//! `GET /api/checkout/{id}`: where a checkout stands, with its countdown.

use chrono::{DateTime, Utc};
use shared_model::api::checkout::{CheckoutLine, CheckoutView, PaymentMethod, PriceChangeNotice};
use shared_model::ids::{CheckoutId, OrderId};
use shared_model::money::with_minor_units;
use shared_model::order::{CheckoutStatus, OrderNumber, PaymentStatus, SagaStep};
use shared_model::pricing::PriceBreakdown;

use super::store::{self, CheckoutRecord, PaymentRow};
use crate::auth::CurrentUser;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Another buyer's checkout is "not found", as if it did not exist.
pub fn not_found() -> ApiError {
    ApiError::not_found("checkout_not_found", "no such checkout")
}

pub async fn load(
    state: &AppState,
    user: CurrentUser,
    checkout: CheckoutId,
) -> ApiResult<CheckoutView> {
    let mut conn = state.db.acquire().await?;
    let record = store::load(&mut conn, checkout, false)
        .await?
        .filter(|r| r.user() == user.user_id)
        .ok_or_else(not_found)?;
    let lines = store::lines(&mut conn, record.order()).await?;
    let payment = store::last_payment(&mut conn, record.order()).await?;
    let price_changes: Vec<PriceChangeNotice> = record
        .payload
        .0
        .get("priceChanges")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let currency: shared_model::Currency = record.currency.parse()?;
    let money = |amount| with_minor_units(amount, currency);
    let lines = lines
        .into_iter()
        .map(|l| shared_model::api::checkout::CheckoutLine {
            unit_price: money(l.unit_price),
            line_total: money(l.line_total),
            ..l
        })
        .collect();
    Ok(CheckoutView {
        checkout_id: record.checkout(),
        status: status_of(&record, payment.as_ref()),
        order_id: record.order(),
        order_number: OrderNumber::parse(&record.order_number)?,
        items: lines,
        subtotal: money(record.subtotal),
        discount: money(record.discount_amount),
        shipping: money(record.shipping_amount),
        tax: money(record.tax_amount),
        total: money(record.total_amount),
        currency,
        expires_at: record.expires_at,
        seconds_remaining: (record.expires_at - Utc::now()).num_seconds().max(0),
        available_payment_methods: PaymentMethod::ALL.to_vec(),
        price_changes,
        last_payment: payment.as_ref().map(PaymentRow::attempt).transpose()?,
    })
}

/// The view of a checkout `initiate` has just reserved, built from what it has in hand: the
/// same answer [`load`] gives for it.
pub fn just_reserved(
    checkout: CheckoutId,
    order: OrderId,
    order_number: OrderNumber,
    items: Vec<CheckoutLine>,
    breakdown: &PriceBreakdown,
    expires_at: DateTime<Utc>,
    price_changes: Vec<PriceChangeNotice>,
) -> CheckoutView {
    let currency = breakdown.currency;
    let money = |amount| with_minor_units(amount, currency);
    CheckoutView {
        checkout_id: checkout,
        status: CheckoutStatus::Reserved,
        order_id: order,
        order_number,
        items: items
            .into_iter()
            .map(|l| CheckoutLine {
                unit_price: money(l.unit_price),
                line_total: money(l.line_total),
                ..l
            })
            .collect(),
        subtotal: money(breakdown.subtotal),
        discount: money(breakdown.discount),
        shipping: money(breakdown.shipping),
        tax: money(breakdown.tax),
        total: money(breakdown.total),
        currency,
        expires_at,
        seconds_remaining: (expires_at - Utc::now()).num_seconds().max(0),
        available_payment_methods: PaymentMethod::ALL.to_vec(),
        price_changes,
        last_payment: None,
    }
}

/// The checkout's state (seed 7.1) as its saga, order and last payment tell it.
pub fn status_of(record: &CheckoutRecord, payment: Option<&PaymentRow>) -> CheckoutStatus {
    let payment_status = payment.and_then(|p| p.status.parse::<PaymentStatus>().ok());
    match record.saga_status.as_str() {
        "COMPLETED" => CheckoutStatus::Confirmed,
        "COMPENSATED" | "FAILED" | "COMPENSATING" => CheckoutStatus::Released,
        _ if record.completed(SagaStep::ProcessPayment) => CheckoutStatus::Paying,
        _ => match payment_status {
            Some(PaymentStatus::Initiated) => CheckoutStatus::Paying,
            Some(PaymentStatus::Pending) => CheckoutStatus::Timeout,
            Some(PaymentStatus::Failed) => CheckoutStatus::PaymentFailed,
            _ => CheckoutStatus::Reserved,
        },
    }
}
