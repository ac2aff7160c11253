//! Group commit: concurrent callers hand their write to one task, which writes everything
//! waiting together, so a busy shop pays one round trip, one commit and one set-up of each
//! statement per batch instead of per buyer. The task waits for one request, then takes
//! whatever else is already queued: the batch grows with the load and adds no delay when
//! there is none.

use std::future::Future;

use tokio::sync::{mpsc, oneshot};

use crate::error::ApiError;

/// Most requests written together: bounds one transaction's size and lock time.
const MAX_BATCH: usize = 256;
/// Requests waiting for the task before callers wait to hand theirs over.
const QUEUE: usize = 4096;

/// What a batch did with one request.
pub enum Handled<Q, A> {
    /// Written with the others; the request's answer.
    Written(A),
    /// Not written: the request back, for the caller's own path.
    Alone(Q),
}

type Reply<Q, A> = oneshot::Sender<Handled<Q, A>>;

pub struct GroupCommit<Q, A> {
    queue: mpsc::Sender<(Q, Reply<Q, A>)>,
}

impl<Q, A> Clone for GroupCommit<Q, A> {
    fn clone(&self) -> Self {
        GroupCommit {
            queue: self.queue.clone(),
        }
    }
}

impl<Q: Send + 'static, A: Send + 'static> GroupCommit<Q, A> {
    /// Starts the task; it stops when every handle is dropped. `write` gets each batch and
    /// answers every request of it, in order; `batch_size_metric` records the batches' sizes.
    pub fn spawn<W, F>(batch_size_metric: &'static str, mut write: W) -> Self
    where
        W: FnMut(Vec<Q>) -> F + Send + 'static,
        F: Future<Output = Vec<Handled<Q, A>>> + Send,
    {
        let (queue, mut incoming) = mpsc::channel::<(Q, Reply<Q, A>)>(QUEUE);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
                metrics::histogram!(batch_size_metric).record(batch.len() as f64);
                let (requests, replies): (Vec<Q>, Vec<Reply<Q, A>>) = batch.drain(..).unzip();
                for (answer, reply) in write(requests).await.into_iter().zip(replies) {
                    let _ = reply.send(answer);
                }
            }
        });
        GroupCommit { queue }
    }

    /// Hands `request` to the next batch and answers what became of it; the request comes
    /// back as [`Handled::Alone`] also when the task is gone before taking it.
    pub async fn submit(&self, request: Q) -> Result<Handled<Q, A>, ApiError> {
        let (reply, answer) = oneshot::channel();
        if let Err(mpsc::error::SendError((request, _))) = self.queue.send((request, reply)).await {
            return Ok(Handled::Alone(request));
        }
        answer.await.map_err(|_| {
            ApiError::Internal(anyhow::anyhow!(
                "a group commit stopped with a request in hand"
            ))
        })
    }
}
