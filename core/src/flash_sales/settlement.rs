//! Settles purchase tokens as checkouts end, from the inventory events of their sagas: stock
//! confirmed → the tokens are sold; stock released (the buyer walked away, the card was
//! declined until the hold lapsed, the checkout was compensated) → the tokens go back to the
//! pool for the next buyer in the waiting room. The record moves in the relay's transaction
//! with the event's dedupe row, so a replayed event changes nothing.
//!
//! A returned token goes back only after its saga's units are back in the Redis stock
//! counters. The release commits in PostgreSQL first and its Redis hold is returned after,
//! so the event can arrive in between (or the hold's return may have failed): a token in the
//! pool while its unit is still held in Redis sends the next buyer away "out of stock" with a
//! token in hand. Returning the hold is idempotent, so the checkout's own return finds it done.

use shared_model::events::{EventEnvelope, EventPayload, EventType, topics};
use shared_model::ids::{CheckoutId, SagaId};
use sqlx::PgConnection;

use super::pool::{self, SaleKeys};
use super::store;
use crate::inventory::counters::{self, StockKeys};
use crate::kv::Redis;
use crate::outbox::relay::{Consumer, ConsumerError, HandleFuture};

pub struct TokenSettlement {
    redis: Redis,
    stock: StockKeys,
}

impl TokenSettlement {
    pub const NAME: &'static str = "flash-sale-tokens";

    /// `stock`: the keys of the stock counters the checkout's reservations hold units in.
    pub fn new(redis: Redis, stock: StockKeys) -> Self {
        TokenSettlement { redis, stock }
    }
}

impl Consumer for TokenSettlement {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn topics(&self) -> &'static [&'static str] {
        &[topics::INVENTORY]
    }

    fn handles(&self, event_type: &str) -> bool {
        event_type == EventType::InventoryConfirmed.as_str()
            || event_type == EventType::InventoryReleased.as_str()
    }

    fn handle<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a EventEnvelope<EventPayload>,
    ) -> HandleFuture<'a> {
        Box::pin(async move { self.settle(conn, &[event]).await })
    }

    fn handle_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a EventEnvelope<EventPayload>],
    ) -> HandleFuture<'a> {
        Box::pin(self.settle(conn, events))
    }
}

impl TokenSettlement {
    /// Settles the sagas of `events`: one statement for those whose stock was confirmed, then
    /// one for those whose stock was released. A saga's tokens are settled once, and a saga
    /// whose stock was released is never confirmed afterwards, so the order is the events'.
    async fn settle(
        &self,
        conn: &mut PgConnection,
        events: &[&EventEnvelope<EventPayload>],
    ) -> Result<(), ConsumerError> {
        let sagas = |confirmed: bool| -> Vec<SagaId> {
            events
                .iter()
                .filter(|event| match &event.payload {
                    EventPayload::InventoryConfirmed(_) => confirmed,
                    EventPayload::InventoryReleased(_) => !confirmed,
                    _ => false,
                })
                .filter_map(|event| event.saga_id)
                .collect()
        };
        let retry = |err: sqlx::Error| ConsumerError::retryable(err.to_string());
        let sold = sagas(true);
        if !sold.is_empty() {
            for claim in store::settle_sold(conn, &sold).await.map_err(retry)? {
                // Only tidies Redis: the sweep drops a sold claim it finds later.
                let keys = SaleKeys::new(&self.redis, claim.sale);
                if let Err(err) = pool::sold(&self.redis, &keys, CheckoutId(claim.checkout)).await {
                    tracing::warn!(error = %err, checkout = %claim.checkout, "could not drop a sold claim from Redis");
                }
            }
        }
        let returned = sagas(false);
        if !returned.is_empty() {
            let unavailable =
                |e: redis::RedisError| ConsumerError::retryable(format!("redis unavailable: {e}"));
            for claim in store::settle_returned(conn, &returned)
                .await
                .map_err(retry)?
            {
                // The units first, then the tokens (see above). The tokens must reach the
                // pool, or nobody can buy them: a Redis failure rolls the record back and the
                // events are delivered again.
                counters::release(&self.stock, claim.saga)
                    .await
                    .map_err(unavailable)?;
                let keys = SaleKeys::new(&self.redis, claim.sale);
                pool::give_back(&self.redis, &keys, CheckoutId(claim.checkout), false)
                    .await
                    .map_err(unavailable)?;
                metrics::counter!("flash_sale_tokens_returned_total").increment(1);
            }
        }
        Ok(())
    }
}
