//! Sales as the admin and the public see them: create, change, cancel, pre-warm, show.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use shared_model::ModelError;
use shared_model::api::flash_sales::{
    CreateFlashSale, FlashSaleStatus, FlashSaleView, SaleSettings, UpdateFlashSale,
};
use shared_model::flash_sale::AdmissionKey;
use shared_model::ids::{FlashSaleId, InventoryId, ProductId, VariantId};
use tokio::sync::RwLock;

use super::pool::{self, SaleKeys};
use super::store::{self, SaleRow};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Checkout applies a sale's rules to its item from this long before the start: the pool is
/// loaded by then, and the units are kept for the waiting room.
pub const PREWARM_AHEAD: chrono::Duration = chrono::Duration::minutes(30);
/// How stale the in-process list of current sales may be.
const CURRENT_FRESH_FOR: Duration = Duration::from_secs(1);

/// The admission key and a short-lived copy of the current sales, shared by every request.
pub struct FlashSales {
    pub key: AdmissionKey,
    current: RwLock<Option<(Instant, Arc<Vec<SaleRow>>)>>,
}

impl FlashSales {
    pub fn new(key: AdmissionKey) -> Self {
        FlashSales {
            key,
            current: RwLock::new(None),
        }
    }

    /// Sales not cancelled and not over, at most a second old (another process's change
    /// shows within that second; this process's at once).
    pub async fn current(&self, db: &sqlx::PgPool) -> sqlx::Result<Arc<Vec<SaleRow>>> {
        if let Some((at, sales)) = self.current.read().await.as_ref()
            && at.elapsed() < CURRENT_FRESH_FOR
        {
            return Ok(sales.clone());
        }
        let sales = Arc::new(store::current(db).await?);
        *self.current.write().await = Some((Instant::now(), sales.clone()));
        Ok(sales)
    }

    pub async fn forget(&self) {
        *self.current.write().await = None;
    }

    /// The sale whose rules apply to buying this item now, if any.
    pub async fn governing(
        &self,
        db: &sqlx::PgPool,
        product: ProductId,
        variant: Option<VariantId>,
        now: DateTime<Utc>,
    ) -> sqlx::Result<Option<SaleRow>> {
        Ok(self
            .current(db)
            .await?
            .iter()
            .find(|s| {
                s.product_id == product.get()
                    && s.variant_id == variant.map(VariantId::get)
                    && s.starts_at - PREWARM_AHEAD <= now
                    && !s.ended(now)
            })
            .cloned())
    }
}

pub async fn create(state: &AppState, request: &CreateFlashSale) -> ApiResult<FlashSaleView> {
    let settings = SaleSettings::from_create(request)?;
    let product = request.product_id.get();
    let variant = request.variant_id.map(VariantId::get);
    let item = store::sale_item(&state.db, product, variant)
        .await?
        .ok_or_else(|| ApiError::not_found("product_not_found", "no such product"))?;
    if item.status != "ACTIVE" {
        return Err(ApiError::unprocessable(
            "product_unavailable",
            "only a product on sale can go on flash sale",
        ));
    }
    if !item.variant_ok || (item.has_variants && variant.is_none()) {
        return Err(
            ModelError::invalid("variantId", "must name an active variant of the product").into(),
        );
    }
    if settings.sale_price > item.regular_price {
        return Err(ModelError::invalid(
            "salePrice",
            format!("must not exceed the regular price {}", item.regular_price),
        )
        .into());
    }
    let id = store::insert(&state.db, product, variant, &settings).await?;
    state.flash_sales.forget().await;
    let row = load(state, id).await?;
    if row.starts_at - PREWARM_AHEAD <= Utc::now() {
        prewarm(state, &row, true).await?;
    }
    view(state, &load(state, id).await?, Utc::now()).await
}

pub async fn update(
    state: &AppState,
    id: FlashSaleId,
    request: &UpdateFlashSale,
) -> ApiResult<FlashSaleView> {
    let row = load(state, id).await?;
    let now = Utc::now();
    if row.cancelled() {
        return Err(ApiError::conflict(
            "sale_cancelled",
            "the sale was cancelled",
        ));
    }
    let started = row.starts_at <= now;
    if started && (request.units.is_some() || request.starts_at.is_some()) {
        return Err(ApiError::conflict(
            "sale_started",
            "units and the start cannot change once the sale started",
        ));
    }
    let settings = row.settings().updated(request)?;
    if settings.sale_price > row.regular_price {
        return Err(ModelError::invalid(
            "salePrice",
            format!("must not exceed the regular price {}", row.regular_price),
        )
        .into());
    }
    store::update(&state.db, id, &settings).await?;
    state.flash_sales.forget().await;
    let row = load(state, id).await?;
    // Before the start no token is claimed, so the pool can be laid out afresh.
    if !started && row.starts_at - PREWARM_AHEAD <= now {
        prewarm(state, &row, true).await?;
    }
    view(state, &row, now).await
}

pub async fn cancel(state: &AppState, id: FlashSaleId) -> ApiResult<FlashSaleView> {
    load(state, id).await?;
    store::cancel(&state.db, id).await?;
    state.flash_sales.forget().await;
    view(state, &load(state, id).await?, Utc::now()).await
}

