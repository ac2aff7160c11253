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

pub use publish::{InProcess, OutboxEvent, Outcome, Publisher};
pub use relay::{
    Consumer, ConsumerError, HandleFuture, Relay, RelayConfig, RelayError, RetryPolicy,
};

use serde::Serialize;
use shared_model::events::{DomainEvent, EventEnvelope, EventMetadata};
use shared_model::ids::{EventId, SagaId};
use sqlx::PgConnection;

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

/// Writes `envelope` to the outbox on `conn`, which should be the transaction of the change
/// the event describes. Also queues a `NOTIFY outbox`: PostgreSQL delivers it only when (and
/// if) that transaction commits, so the relay never wakes for an event it cannot see.
pub async fn enqueue<P: DomainEvent + Serialize>(
    conn: &mut PgConnection,
    envelope: &EventEnvelope<P>,
) -> Result<(), ApiError> {
    let json = serde_json::to_value(envelope)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("serialising an event: {e}")))?;
    // One round trip for both: a checkout writes several events per transaction.
    sqlx::query(
        "WITH queued AS (
            INSERT INTO outbox_events (event_id, topic, partition_key, event_type, envelope)
            VALUES ($1, $2, $3, $4, $5)
            RETURNING outbox_id
         )
         SELECT pg_notify($6, '') FROM queued",
    )
    .bind(envelope.event_id.0)
    .bind(envelope.topic())
    .bind(envelope.partition_key())
    .bind(envelope.event_type().as_str())
    .bind(json)
    .bind(NOTIFY_CHANNEL)
    .execute(&mut *conn)
    .await?;
    Ok(())
}
