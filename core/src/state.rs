//! The application context every handler shares (realworld-axum-sqlx's `ApiContext`).

use std::sync::Arc;

use metrics_exporter_prometheus::PrometheusHandle;
use sqlx::PgPool;

use crate::auth::TokenKeys;
use crate::catalog::listing_index_store::SharedListingIndex;
use crate::checkout::completion::Completer;
use crate::checkout::opening::Opener;
use crate::checkout::recording::Recorder;
use crate::config::Config;
use crate::flash_sales::FlashSales;
use crate::idempotency::IdempotencyKeys;
use crate::inventory::reservations::Reservations;
use crate::kv::Redis;
use crate::payments::GatewayClient;

/// Cloned for every request and every middleware, so it is one shared pointer: cloning the
/// fields themselves (the Redis client copies its connection settings) showed up in profiles.
#[derive(Clone)]
pub struct AppState(Arc<Services>);

impl AppState {
    pub fn new(services: Services) -> Self {
        AppState(Arc::new(services))
    }

    /// The services to change (tests swap one, then build a new router): copied first when
    /// shared, so a router already built keeps the state it was built with.
    pub fn services_mut(&mut self) -> &mut Services {
        Arc::make_mut(&mut self.0)
    }
}

impl std::ops::Deref for AppState {
    type Target = Services;

    fn deref(&self) -> &Services {
        &self.0
    }
}

#[derive(Clone)]
pub struct Services {
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
    /// Group commit for new checkouts (see `checkout::recording`).
    pub recorder: Recorder,
    /// Group commit for pay requests' attempts (see `checkout::opening`).
    pub opener: Opener,
    /// Group commit for idempotency keys' claims and stored responses (see
    /// `idempotency::batching`).
    pub idempotency_keys: IdempotencyKeys,
    /// The admission key and the current flash sales.
    pub flash_sales: Arc<FlashSales>,
}
