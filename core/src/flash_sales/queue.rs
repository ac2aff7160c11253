//! The waiting room's core half (seed 8.2, layer 1): a buyer joins a sale's queue once and is
//! given a signed ticket; the admission cursor advances at the sale's rate. The edge answers
//! status polls by comparing the ticket with the cursor, so polls never reach the core.

use std::time::Duration;

use chrono::{DateTime, Utc};
use rand::Rng;
use shared_model::api::flash_sales::QueueJoined;
use shared_model::flash_sale::{AdmissionCursor, LOTTERY_SPAN, QueueTicket};
use shared_model::ids::UserId;

use super::pool::{self, Joined, Pace, SaleKeys};
use super::sales;
use super::store::SaleRow;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// How long an admitted buyer counts against the sale's `max_active_buyers` without taking a
/// purchase token. Short, because the tokens, not this count, keep the sale right: it only
/// paces admission to what checkouts take, and a buyer who walked away must not hold the
/// queue up for long. Long enough for an admitted buyer's next poll (every few seconds near
/// the front) and their checkout to reach the core.
const ACTIVE_FOR: Duration = Duration::from_secs(20);

/// Joins the buyer to the sale's queue, or answers the ticket they already have.
pub async fn join(
    state: &AppState,
    sale: &SaleRow,
    user: UserId,
    now: DateTime<Utc>,
) -> ApiResult<QueueJoined> {
    if sale.cancelled() || sale.ended(now) {
        return Err(ApiError::conflict(
            "sale_closed",
            "the sale is cancelled or over",
        ));
    }
    let keys = SaleKeys::new(&state.redis, sale.id());
    let lottery = rand::thread_rng().gen_range(0..LOTTERY_SPAN);
    let joined = pool::join(
        &state.redis,
        &keys,
        user,
        uuid::Uuid::new_v4(),
        lottery,
        now < sale.starts_at,
        now.timestamp(),
    )
    .await
    .map_err(sales::unavailable)?;
    let kept = match joined {
        Joined::New(kept) => {
            metrics::counter!("flash_sale_queue_joins_total").increment(1);
            kept
        }
        // Signing is deterministic: a second join gets the very ticket the first one did.
        Joined::Existing(kept) => kept,
        Joined::Signed(signed) => return signed_before(state, sale, user, signed),
    };
    let ticket = QueueTicket {
        sale: sale.id(),
        user,
        ticket_id: kept.ticket_id,
        place: kept.place,
        joined_at: kept.joined_at,
    };
    let signed = state
        .flash_sales
        .key
        .sign_ticket(&ticket)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("signing a ticket: {e}")))?;
    Ok(QueueJoined {
        ticket: signed,
        place: kept.place,
        starts_at: sale.starts_at,
    })
}

/// The ticket of a buyer who joined while an earlier core, which kept signed tickets, served
/// the sale; empty while that core was signing it.
fn signed_before(
    state: &AppState,
    sale: &SaleRow,
    user: UserId,
    signed: String,
) -> ApiResult<QueueJoined> {
    if signed.is_empty() {
        return Err(ApiError::conflict(
            "join_in_progress",
            "this buyer's first join is still being processed; try again",
        ));
    }
    let ticket = state
        .flash_sales
        .key
        .verify_ticket(&signed, sale.id(), user)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("a stored ticket: {e}")))?;
    Ok(QueueJoined {
        ticket: signed,
        place: ticket.place,
        starts_at: sale.starts_at,
    })
}

/// The admission cursor, advanced to `now`.
pub async fn cursor(
    state: &AppState,
    sale: &SaleRow,
    now: DateTime<Utc>,
) -> ApiResult<AdmissionCursor> {
    let keys = SaleKeys::new(&state.redis, sale.id());
    let closed = sale.cancelled() || sale.ended(now);
    let settings = sale.settings();
    let admission = pool::advance_admission(
        &state.redis,
        &keys,
        now.timestamp_millis(),
        sale.starts_at.timestamp_millis(),
        Pace {
            rate_per_minute: settings.admission_rate_per_minute,
            max_active: settings.max_active_buyers,
            active_for_ms: ACTIVE_FOR.as_millis() as i64,
        },
    )
    .await
    .map_err(sales::unavailable)?;
    Ok(AdmissionCursor {
        flash_sale_id: sale.id(),
        starts_at: sale.starts_at,
        started: now >= sale.starts_at,
        sold_out: admission.sold_out,
        closed,
        admitted: admission.admitted,
        early_joiners: admission.early_joiners,
        early_threshold: admission.early_threshold,
        late_admitted: admission.admitted.saturating_sub(admission.early_joiners),
        joined: admission.early_joiners + admission.late_joiners,
        admission_rate_per_minute: admission.pace_per_minute,
        unit_may_return_at: admission
            .unit_may_return_at_ms
            .and_then(DateTime::from_timestamp_millis),
    })
}
