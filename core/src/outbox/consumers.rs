//! The core's own in-process consumers, and the list the relay runs when no broker is
//! configured.

use std::sync::Arc;

use shared_model::events::{EventEnvelope, EventPayload, topics};
use sqlx::PgConnection;

use super::relay::{Consumer, ConsumerError, HandleFuture};
use crate::catalog::cache;
use crate::flash_sales::settlement::TokenSettlement;
use crate::kv::Redis;
use crate::notifications::NotificationConsumer;
use crate::state::AppState;

/// Every consumer the core runs in-process.
pub fn in_process(state: &AppState) -> Vec<Arc<dyn Consumer>> {
    vec![
        Arc::new(NotificationConsumer),
        Arc::new(CatalogCacheConsumer::new(state.redis.clone())),
        Arc::new(TokenSettlement::new(
            state.redis.clone(),
            state.reservations.keys().clone(),
        )),
    ]
}

/// Invalidates the catalog cache on PRODUCT_CHANGED. The write path already invalidates after
/// its commit; this is the second chance for the invalidations it could not make while Redis
/// was unreachable (it only logs those). Invalidating twice is harmless.
pub struct CatalogCacheConsumer {
    redis: Redis,
}

impl CatalogCacheConsumer {
    pub const NAME: &'static str = "catalog-cache";

    pub fn new(redis: Redis) -> Self {
        CatalogCacheConsumer { redis }
    }
}

impl Consumer for CatalogCacheConsumer {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn topics(&self) -> &'static [&'static str] {
        &[topics::CATALOG]
    }

    fn handle<'a>(
        &'a self,
        _conn: &'a mut PgConnection,
        event: &'a EventEnvelope<EventPayload>,
    ) -> HandleFuture<'a> {
        Box::pin(async move {
            let EventPayload::ProductChanged(change) = &event.payload else {
                return Ok(());
            };
            // `invalidate_product` swallows Redis errors (right for the write path), so check
            // Redis answers first: an outage must fail this attempt and be retried.
            self.redis
                .ping()
                .await
                .map_err(|err| ConsumerError::retryable(format!("redis unavailable: {err}")))?;
            cache::invalidate_product(&self.redis, change.product_id).await;
            Ok(())
        })
    }
}
