//! Group commit: concurrent callers hand their write to one task, which writes everything
//! waiting together, so a busy shop pays one round trip, one commit and one set-up of each
//! statement per batch instead of per buyer. The task waits for one request, then takes
//! whatever else is already queued: the batch grows with the load and adds no delay when
//! there is none.

use std::future::Future;
use std::time::Instant;

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

/// A request, its reply and when it was handed over.
type Queued<Q, A> = (Q, Reply<Q, A>, Instant);

pub struct GroupCommit<Q, A> {
    queue: mpsc::Sender<Queued<Q, A>>,
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
    /// answers every request of it, in order. `name` labels the batches' metrics: their
    /// sizes, how long each request waited for its batch and how long each batch took, which
    /// is where a busy shop's checkout latency goes.
    pub fn spawn<W, F>(name: &'static str, mut write: W) -> Self
    where
        W: FnMut(Vec<Q>) -> F + Send + 'static,
        F: Future<Output = Vec<Handled<Q, A>>> + Send,
    {
        let (queue, mut incoming) = mpsc::channel::<Queued<Q, A>>(QUEUE);
        let sizes = metrics::histogram!("group_commit_batch_size", "commit" => name);
        let waits = metrics::histogram!("group_commit_wait_seconds", "commit" => name);
        let writes = metrics::histogram!("group_commit_write_seconds", "commit" => name);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
                sizes.record(batch.len() as f64);
                let started = Instant::now();
                let mut requests = Vec::with_capacity(batch.len());
                let mut replies = Vec::with_capacity(batch.len());
                for (request, reply, queued) in batch.drain(..) {
                    waits.record(started.duration_since(queued).as_secs_f64());
                    requests.push(request);
                    replies.push(reply);
                }
                let answers = write(requests).await;
                writes.record(started.elapsed().as_secs_f64());
                for (answer, reply) in answers.into_iter().zip(replies) {
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
        let queued = (request, reply, Instant::now());
        if let Err(mpsc::error::SendError((request, _, _))) = self.queue.send(queued).await {
            return Ok(Handled::Alone(request));
        }
        answer.await.map_err(|_| {
            ApiError::Internal(anyhow::anyhow!(
                "a group commit stopped with a request in hand"
            ))
        })
    }
}

/// Begins a batch's transaction, in the same round trip, on plans fit for statements that find
/// every row by its key. A batch's statements are planned once per connection and kept
/// (planning them for each batch cost more than running them), and a plan made while the
/// tables were small reads them whole, or reads every pending row through a status index, once
/// they are not (seen in a sale on a new shop: each batch cost more than the last). So here no
/// plan may scan a table or a bitmap, and statements keep status tests out of index reach.
pub const BEGIN_KEYED: &str = "BEGIN; SET LOCAL plan_cache_mode = force_generic_plan; \
     SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off";
