//! Group commit for reservations: concurrent checkouts hand their holds to one writer task,
//! which makes everything waiting durable in one transaction. A hot SKU then costs one commit
//! and one row update per batch instead of per buyer, which is what lets the PostgreSQL record
//! keep up with the Redis hot path.

use std::sync::Arc;
use std::time::Instant;

use sqlx::PgPool;
use tokio::sync::{mpsc, oneshot};

use super::reservation_store::{self, DurableReservation, WriteOutcome};
use crate::group_commit::KeptConnection;

/// Most reservations committed together: bounds one transaction's size and lock time.
const MAX_BATCH: usize = 512;
/// Requests waiting for the writer before new ones are turned away with back-pressure.
const QUEUE: usize = 8192;

type Reply = oneshot::Sender<Result<WriteOutcome, Arc<sqlx::Error>>>;

#[derive(Clone)]
pub struct DurableWriter {
    queue: mpsc::Sender<(DurableReservation, Reply, Instant)>,
}

impl DurableWriter {
    /// Starts the writer task (it stops when every handle is dropped).
    pub fn spawn(db: PgPool) -> Self {
        let (queue, mut incoming) = mpsc::channel::<(DurableReservation, Reply, Instant)>(QUEUE);
        // The same metrics as the checkout's group commits (crate::group_commit).
        let sizes = metrics::histogram!("group_commit_batch_size", "commit" => "inventory_durable");
        let waits =
            metrics::histogram!("group_commit_wait_seconds", "commit" => "inventory_durable");
        let writes =
            metrics::histogram!("group_commit_write_seconds", "commit" => "inventory_durable");
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(MAX_BATCH);
            let mut kept = KeptConnection::default();
            // Wait for one, then take whatever else is already queued: the batch grows with
            // the load and adds no delay when there is none.
            while incoming.recv_many(&mut batch, MAX_BATCH).await > 0 {
                let started = Instant::now();
                for (_, _, queued) in &batch {
                    waits.record(started.duration_since(*queued).as_secs_f64());
                }
                let reservations: Vec<&DurableReservation> =
                    batch.iter().map(|(r, _, _)| r).collect();
                sizes.record(reservations.len() as f64);
                let result = match kept.take(&db).await {
                    Ok(mut conn) => {
                        let result = reservation_store::write_batch(&mut conn, &reservations).await;
                        kept.keep_if(conn, result.is_ok() && !incoming.is_empty());
                        result
                    }
                    Err(err) => Err(err),
                };
                writes.record(started.elapsed().as_secs_f64());
                match result {
                    Ok(outcomes) => {
                        for ((_, reply, _), outcome) in batch.drain(..).zip(outcomes) {
                            let _ = reply.send(outcome.map_err(Arc::new));
                        }
                    }
                    Err(err) => {
                        let err = Arc::new(err);
                        for (_, reply, _) in batch.drain(..) {
                            let _ = reply.send(Err(err.clone()));
                        }
                    }
                }
            }
        });
        DurableWriter { queue }
    }

    /// Makes a reservation durable; returns once it is committed (or refused).
    pub async fn write(
        &self,
        reservation: DurableReservation,
    ) -> Result<WriteOutcome, Arc<sqlx::Error>> {
        let (reply, answer) = oneshot::channel();
        let closed = || Arc::new(sqlx::Error::PoolClosed);
        self.queue
            .send((reservation, reply, Instant::now()))
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}
