//! The seam between the relay and the event bus. The relay decides *what* goes out and in
//! which order; a [`Publisher`] takes one event at a time and says whether it is handed over.
//! [`InProcess`] (no broker configured) runs the core's own consumers, each in its own
//! transaction with the event-id dedupe (a batch of first attempts in one transaction per
//! consumer), retrying failures and dead-lettering what keeps
//! failing. A Kafka publisher replaces it by producing to `event.topic` keyed by
//! `event.partition_key`; the consumers then run behind Kafka with the same dedupe.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use chrono::{DateTime, Utc};
use shared_model::events::{EventEnvelope, EventPayload, topics};
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use super::relay::{Consumer, RelayError, RetryPolicy};

/// One row of `outbox_events`, as the relay read it.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct OutboxEvent {
    pub outbox_id: i64,
    pub event_id: Uuid,
    pub topic: String,
    pub partition_key: String,
    pub event_type: String,
    /// The envelope's JSON (`EventEnvelope<EventPayload>` when this build knows the type).
    pub envelope: serde_json::Value,
    /// Failed delivery attempts so far, over all consumers.
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Handed over for good (delivered, or dead-lettered where it could not be): the relay
    /// marks it published.
    Published,
    /// Not yet: offer it again no sooner than `retry_in`. Later events of the same partition
    /// key wait behind it.
    Held { retry_in: Duration },
}

pub type PublishFuture<'a> = Pin<Box<dyn Future<Output = Result<Outcome, RelayError>> + Send + 'a>>;

pub type PublishAllFuture<'a> = Pin<Box<dyn Future<Output = Result<bool, RelayError>> + Send + 'a>>;

pub trait Publisher: Send + Sync {
    /// Hands `event` over. `conn` is the relay's own connection (it holds the leader lock);
    /// leave it outside any transaction. An `Err` means the bus or the database is unusable:
    /// the relay stops this pass, reconnects and offers the event again.
    fn publish<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a OutboxEvent,
    ) -> PublishFuture<'a>;

    /// Hands over, in order, events none of which has failed before, all at once where that is
    /// cheaper. `Ok(true)`: every one is handed over. `Ok(false)`: not all were, and the relay
    /// offers each again with [`Publisher::publish`] (whatever was handled is deduped then).
    /// By default nothing is done at once.
    fn publish_all<'a>(
        &'a self,
        _conn: &'a mut PgConnection,
        _events: &'a [OutboxEvent],
    ) -> PublishAllFuture<'a> {
        Box::pin(async { Ok(false) })
    }
}

/// In-process delivery to the core's consumers.
pub struct InProcess {
    consumers: Vec<Arc<dyn Consumer>>,
    retry: RetryPolicy,
}

/// Where one consumer stands with one event.
#[derive(Debug, Default, Clone, Copy)]
struct ConsumerState {
    /// Handled (`processed_events`) or given up on (`outbox_dead_letters`).
    finished: bool,
    /// Failed attempts so far.
    failures: u32,
    /// Time left before the next attempt is due, if it is not due yet.
    wait: Option<Duration>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FailureKind {
    HandlerFailed,
    Unreadable,
}

impl FailureKind {
    fn as_str(self) -> &'static str {
        match self {
            FailureKind::HandlerFailed => "HANDLER_FAILED",
            FailureKind::Unreadable => "UNREADABLE",
        }
    }
}

struct Failure {
    kind: FailureKind,
    message: String,
    permanent: bool,
}

impl InProcess {
    /// Consumers must have distinct names (the name keys their dedupe); a repeated name is
    /// dropped with an error in the log.
    pub fn new(consumers: Vec<Arc<dyn Consumer>>, retry: RetryPolicy) -> Self {
        let mut seen = std::collections::HashSet::new();
        let consumers = consumers
            .into_iter()
            .filter(|c| {
                let fresh = seen.insert(c.name());
                if !fresh {
                    tracing::error!(
                        consumer = c.name(),
                        "two outbox consumers share a name; ignoring the second"
                    );
                }
                fresh
            })
            .collect();
        InProcess {
            consumers,
            retry: RetryPolicy {
                attempts: retry.attempts.max(1),
                ..retry
            },
        }
    }

