//! The waiting room's core half (seed 8.2, layer 1): the queue's count of who joined, and the
//! admission cursor advancing at the sale's rate. The edge gives buyers their signed tickets
//! itself and reports them here in batches; a buyer may also join here. The edge answers
//! status polls by comparing the ticket with the cursor, so polls never reach the core.

use std::time::Duration;

use chrono::{DateTime, Utc};
use shared_model::ModelError;
use shared_model::api::flash_sales::QueueJoined;
use shared_model::flash_sale::{AdmissionCursor, QueueTicket};
use shared_model::ids::UserId;

use super::pool::{self, Joined, KeptPlace, Pace, SaleKeys};
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
/// Once every buyer counted is admitted, those who arrived this long ago are admitted though
/// their join was never counted: the edge reports joins within a second or so, and a report
/// lost on the way must not leave its buyer waiting for ever.
const UNCOUNTED_AFTER: Duration = Duration::from_secs(10);
/// Most tickets one report may carry (the edge sends fewer).
pub const MAX_REPORTED: usize = 1_000;

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
    let key = &state.flash_sales.key;
    let ticket = QueueTicket::joined(key, sale.id(), user, now, sale.starts_at);
    let keys = SaleKeys::new(&state.redis, sale.id());
    let recorded = pool::record_joins(&state.redis, &keys, &[(user, KeptPlace::of(&ticket))])
        .await
        .map_err(sales::unavailable)?;
    let kept = match recorded.into_iter().next() {
        Some(Joined::New(kept)) => {
            metrics::counter!("flash_sale_queue_joins_total").increment(1);
            kept
        }
        // Signing is deterministic: a second join gets the very ticket the first one did.
        Some(Joined::Existing(kept)) => kept,
        Some(Joined::Signed(signed)) => return signed_before(state, sale, user, signed),
        None => {
            return Err(ApiError::Internal(anyhow::anyhow!(
                "the join script answered nothing"
            )));
        }
    };
    let ticket = QueueTicket {
        sale: sale.id(),
        user,
        ticket_id: kept.ticket_id,
        place: kept.place,
        joined_at: kept.joined_at,
    };
    let signed = key
        .sign_ticket(&ticket)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("signing a ticket: {e}")))?;
    Ok(QueueJoined {
        ticket: signed,
        place: kept.place,
        starts_at: sale.starts_at,
    })
}

/// Counts the tickets the edge gave for `sale` (each signed with the admission key, so none
/// can be made up, and each only ever says what its buyer was given). A buyer already counted
/// keeps their first place. Answers how many were new.
pub async fn record_reported(
    state: &AppState,
    sale: &SaleRow,
    tickets: &[String],
) -> ApiResult<usize> {
    if tickets.len() > MAX_REPORTED {
        return Err(ApiError::Validation(ModelError::invalid(
            "tickets",
            format!("at most {MAX_REPORTED} tickets per report"),
        )));
    }
    let key = &state.flash_sales.key;
    let joins = tickets
        .iter()
        .map(|signed| {
            let ticket = key.verify_ticket_of_sale(signed, sale.id()).map_err(|e| {
                ApiError::forbidden("ticket_invalid", format!("a reported ticket: {e}"))
            })?;
            Ok((ticket.user, KeptPlace::of(&ticket)))
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let keys = SaleKeys::new(&state.redis, sale.id());
    let recorded = pool::record_joins(&state.redis, &keys, &joins)
        .await
        .map_err(sales::unavailable)?;
    let new = recorded
        .iter()
        .filter(|joined| matches!(joined, Joined::New(_)))
        .count();
    metrics::counter!("flash_sale_queue_joins_total").increment(new as u64);
    Ok(new)
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
            uncounted_after_ms: UNCOUNTED_AFTER.as_millis() as i64,
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
        late_admitted_until_ms: admission.late_admitted_until_ms,
        last_arrival_ms: admission.last_arrival_ms,
        joined: admission.early_joiners + admission.late_joiners,
        admission_rate_per_minute: admission.pace_per_minute,
        unit_may_return_at: admission
            .unit_may_return_at_ms
            .and_then(DateTime::from_timestamp_millis),
        last_unit_may_return_at: admission
            .last_unit_may_return_at_ms
            .and_then(DateTime::from_timestamp_millis),
    })
}
