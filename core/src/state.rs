//! The application context every handler shares (realworld-axum-sqlx's `ApiContext`).

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;

use crate::auth::TokenKeys;
use crate::catalog::listing_index_store::SharedListingIndex;
use crate::checkout::completion::Completer;
use crate::config::Config;
use crate::flash_sales::FlashSales;
use crate::inventory::reservations::Reservations;
use crate::kv::Redis;
use crate::payments::GatewayClient;

#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub db: PgPool,
    pub redis: Redis,
    pub keys: Arc<TokenKeys>,
    pub metrics: PrometheusHandle,
    /// This process's in-memory listing index (see `catalog::listing_index`).
    pub listing_index: Arc<SharedListingIndex>,
    /// Stock reservations: Redis counters in front of PostgreSQL's record.
    pub reservations: Arc<Reservations>,
    pub gateway: GatewayClient,
    /// Group commit for paid checkouts (see `checkout::completion`).
    pub completer: Completer,
    /// The admission key and the current flash sales.
    pub flash_sales: Arc<FlashSales>,
}