    async fn publish_event(
        &self,
        conn: &mut PgConnection,
        event: &OutboxEvent,
    ) -> Result<Outcome, RelayError> {
        let subscribers: Vec<&Arc<dyn Consumer>> = self
            .consumers
            .iter()
            .filter(|c| c.topics().contains(&event.topic.as_str()) && c.handles(&event.event_type))
            .collect();
        if subscribers.is_empty() {
            return Ok(Outcome::Published);
        }
        // Read once per event; its consumers do not change it.
        let envelope =
            serde_json::from_value::<EventEnvelope<EventPayload>>(event.envelope.clone())
                .map_err(|err| format!("unreadable envelope: {err}"));
        // An event nobody failed on yet goes to everyone (a redelivery is deduped anyway).
        let states = if event.attempts > 0 {
            let names: Vec<&str> = subscribers.iter().map(|c| c.name()).collect();
            load_states(conn, event.event_id, &names).await?
        } else {
            HashMap::new()
        };
        let mut retry_in: Option<Duration> = None;
        for consumer in subscribers {
            let state = states.get(consumer.name()).copied().unwrap_or_default();
            if state.finished {
                continue;
            }
            if let Some(wait) = state.wait {
                retry_in = Some(retry_in.map_or(wait, |r| r.min(wait)));
                continue;
            }
            let failure = match &envelope {
                Ok(envelope) => {
                    match deliver(conn, consumer.as_ref(), event, envelope, state).await? {
                        None => continue,
                        Some(failure) => failure,
                    }
                }
                Err(message) => Failure {
                    kind: FailureKind::Unreadable,
                    message: message.clone(),
                    permanent: false,
                },
            };
            if let Some(wait) = self
                .record_failure(conn, consumer.name(), event, state.failures + 1, failure)
                .await?
            {
                retry_in = Some(retry_in.map_or(wait, |r| r.min(wait)));
            }
        }
        Ok(match retry_in {
            None => Outcome::Published,
            Some(retry_in) => Outcome::Held { retry_in },
        })
    }

    /// Counts a failed attempt; returns the wait before the next one, or `None` once the
    /// event is dead-lettered for this consumer.
    async fn record_failure(
        &self,
        conn: &mut PgConnection,
        consumer: &'static str,
        event: &OutboxEvent,
        attempt: u32,
        failure: Failure,
    ) -> Result<Option<Duration>, RelayError> {
        let dead = failure.permanent || attempt >= self.retry.attempts;
        let wait = self.retry.delay_after(attempt);
        let dead_letter_topic = topics::dead_letter(&event.topic);
        let mut tx = conn.begin().await?;
        sqlx::query(
            "UPDATE outbox_events SET attempts = attempts + 1, last_error = $2 WHERE outbox_id = $1",
        )
        .bind(event.outbox_id)
        .bind(format!("{consumer}: {}", failure.message))
        .execute(&mut *tx)
        .await?;
        if dead {
            sqlx::query(
                "INSERT INTO outbox_dead_letters (consumer, event_id, outbox_id, topic,
                     partition_key, event_type, envelope, reason, error, attempts)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
                 ON CONFLICT (consumer, event_id) DO NOTHING",
            )
            .bind(consumer)
            .bind(event.event_id)
            .bind(event.outbox_id)
            .bind(&dead_letter_topic)
            .bind(&event.partition_key)
            .bind(&event.event_type)
            .bind(&event.envelope)
            .bind(failure.kind.as_str())
            .bind(&failure.message)
            .bind(i32::try_from(attempt).unwrap_or(i32::MAX))
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "DELETE FROM outbox_delivery_attempts WHERE consumer = $1 AND event_id = $2",
            )
            .bind(consumer)
            .bind(event.event_id)
            .execute(&mut *tx)
            .await?;
        } else {
            sqlx::query(
                "INSERT INTO outbox_delivery_attempts (consumer, event_id, attempts, last_error,
                     next_attempt_at)
                 VALUES ($1, $2, $3, $4, now() + make_interval(secs => $5))
                 ON CONFLICT (consumer, event_id) DO UPDATE
                 SET attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error,
                     next_attempt_at = EXCLUDED.next_attempt_at, updated_at = now()",
            )
            .bind(consumer)
            .bind(event.event_id)
            .bind(i32::try_from(attempt).unwrap_or(i32::MAX))
            .bind(&failure.message)
            .bind(wait.as_secs_f64())
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        metrics::counter!("outbox_delivery_failures_total", "consumer" => consumer,
            "topic" => event.topic.clone())
        .increment(1);
        if dead {
            tracing::error!(consumer, event_id = %event.event_id, topic = %dead_letter_topic,
                attempts = attempt, error = %failure.message, "event dead-lettered");
            metrics::counter!("outbox_dead_letters_total", "consumer" => consumer,
                "topic" => dead_letter_topic)
            .increment(1);
            Ok(None)
        } else {
            tracing::warn!(consumer, event_id = %event.event_id, attempt,
                retry_in_ms = wait.as_millis() as u64, error = %failure.message,
                "consumer failed; will retry");
            Ok(Some(wait))
        }
    }
}

