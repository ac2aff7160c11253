//! Group commit: concurrent callers hand their write to one task, which writes everything
//! waiting together, so a busy shop pays one round trip, one commit and one set-up of each
//! statement per batch instead of per buyer. The task waits for one request, then takes
//! whatever else is already queued: the batch grows with the load and adds no delay when
//! there is none.

use std::future::Future;
use std::pin::Pin;
use std::time::Instant;

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
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

/// What a batch writer does with one batch, on the task's connection.
pub type WriteBatch<Q, A> = for<'c> fn(&'c mut PgConnection, Vec<Q>) -> Written<'c, Q, A>;

/// A batch being written (boxed: the future borrows the connection).
pub type Written<'c, Q, A> = Pin<Box<dyn Future<Output = Vec<Handled<Q, A>>> + Send + 'c>>;

impl<Q: Send + 'static, A: Send + 'static> GroupCommit<Q, A> {
    /// Starts the task; it stops when every handle is dropped. `write` gets each batch and
    /// answers every request of it, in order. `name` labels the batches' metrics: their
    /// sizes, how long each request waited for its batch and how long each batch took, which
    /// is where a busy shop's checkout latency goes.
    ///
    /// The task keeps its connection from one batch to the next while requests keep coming,
    /// and gives it back to `db` once none is waiting (or after a batch that handed anything
    /// back, in case the connection is why): a connection given back costs a round trip of
    /// its own (the pool checks it), one per batch otherwise.
    pub fn spawn(name: &'static str, db: PgPool, write: WriteBatch<Q, A>) -> Self {
        let (queue, mut incoming) = mpsc::channel::<Queued<Q, A>>(QUEUE);
        let sizes = metrics::histogram!("group_commit_batch_size", "commit" => name);
        let waits = metrics::histogram!("group_commit_wait_seconds", "commit" => name);
        let writes = metrics::histogram!("group_commit_write_seconds", "commit" => name);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            let mut kept = KeptConnection::default();
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
                let answers = match kept.take(&db).await {
                    Ok(mut conn) => {
                        let answers = write(&mut conn, requests).await;
                        let all_written = answers.iter().all(|a| matches!(a, Handled::Written(_)));
                        kept.keep_if(conn, all_written && !incoming.is_empty());
                        answers
                    }
                    Err(err) => {
                        tracing::warn!(error = %err, commit = name,
                            "no connection for a batch; its requests go alone");
                        requests.into_iter().map(Handled::Alone).collect()
                    }
                };
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

/// A batch writer's connection, kept from one batch to the next while requests keep coming: a
/// connection given back to the pool costs a round trip of its own (the pool checks it).
#[derive(Default)]
pub struct KeptConnection(Option<PoolConnection<Postgres>>);

impl KeptConnection {
    /// The kept connection, or a new one from `db`.
    pub async fn take(&mut self, db: &PgPool) -> Result<PoolConnection<Postgres>, sqlx::Error> {
        match self.0.take() {
            Some(conn) => Ok(conn),
            None => db.acquire().await,
        }
    }

    /// Keeps `conn` for the next batch when `busy` (requests are waiting and the batch went
    /// well); otherwise it goes back to the pool.
    pub fn keep_if(&mut self, conn: PoolConnection<Postgres>, busy: bool) {
        if busy {
            self.0 = Some(conn);
        }
    }
}
