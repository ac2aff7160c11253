//! The transactional outbox: an event is written in the same transaction as the change it
//! describes, so it exists if and only if the change committed. A relay delivers the table to
//! the event bus in order per partition key; consumers dedupe by event id.
//!
//! `relay` elects one relaying process and drives delivery; `publish` is the seam between the
//! relay and the bus (today in-process dispatch to [`Consumer`]s, later Kafka); `consumers`
//! holds the in-process consumers of the core itself.

pub mod consumers;
pub mod publish;
pub mod relay;

pub use publish::{InProcess, OutboxEvent, Outcome, PublishAllFuture, Publisher};
pub use relay::{
    Consumer, ConsumerError, HandleFuture, Relay, RelayConfig, RelayError, RetryPolicy,
};

use serde::Serialize;
use shared_model::events::{DomainEvent, EventEnvelope, EventMetadata};
use shared_model::ids::{EventId, SagaId};
use sqlx::{PgConnection, Postgres, QueryBuilder};

use crate::error::ApiError;

/// Who writes events into the outbox, as named in the envelopes' metadata.
pub const SOURCE: &str = "edgeshop-core";

/// A new envelope with a fresh event id, stamped now.
pub fn envelope<P: DomainEvent>(
    payload: P,
    saga: Option<SagaId>,
    correlation_id: &str,
) -> EventEnvelope<P> {
    EventEnvelope::new(
        payload,
        EventId(uuid::Uuid::new_v4()),
        saga,
        chrono::Utc::now(),
        EventMetadata::new(correlation_id, SOURCE),
    )
}

/// The channel `enqueue` notifies, so a listening relay wakes as soon as the event commits.
pub const NOTIFY_CHANNEL: &str = "outbox";

/// An event ready to be written: the envelope as stored, with the columns the relay reads.
#[derive(Debug, Clone)]
pub struct Queued {
    pub event_id: uuid::Uuid,
    pub topic: &'static str,
    pub partition_key: String,
    pub event_type: &'static str,
    pub envelope: serde_json::Value,
}

impl Queued {
    pub fn new<P: DomainEvent + Serialize>(envelope: &EventEnvelope<P>) -> Result<Self, ApiError> {
        Ok(Queued {
            event_id: envelope.event_id.0,
            topic: envelope.topic(),
            partition_key: envelope.partition_key(),
            event_type: envelope.event_type().as_str(),
            envelope: serde_json::to_value(envelope)
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("serialising an event: {e}")))?,
        })
    }
}

/// Writes `envelope` to the outbox on `conn`, which should be the transaction of the change
/// the event describes. Also queues a `NOTIFY outbox`: PostgreSQL delivers it only when (and
/// if) that transaction commits, so the relay never wakes for an event it cannot see.
pub async fn enqueue<P: DomainEvent + Serialize>(
    conn: &mut PgConnection,
    envelope: &EventEnvelope<P>,
) -> Result<(), ApiError> {
    enqueue_many(conn, &[Queued::new(envelope)?]).await
}

/// Writes events in the given order (their `outbox_id`s follow it, so the relay delivers
/// them so) with one statement and one `NOTIFY`, in the caller's transaction.
pub async fn enqueue_many(conn: &mut PgConnection, events: &[Queued]) -> Result<(), ApiError> {
    if events.is_empty() {
        return Ok(());
    }
    let events: Vec<&Queued> = events.iter().collect();
    let mut q = QueryBuilder::new("WITH ");
    push_enqueue(&mut q, &events);
    q.push(" SELECT ");
    push_notify(&mut q);
    q.build().execute(&mut *conn).await?;
    Ok(())
}

/// Writes events in the given order as the CTE `queued`, for the caller's `WITH`; the
/// statement's `SELECT` must include [`push_notify`]'s expression, or the relay only finds
/// them when it next polls.
pub fn push_enqueue<'a>(q: &mut QueryBuilder<'a, Postgres>, events: &[&'a Queued]) {
    q.push(
        "queued AS (
            INSERT INTO outbox_events (event_id, topic, partition_key, event_type, envelope)
            SELECT e.event_id, e.topic, e.partition_key, e.event_type, e.envelope
              FROM UNNEST(",
    )
    .push_bind(events.iter().map(|e| e.event_id).collect::<Vec<_>>())
    .push("::uuid[], ")
    .push_bind(events.iter().map(|e| e.topic).collect::<Vec<_>>())
    .push("::text[], ")
    .push_bind(
        events
            .iter()
            .map(|&e| e.partition_key.as_str())
            .collect::<Vec<_>>(),
    )
    .push("::text[], ")
    .push_bind(events.iter().map(|e| e.event_type).collect::<Vec<_>>())
    .push("::text[], ")
    .push_bind(events.iter().map(|&e| &e.envelope).collect::<Vec<_>>())
    .push(
        "::jsonb[]) WITH ORDINALITY AS e (event_id, topic, partition_key, event_type, envelope, n)
             ORDER BY e.n
            RETURNING outbox_id
         )",
    );
}

/// An expression for the `SELECT` of a statement with [`push_enqueue`]'s CTE: queues one
/// `NOTIFY outbox` if it wrote any event (PostgreSQL sends it when, and if, the transaction
/// commits, so the relay never wakes for an event it cannot see).
pub fn push_notify(q: &mut QueryBuilder<'_, Postgres>) {
    q.push("(SELECT count(*) FROM (SELECT pg_notify(")
        .push_bind(NOTIFY_CHANNEL)
        .push(", '') FROM (SELECT 1 FROM queued LIMIT 1) AS any_queued) AS notify) AS notified");
}