impl InProcess {
    /// Every consumer gets the events it handles in one transaction for them all: per consumer
    /// one dedupe insert and its effects in order (one `handle_all`), then one commit. A
    /// failure rolls the whole batch back and answers `false`; the relay then goes event by
    /// event, where failures are counted, retried and dead-lettered, and each consumer's
    /// effects outside PostgreSQL (Redis) are done again, as they are idempotent.
    async fn publish_batch(
        &self,
        conn: &mut PgConnection,
        events: &[OutboxEvent],
    ) -> Result<bool, RelayError> {
        let mut envelopes = Vec::with_capacity(events.len());
        for event in events {
            match serde_json::from_value::<EventEnvelope<EventPayload>>(event.envelope.clone()) {
                Ok(envelope) => envelopes.push(envelope),
                Err(_) => return Ok(false),
            }
        }
        let mut tx = conn.begin().await?;
        let mut delivered: Vec<(&str, &OutboxEvent)> = Vec::new();
        for consumer in &self.consumers {
            let mine: Vec<(&OutboxEvent, &EventEnvelope<EventPayload>)> = events
                .iter()
                .zip(&envelopes)
                .filter(|(e, _)| {
                    consumer.topics().contains(&e.topic.as_str()) && consumer.handles(&e.event_type)
                })
                .collect();
            if mine.is_empty() {
                continue;
            }
            let ids: Vec<Uuid> = mine.iter().map(|(e, _)| e.event_id).collect();
            let fresh: std::collections::HashSet<Uuid> = sqlx::query_scalar(
                "INSERT INTO processed_events (consumer, event_id)
                 SELECT $1, event_id FROM UNNEST($2::uuid[]) AS event_id
                 ON CONFLICT DO NOTHING RETURNING event_id",
            )
            .bind(consumer.name())
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let unseen: Vec<&EventEnvelope<EventPayload>> = mine
                .iter()
                .filter(|(event, _)| fresh.contains(&event.event_id))
                .map(|(_, envelope)| *envelope)
                .collect();
            if !matches!(
                CatchUnwind(consumer.handle_all(&mut tx, &unseen)).await,
                Ok(Ok(()))
            ) {
                let _ = tx.rollback().await;
                return Ok(false);
            }
            delivered.extend(
                mine.iter()
                    .filter(|(e, _)| fresh.contains(&e.event_id))
                    .map(|(e, _)| (consumer.name(), *e)),
            );
        }
        if tx.commit().await.is_err() {
            return Ok(false);
        }
        for (consumer, event) in delivered {
            metrics::counter!("outbox_events_delivered_total", "consumer" => consumer,
                "topic" => event.topic.clone())
            .increment(1);
        }
        Ok(true)
    }
}

impl Publisher for InProcess {
    fn publish<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a OutboxEvent,
    ) -> PublishFuture<'a> {
        Box::pin(self.publish_event(conn, event))
    }

    fn publish_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [OutboxEvent],
    ) -> PublishAllFuture<'a> {
        Box::pin(self.publish_batch(conn, events))
    }
}

