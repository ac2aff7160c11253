//! The transactional outbox: an event is written in the same transaction as the change it
//! describes, so it exists if and only if the change committed. A relay delivers the table to
//! the event bus in order; consumers dedupe by event id.

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

pub async fn enqueue<P: DomainEvent + Serialize>(
    conn: &mut PgConnection,
    envelope: &EventEnvelope<P>,
) -> Result<(), ApiError> {
    let json = serde_json::to_value(envelope)
        .map_err(|e| ApiError::Internal(anyhow::anyhow!("serialising an event: {e}")))?;
    sqlx::query(
        "INSERT INTO outbox_events (event_id, topic, partition_key, event_type, envelope)
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(envelope.event_id.0)
    .bind(envelope.topic())
    .bind(envelope.partition_key())
    .bind(envelope.event_type().as_str())
    .bind(json)
    .execute(conn)
    .await?;
    Ok(())
}
