//! Group commit for new checkouts. Every initiate ends in the same statement: the PENDING
//! order, its saga and its first events. Concurrent checkouts hand theirs to one task that
//! writes everything waiting in one multi-row statement, so a busy sale pays one round trip,
//! one commit and one set-up of each table's constraints and triggers per batch instead of
//! per buyer. The batch grows with the load and adds no delay when there is none.
//!
//! A batch is all or nothing; one that fails is handed back, and each caller writes its own
//! checkout alone, so one checkout's failure is its own answer and never another's.

use std::collections::HashMap;

use shared_model::ids::{OrderId, SagaId};
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use super::store::{self, NewCheckout};
use crate::error::ApiError;

/// Most checkouts written together: bounds one statement's size and lock time.
const MAX_BATCH: usize = 256;
/// Checkouts waiting for the task before callers wait to hand theirs over.
const QUEUE: usize = 4096;

/// The order written, or the checkout back to be written alone.
type Reply = oneshot::Sender<Result<OrderId, NewCheckout>>;

#[derive(Clone)]
pub struct Recorder {
    db: PgPool,
    queue: mpsc::Sender<(NewCheckout, Reply)>,
}

impl Recorder {
    /// Starts the task; it stops when every handle is dropped.
    pub fn spawn(db: PgPool) -> Self {
        let (queue, mut incoming) = mpsc::channel::<(NewCheckout, Reply)>(QUEUE);
        let task_db = db.clone();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
                metrics::histogram!("checkout_record_batch_size").record(batch.len() as f64);
                let checkouts: Vec<&NewCheckout> = batch.iter().map(|(c, _)| c).collect();
                let written: Option<HashMap<SagaId, OrderId>> =
                    match store::record_new(&task_db, &checkouts).await {
                        Ok(created) => Some(created.into_iter().collect()),
                        Err(err) => {
                            tracing::warn!(error = %err, checkouts = checkouts.len(),
                                "recording new checkouts together failed; writing each alone");
                            None
                        }
                    };
                for (checkout, reply) in batch.drain(..) {
                    let answer = written
                        .as_ref()
                        .and_then(|w| w.get(&checkout.saga.saga).copied())
                        .ok_or(checkout);
                    let _ = reply.send(answer);
                }
            }
        });
        Recorder { db, queue }
    }

    /// Records a checkout whose stock is reserved, with others when others are waiting;
    /// answers its order.
    pub async fn record(&self, checkout: NewCheckout) -> Result<OrderId, ApiError> {
        let (reply, answer) = oneshot::channel();
        let alone = match self.queue.send((checkout, reply)).await {
            Err(mpsc::error::SendError((checkout, _))) => checkout,
            Ok(()) => match answer.await {
                Ok(Ok(order)) => return Ok(order),
                Ok(Err(checkout)) => checkout,
                Err(_) => {
                    return Err(ApiError::Internal(anyhow::anyhow!(
                        "the checkout recorder stopped"
                    )));
                }
            },
        };
        let saga = alone.saga.saga;
        store::record_new(&self.db, &[&alone])
            .await?
            .into_iter()
            .find(|(s, _)| *s == saga)
            .map(|(_, order)| order)
            .ok_or_else(|| ApiError::Internal(anyhow::anyhow!("checkout {saga} was not recorded")))
    }
}