async fn load_states(
    conn: &mut PgConnection,
    event_id: Uuid,
    consumers: &[&str],
) -> Result<HashMap<String, ConsumerState>, sqlx::Error> {
    let rows: Vec<(String, bool, Option<i32>, Option<f64>)> = sqlx::query_as(
        "SELECT c.consumer,
                EXISTS (SELECT 1 FROM processed_events p
                        WHERE p.consumer = c.consumer AND p.event_id = $1)
                OR EXISTS (SELECT 1 FROM outbox_dead_letters d
                           WHERE d.consumer = c.consumer AND d.event_id = $1),
                a.attempts,
                EXTRACT(EPOCH FROM (a.next_attempt_at - now()))::float8
         FROM unnest($2::text[]) AS c (consumer)
         LEFT JOIN outbox_delivery_attempts a ON a.consumer = c.consumer AND a.event_id = $1",
    )
    .bind(event_id)
    .bind(consumers)
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(consumer, finished, attempts, wait)| {
            let state = ConsumerState {
                finished,
                failures: attempts.map_or(0, |a| u32::try_from(a).unwrap_or(0)),
                wait: wait
                    .filter(|seconds| *seconds > 0.0)
                    .map(|seconds| Duration::try_from_secs_f64(seconds).unwrap_or(Duration::ZERO)),
            };
            (consumer, state)
        })
        .collect())
}

/// One consumer, one event, one transaction: the dedupe record and the effect commit together.
/// `Ok(None)`: handled now or before. `Ok(Some)`: this attempt failed (already rolled back).
async fn deliver(
    conn: &mut PgConnection,
    consumer: &dyn Consumer,
    event: &OutboxEvent,
    envelope: &EventEnvelope<EventPayload>,
    state: ConsumerState,
) -> Result<Option<Failure>, RelayError> {
    let name = consumer.name();
    let mut tx = conn.begin().await?;
    let fresh = sqlx::query(
        "INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
    )
    .bind(name)
    .bind(event.event_id)
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !fresh {
        tx.commit().await?;
        return Ok(None);
    }
    let handled = CatchUnwind(consumer.handle(&mut tx, envelope)).await;
    let failure = match handled {
        Ok(Ok(())) => {
            // After `handle`, an error is the effect's (say a deferred constraint), unless the
            // connection is gone, which recording the failure will then find out.
            let cleared = if state.failures > 0 {
                sqlx::query(
                    "DELETE FROM outbox_delivery_attempts WHERE consumer = $1 AND event_id = $2",
                )
                .bind(name)
                .bind(event.event_id)
                .execute(&mut *tx)
                .await
                .map(drop)
            } else {
                Ok(())
            };
            let committed = match cleared {
                Ok(()) => tx.commit().await,
                Err(err) => Err(err),
            };
            match committed {
                Ok(()) => {
                    metrics::counter!("outbox_events_delivered_total", "consumer" => name,
                        "topic" => event.topic.clone())
                    .increment(1);
                    return Ok(None);
                }
                Err(err) => {
                    return Ok(Some(Failure {
                        kind: FailureKind::HandlerFailed,
                        message: format!("committing the effect failed: {err}"),
                        permanent: false,
                    }));
                }
            }
        }
        Ok(Err(err)) => Failure {
            kind: FailureKind::HandlerFailed,
            permanent: err.is_permanent(),
            message: err.to_string(),
        },
        Err(panic) => Failure {
            kind: FailureKind::HandlerFailed,
            message: format!("panicked: {}", panic_message(panic.as_ref())),
            permanent: false,
        },
    };
    // The effect and the dedupe record go together. A failed rollback means the connection
    // is gone; recording the failure will report that.
    let _ = tx.rollback().await;
    Ok(Some(failure))
}

/// Runs a boxed future, turning a panic inside it into an error: a consumer bug becomes a
/// failed (and eventually dead-lettered) attempt instead of a dead relay.
struct CatchUnwind<F>(F);

impl<F: Future + Unpin> Future for CatchUnwind<F> {
    type Output = Result<F::Output, Box<dyn Any + Send>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = &mut self.0;
        match std::panic::catch_unwind(AssertUnwindSafe(|| Pin::new(&mut *inner).poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(panic) => Poll::Ready(Err(panic)),
        }
    }
}

fn panic_message(panic: &(dyn Any + Send)) -> String {
    if let Some(text) = panic.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = panic.downcast_ref::<String>() {
        text.clone()
    } else {
        "a non-text panic".to_owned()
    }
}
