//! Group commit for pay requests' first step. A pay request starts by recording its attempt
//! (the saga locked, the payment row, PROCESS_PAYMENT started) before the gateway is asked;
//! concurrent requests hand theirs to one task that opens everything waiting in one
//! statement, so a busy sale pays one round trip and one commit per batch instead of per
//! buyer. The batch grows with the load and adds no delay when there is none.
//!
//! A batch is all or nothing. One that fails (a unique violation when an attempt of the same
//! checkout raced it, or any error) is handed back, and each caller opens its own attempt
//! alone, so one checkout's trouble is never another's answer. A checkout asked for twice in
//! one batch is handed back the second time.

use std::collections::{HashMap, HashSet};

use shared_model::ids::CheckoutId;
use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use super::store::{self, OpenedPayment, PayRequestFor};
use crate::error::ApiError;

/// Most attempts opened together: bounds one statement's size and lock time.
const MAX_BATCH: usize = 256;
/// Requests waiting for the task before callers wait to hand theirs over.
const QUEUE: usize = 4096;

/// What the batch made of a request: the attempt opened, `None` for "not the common case"
/// (take the careful path), or the request back to be opened alone.
type Reply = oneshot::Sender<Result<Option<OpenedPayment>, PayRequestFor>>;

#[derive(Clone)]
pub struct Opener {
    db: PgPool,
    queue: mpsc::Sender<(PayRequestFor, Reply)>,
}

impl Opener {
    /// Starts the task; it stops when every handle is dropped.
    pub fn spawn(db: PgPool) -> Self {
        let (queue, mut incoming) = mpsc::channel::<(PayRequestFor, Reply)>(QUEUE);
        let task_db = db.clone();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
                metrics::histogram!("checkout_open_batch_size").record(batch.len() as f64);
                let mut seen = HashSet::new();
                let (unique, again): (Vec<_>, Vec<_>) = batch
                    .drain(..)
                    .partition(|(request, _)| seen.insert(request.checkout));
                for (request, reply) in again {
                    let _ = reply.send(Err(request));
                }
                let requests: Vec<&PayRequestFor> = unique.iter().map(|(r, _)| r).collect();
                let opened = open_together(&task_db, &requests).await;
                let mut opened = match opened {
                    Ok(opened) => opened,
                    Err(err) => {
                        tracing::debug!(error = %err, requests = requests.len(),
                            "opening payment attempts together failed; opening each alone");
                        for (request, reply) in unique {
                            let _ = reply.send(Err(request));
                        }
                        continue;
                    }
                };
                for (request, reply) in unique {
                    let _ = reply.send(Ok(opened.remove(&request.checkout)));
                }
            }
        });
        Opener { db, queue }
    }

    /// Opens this request's attempt, with others when others are waiting; `None` means "not
    /// the common case" (see [`store::open_first_payments`]).
    pub async fn open(&self, request: PayRequestFor) -> Result<Option<OpenedPayment>, ApiError> {
        let (reply, answer) = oneshot::channel();
        let alone = match self.queue.send((request, reply)).await {
            Err(mpsc::error::SendError((request, _))) => request,
            Ok(()) => match answer.await {
                Ok(Ok(opened)) => return Ok(opened),
                Ok(Err(request)) => request,
                Err(_) => {
                    return Err(ApiError::Internal(anyhow::anyhow!(
                        "the payment opener stopped"
                    )));
                }
            },
        };
        let mut conn = self.db.acquire().await?;
        store::open_first_payment(&mut conn, &alone).await
    }
}

async fn open_together(
    db: &PgPool,
    requests: &[&PayRequestFor],
) -> Result<HashMap<CheckoutId, OpenedPayment>, ApiError> {
    let mut conn = db.acquire().await?;
    Ok(store::open_first_payments(&mut conn, requests)
        .await?
        .into_iter()
        .map(|opened| (opened.record.checkout(), opened))
        .collect())
}
