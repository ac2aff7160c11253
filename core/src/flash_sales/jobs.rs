//! The flash-sale job: pre-warms each sale from 30 minutes before its start (and again whenever
//! Redis has lost its pool), and repairs claims whose checkout never reached PostgreSQL (a
//! crash between the claim and the checkout's commit) once their deadline has passed.

use chrono::Utc;
use shared_model::ids::CheckoutId;

use super::pool::{self, SaleKeys};
use super::sales::{self, PREWARM_AHEAD};
use super::store;
use crate::error::ApiResult;
use crate::state::AppState;

/// A claim this long past its deadline without a record never became a checkout.
const CLAIM_GRACE_MS: i64 = 30_000;
const SWEEP_BATCH: isize = 200;

/// What one run did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct FlashSaleReport {
    pub prewarmed: usize,
    pub claims_returned: usize,
    pub claims_dropped: usize,
}

pub async fn run_once(state: &AppState) -> ApiResult<FlashSaleReport> {
    let mut report = FlashSaleReport::default();
    let now = Utc::now();
    for sale in store::current(&state.db).await?.iter() {
        if sale.starts_at - PREWARM_AHEAD > now {
            continue;
        }
        let keys = SaleKeys::new(&state.redis, sale.id());
        let loaded = pool::free_tokens(&state.redis, &keys)
            .await
            .map_err(sales::unavailable)?
            .is_some();
        if !loaded || sale.prewarmed_at.is_none() {
            sales::prewarm(state, sale, false).await?;
            report.prewarmed += 1;
        }
        let overdue = pool::overdue_claims(
            &state.redis,
            &keys,
            now.timestamp_millis() - CLAIM_GRACE_MS,
            SWEEP_BATCH,
        )
        .await
        .map_err(sales::unavailable)?;
        for checkout in overdue {
            match store::claim_status(&state.db, checkout.0).await?.as_deref() {
                // Never recorded, or ended without a sale: the tokens go back.
                None | Some("RETURNED") => {
                    pool::give_back(&state.redis, &keys, CheckoutId(checkout.0), false)
                        .await
                        .map_err(sales::unavailable)?;
                    report.claims_returned += 1;
                }
                Some("SOLD") => {
                    pool::sold(&state.redis, &keys, checkout)
                        .await
                        .map_err(sales::unavailable)?;
                    report.claims_dropped += 1;
                }
                // Still running: its checkout's own expiry settles it.
                _ => {}
            }
        }
    }
    Ok(report)
}

pub fn spawn(state: AppState) {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(state.config.flash_sale_interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            match run_once(&state).await {
                Ok(report) if report != FlashSaleReport::default() => {
                    tracing::info!(?report, "flash-sale job");
                }
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "flash-sale job failed"),
            }
        }
    });
}
