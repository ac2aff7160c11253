//! Checkout of a flash-sale item (seed 8.2, layer 3). The buyer shows the waiting room's
//! admission; the checkout claims one purchase token per unit from the sale's pool before it
//! touches inventory, so once the pool is empty every further buyer hears "sold out" without
//! touching it (and, while the edge's fresh cursor says so, without reaching the core). The
//! claim is written to PostgreSQL in the checkout's transaction, where a unique index keeps
//! one holder per token and the buyer's limit is counted again.

use chrono::{DateTime, Utc};
use shared_model::ModelError;
use shared_model::flash_sale::SoldOut;
use shared_model::ids::{CheckoutId, FlashSaleId, SagaId, UserId};

use super::pool::{self, ClaimOutcome, ClaimRequest, SaleKeys};
use super::sales;
use super::store::{ClaimRecord, RecordRefused, SaleRow};
use crate::checkout::lines::Wanted;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// The line of a checkout that a sale governs, with the admission that lets the buyer in.
#[derive(Debug, Clone)]
pub struct SaleLine {
    pub line: usize,
    pub sale: SaleRow,
    pub quantity: u32,
    pub admission: uuid::Uuid,
}

/// Finds the line a sale governs, if any, and checks the buyer's admission to that sale.
pub async fn admitted_line(
    state: &AppState,
    user: UserId,
    items: &[Wanted],
    admission_token: Option<&str>,
    now: DateTime<Utc>,
) -> ApiResult<Option<SaleLine>> {
    let mut found = None;
    for (line, item) in items.iter().enumerate() {
        if let Some(sale) = state
            .flash_sales
            .governing(&state.db, item.product, item.variant, now)
            .await?
        {
            if found.is_some() {
                return Err(ModelError::invalid(
                    "items",
                    "a checkout may hold one flash-sale item",
                )
                .into());
            }
            found = Some((line, sale, item.quantity));
        }
    }
    let Some((line, sale, quantity)) = found else {
        return Ok(None);
    };
    if now < sale.starts_at {
        return Err(ApiError::conflict(
            "sale_not_started",
            format!("{} goes on sale at {}", sale.product_name, sale.starts_at),
        ));
    }
    let limit = sale.settings().per_buyer_limit;
    if quantity > limit {
        return Err(ModelError::invalid(
            format!("items[{line}].quantity"),
            format!("at most {limit} per buyer in this flash sale"),
        )
        .into());
    }
    let token = admission_token.filter(|t| !t.is_empty()).ok_or_else(|| {
        ApiError::forbidden(
            "admission_required",
            "this item is on flash sale: join the waiting room for an admission first",
        )
    })?;
    let admission = state
        .flash_sales
        .key
        .verify_admission(token, sale.id(), user, now.timestamp())
        .map_err(|e| {
            ApiError::forbidden(
                "admission_invalid",
                format!("the admission is refused: {e}"),
            )
        })?;
    Ok(Some(SaleLine {
        line,
        sale,
        quantity,
        admission: admission.ticket_id,
    }))
}

/// Purchase tokens a checkout holds.
#[derive(Debug, Clone)]
pub struct Claim {
    pub sale: FlashSaleId,
    pub checkout: CheckoutId,
    pub user: UserId,
    pub tokens: Vec<i32>,
    pub admission: uuid::Uuid,
    pub per_buyer_limit: u32,
}

/// Claims the line's tokens, loading the pool first when Redis does not have it.
pub async fn claim(
    state: &AppState,
    line: &SaleLine,
    checkout: CheckoutId,
    user: UserId,
    deadline: DateTime<Utc>,
) -> ApiResult<Claim> {
    let keys = SaleKeys::new(&state.redis, line.sale.id());
    let per_buyer_limit = line.sale.settings().per_buyer_limit;
    let request = ClaimRequest {
        checkout,
        user,
        quantity: line.quantity,
        per_buyer_limit,
        admission: line.admission,
        deadline_ms: deadline.timestamp_millis(),
    };
    for first_try in [true, false] {
        match pool::claim(&state.redis, &keys, &request)
            .await
            .map_err(sales::unavailable)?
        {
            ClaimOutcome::Claimed(tokens) => {
                metrics::counter!("flash_sale_tokens_claimed_total").increment(tokens.len() as u64);
                return Ok(Claim {
                    sale: line.sale.id(),
                    checkout,
                    user,
                    tokens,
                    admission: line.admission,
                    per_buyer_limit,
                });
            }
            ClaimOutcome::Cold if first_try => sales::load_pool(state, &line.sale, false).await?,
            ClaimOutcome::Cold => break,
            ClaimOutcome::Replayed => {
                return Err(ApiError::forbidden(
                    "admission_used",
                    "this admission was already used for a checkout",
                ));
            }
            ClaimOutcome::Limit => return Err(limit_reached(per_buyer_limit)),
            // Every unit is sold or in someone's checkout. The admission is not used up, so
            // the buyer may ask again when told (a moment while the holds may lapse), instead
            // of again and again.
            ClaimOutcome::AllHeld { until_ms, last_ms } => {
                metrics::counter!("flash_sale_sold_out_answers_total").increment(1);
                let now_ms = Utc::now().timestamp_millis();
                return Err(answer(SoldOut::all_held_for(
                    user, now_ms, until_ms, last_ms,
                )));
            }
            ClaimOutcome::SoldOut => {
                metrics::counter!("flash_sale_sold_out_answers_total").increment(1);
                return Err(sold_out());
            }
        }
    }
    Err(ApiError::unavailable(
        "flash_sale_warming_up",
        "the sale is being prepared; try again in a moment",
    ))
}

impl Claim {
    /// The record of this claim, written with the checkout (`checkout::recording`).
    pub fn record(&self, saga: SagaId, expires_at: DateTime<Utc>) -> ClaimRecord {
        ClaimRecord {
            sale: self.sale,
            tokens: self.tokens.clone(),
            saga,
            checkout: self.checkout.0,
            user: self.user.get(),
            admission: self.admission,
            expires_at,
            per_buyer_limit: self.per_buyer_limit,
        }
    }

    /// Gives the tokens back after the checkout failed before it began, and lets the
    /// admission try again. A failure is only logged: the claim lapses at its deadline and the
    /// flash-sale sweep returns it.
    pub async fn give_back(&self, state: &AppState) {
        let keys = SaleKeys::new(&state.redis, self.sale);
        if let Err(err) = pool::give_back(&state.redis, &keys, self.checkout, true).await {
            tracing::warn!(error = %err, checkout = %self.checkout, "could not give flash-sale tokens back; the sweep will");
        }
    }
}

/// The answer to a claim the record refused.
pub fn refused(err: RecordRefused, per_buyer_limit: u32) -> ApiError {
    match err {
        // Redis had lost that the token was held; its holder may still lapse.
        RecordRefused::TokenHeld => answer(SoldOut::all_held(1000)),
        RecordRefused::Limit => limit_reached(per_buyer_limit),
        RecordRefused::Database(e) => e.into(),
    }
}

/// Every unit is sold: nothing will come back.
fn sold_out() -> ApiError {
    answer(SoldOut::ForGood)
}

fn answer(sold_out: SoldOut) -> ApiError {
    ApiError::Detailed {
        status: axum::http::StatusCode::CONFLICT,
        code: SoldOut::CODE,
        message: sold_out.message().into(),
        details: sold_out.details(),
    }
}

fn limit_reached(limit: u32) -> ApiError {
    ApiError::conflict(
        "buyer_limit_reached",
        format!("each buyer may buy {limit} of this flash sale"),
    )
}
