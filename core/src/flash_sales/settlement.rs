//! Settles purchase tokens as checkouts end, from the inventory events of their sagas: stock
//! confirmed → the tokens are sold; stock released (the buyer walked away, the card was
//! declined until the hold lapsed, the checkout was compensated) → the tokens go back to the
//! pool for the next buyer in the waiting room. The record moves in the relay's transaction
//! with the event's dedupe row, so a replayed event changes nothing.

use shared_model::events::{EventEnvelope, EventPayload, EventType, topics};
use shared_model::ids::{CheckoutId, SagaId};
use sqlx::PgConnection;

use super::pool::{self, SaleKeys};
use super::store;
use crate::kv::Redis;
use crate::outbox::relay::{Consumer, ConsumerError, HandleFuture};

pub struct TokenSettlement {
    redis: Redis,
}

impl TokenSettlement {
    pub const NAME: &'static str = "flash-sale-tokens";

    pub fn new(redis: Redis) -> Self {
        TokenSettlement { redis }
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
        Box::pin(self.settle(conn, std::slice::from_ref(event)))
    }

    fn handle_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a EventEnvelope<EventPayload>],
    ) -> HandleFuture<'a> {
        Box::pin(self.settle(conn, events))
    }
}

/// How an inventory event settles its saga's tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Settlement {
    Sold,
    Returned,
}

impl TokenSettlement {
    /// Settles the sagas of `events` in order, one statement per run of events that settle the
    /// same way (a saga's tokens are settled once: whichever event comes first decides).
    async fn settle<E: std::borrow::Borrow<EventEnvelope<EventPayload>>>(
        &self,
        conn: &mut PgConnection,
        events: &[E],
    ) -> Result<(), ConsumerError> {
        let mut run: Option<(Settlement, Vec<SagaId>)> = None;
        for event in events {
            let event = event.borrow();
            let how = match &event.payload {
                EventPayload::InventoryConfirmed(_) => Settlement::Sold,
                EventPayload::InventoryReleased(_) => Settlement::Returned,
                _ => continue,
            };
            let Some(saga) = event.saga_id else {
                continue;
            };
            match &mut run {
                Some((same, sagas)) if *same == how => sagas.push(saga),
                _ => {
                    if let Some((done, sagas)) = run.take() {
                        self.settle_run(conn, done, &sagas).await?;
                    }
                    run = Some((how, vec![saga]));
                }
            }
        }
        if let Some((how, sagas)) = run {
            self.settle_run(conn, how, &sagas).await?;
        }
        Ok(())
    }

    async fn settle_run(
        &self,
        conn: &mut PgConnection,
        how: Settlement,
        sagas: &[SagaId],
    ) -> Result<(), ConsumerError> {
        let retry = |err: sqlx::Error| ConsumerError::retryable(err.to_string());
        match how {
            Settlement::Sold => {
                for (sale, checkout) in store::settle_sold(conn, sagas).await.map_err(retry)? {
                    // Only tidies Redis: the sweep drops a sold claim it finds later.
                    let keys = SaleKeys::new(&self.redis, sale);
                    if let Err(err) = pool::sold(&self.redis, &keys, CheckoutId(checkout)).await {
                        tracing::warn!(error = %err, %checkout, "could not drop a sold claim from Redis");
                    }
                }
            }
            Settlement::Returned => {
                for (sale, checkout) in store::settle_returned(conn, sagas).await.map_err(retry)? {
                    // The tokens must reach the pool, or nobody can buy them: a Redis failure
                    // rolls the record back and the events are delivered again.
                    let keys = SaleKeys::new(&self.redis, sale);
                    pool::give_back(&self.redis, &keys, CheckoutId(checkout), false)
                        .await
                        .map_err(|e| ConsumerError::retryable(format!("redis unavailable: {e}")))?;
                    metrics::counter!("flash_sale_tokens_returned_total").increment(1);
                }
            }
        }
        Ok(())
    }
}