/// Pre-warms on demand: the pool (laid out afresh before the start, repaired after it) and the
/// item's stock counters.
pub async fn prewarm_now(state: &AppState, id: FlashSaleId) -> ApiResult<FlashSaleView> {
    let row = load(state, id).await?;
    if row.cancelled() || row.ended(Utc::now()) {
        return Err(ApiError::conflict(
            "sale_closed",
            "the sale is cancelled or over",
        ));
    }
    prewarm(state, &row, row.starts_at > Utc::now()).await?;
    view(state, &load(state, id).await?, Utc::now()).await
}

/// A sale for the reads its buyers make tens of thousands of times a minute (joining the
/// queue, the admission cursor, the public view): a current sale from the in-process copy
/// checkout uses (at most a second old), any other (cancelled, over, unknown) from the record.
pub async fn load_for_buyers(state: &AppState, id: FlashSaleId) -> ApiResult<SaleRow> {
    let current = state.flash_sales.current(&state.db).await?;
    match current.iter().find(|sale| sale.id() == id) {
        Some(sale) => Ok(sale.clone()),
        None => load(state, id).await,
    }
}

pub async fn load(state: &AppState, id: FlashSaleId) -> ApiResult<SaleRow> {
    store::get(&state.db, id)
        .await?
        .ok_or_else(|| ApiError::not_found("flash_sale_not_found", "no such flash sale"))
}

/// Loads the pool into Redis (replacing a loaded one only when `force`) and the item's stock
/// counters, and records when.
pub async fn prewarm(state: &AppState, row: &SaleRow, force: bool) -> ApiResult<()> {
    load_pool(state, row, force).await?;
    let rows: Vec<InventoryId> = store::stock_rows(&state.db, row.product_id, row.variant_id)
        .await?
        .into_iter()
        .map(InventoryId::new)
        .collect();
    state.reservations.preload_counters(&rows).await?;
    store::mark_prewarmed(&state.db, row.id()).await?;
    Ok(())
}

/// Loads the pool from the record unless it is loaded, one process at a time.
pub async fn load_pool(state: &AppState, row: &SaleRow, force: bool) -> ApiResult<()> {
    let keys = SaleKeys::new(&state.redis, row.id());
    let lock = state.redis.key(&format!("fs:{{{}}}:loading", row.id()));
    let mut conn = state.redis.connection().await.map_err(unavailable)?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let took: Option<String> = redis::cmd("SET")
            .arg(&lock)
            .arg("1")
            .arg("NX")
            .arg("PX")
            .arg(10_000)
            .query_async(&mut conn)
            .await
            .map_err(unavailable)?;
        if took.is_some() {
            break;
        }
        // Another process is loading it: wait for it rather than load twice.
        if !force
            && pool::free_tokens(&state.redis, &keys)
                .await
                .map_err(unavailable)?
                .is_some()
        {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(ApiError::unavailable(
                "flash_sale_warming_up",
                "the sale is being prepared; try again in a moment",
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let loaded = async {
        let (held, used) = store::pool_record(&state.db, row.id()).await?;
        pool::rebuild(
            &state.redis,
            &keys,
            row.settings().units,
            &held,
            &used,
            force,
        )
        .await
        .map_err(unavailable)?;
        Ok::<(), ApiError>(())
    }
    .await;
    let _: redis::RedisResult<()> = redis::cmd("DEL").arg(&lock).query_async(&mut conn).await;
    loaded
}

pub async fn view(state: &AppState, row: &SaleRow, now: DateTime<Utc>) -> ApiResult<FlashSaleView> {
    let (sold, claimed) = store::token_counts(&state.db, row.id()).await?;
    let units = row.settings().units;
    let recorded_left = (i64::from(units) - sold - claimed).max(0) as u32;
    // Redis knows of claims the record has not committed yet; without it, the record will do.
    let free = pool::free_tokens(&state.redis, &SaleKeys::new(&state.redis, row.id()))
        .await
        .ok()
        .flatten();
    let units_left = free.unwrap_or(recorded_left);
    let status = if row.cancelled() {
        FlashSaleStatus::Cancelled
    } else if row.ended(now) {
        FlashSaleStatus::Ended
    } else if row.starts_at > now {
        FlashSaleStatus::Upcoming
    } else if units_left == 0 {
        FlashSaleStatus::SoldOut
    } else {
        FlashSaleStatus::Live
    };
    Ok(FlashSaleView {
        flash_sale_id: row.id(),
        product_id: ProductId::new(row.product_id),
        variant_id: row.variant_id.map(VariantId::new),
        product_name: row.product_name.clone(),
        units,
        units_left,
        units_sold: sold.max(0) as u32,
        sale_price: row.sale_price,
        regular_price: row.regular_price,
        currency: row.currency.clone(),
        starts_at: row.starts_at,
        ends_at: row.ends_at,
        per_buyer_limit: row.settings().per_buyer_limit,
        admission_rate_per_minute: row.settings().admission_rate_per_minute,
        max_active_buyers: row.settings().max_active_buyers,
        purchase_token_ttl_seconds: row.settings().token_ttl_seconds,
        status,
        sold_out: units_left == 0 && row.starts_at <= now,
        prewarmed_at: row.prewarmed_at,
    })
}

pub fn unavailable(err: redis::RedisError) -> ApiError {
    tracing::warn!(error = %err, "flash sale state unreachable in Redis");
    ApiError::unavailable(
        "flash_sale_unavailable",
        "the flash sale cannot be served right now; try again shortly",
    )
}
