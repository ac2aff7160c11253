//! The notification consumer (`notifications`): ORDER_CREATED becomes an ORDER_CONFIRMED email
//! and PAYMENT_FAILED a PAYMENT_FAILED email, both recorded PENDING for the sender.
//!
//! Dedupe is twofold: the relay's `processed_events` (per event id), and the table's own
//! (saga, type, channel) key, so a re-emitted event (a new id for the same fact) or a
//! redelivery past `processed_events` cannot notify a buyer twice. One PAYMENT_FAILED email per
//! checkout, however many cards the buyer tries.

use serde_json::json;
use shared_model::events::{
    EventEnvelope, EventPayload, EventType, OrderCreated, PaymentFailed, topics,
};
use sqlx::PgConnection;

use super::store::{self, Channel, NewNotification};
use crate::outbox::relay::{Consumer, ConsumerError, HandleFuture};

pub const ORDER_CONFIRMED: &str = "ORDER_CONFIRMED";
pub const PAYMENT_FAILED: &str = "PAYMENT_FAILED";

pub struct NotificationConsumer;

impl NotificationConsumer {
    pub const NAME: &'static str = "notifications";
}

impl Consumer for NotificationConsumer {
    fn name(&self) -> &'static str {
        Self::NAME
    }

    fn topics(&self) -> &'static [&'static str] {
        &[topics::ORDER, topics::PAYMENT]
    }

    fn handles(&self, event_type: &str) -> bool {
        event_type == EventType::OrderCreated.as_str()
            || event_type == EventType::PaymentFailed.as_str()
    }

    fn handle<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a EventEnvelope<EventPayload>,
    ) -> HandleFuture<'a> {
        Box::pin(async move { record(conn, &[event]).await })
    }

    fn handle_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a EventEnvelope<EventPayload>],
    ) -> HandleFuture<'a> {
        Box::pin(record(conn, events))
    }
}

/// Records what `events` call for, in one insert.
async fn record(
    conn: &mut PgConnection,
    events: &[&EventEnvelope<EventPayload>],
) -> Result<(), ConsumerError> {
    let mut due = Vec::with_capacity(events.len());
    for event in events {
        let notification = match &event.payload {
            EventPayload::OrderCreated(order) => Some(order_confirmed(event, order)),
            EventPayload::PaymentFailed(failed) => payment_failed(conn, event, failed).await?,
            _ => None,
        };
        due.extend(notification);
    }
    let created = store::record_pending(conn, &due).await?;
    if created < due.len() as u64 {
        tracing::debug!(
            due = due.len(),
            created,
            "some notifications were already recorded"
        );
    }
    Ok(())
}

fn order_confirmed(event: &EventEnvelope<EventPayload>, order: &OrderCreated) -> NewNotification {
    NewNotification {
        user_id: order.user_id,
        channel: Channel::Email,
        notification_type: ORDER_CONFIRMED,
        saga_id: event.saga_id,
        order_id: Some(order.order_id),
        // An order always comes from a checkout saga; should one not, the order is the fact.
        dedupe_key: event
            .saga_id
            .is_none()
            .then(|| format!("order:{}:{ORDER_CONFIRMED}", order.order_id)),
        payload: json!({
            "orderId": order.order_id,
            "orderNumber": order.order_number,
            "totalAmount": order.total_amount,
            "currency": order.currency,
        }),
    }
}

async fn payment_failed(
    conn: &mut PgConnection,
    event: &EventEnvelope<EventPayload>,
    failed: &PaymentFailed,
) -> Result<Option<NewNotification>, ConsumerError> {
    // The payload does not name the buyer; the saga does.
    let Some(saga) = event.saga_id else {
        tracing::warn!(event_id = %event.event_id, payment_id = %failed.payment_id,
            "PAYMENT_FAILED without a saga: nobody to notify");
        return Ok(None);
    };
    let Some(owner) = store::saga_owner(conn, saga).await? else {
        tracing::warn!(event_id = %event.event_id, saga_id = %saga,
            "PAYMENT_FAILED for an unknown saga: nobody to notify");
        return Ok(None);
    };
    Ok(Some(NewNotification {
        user_id: owner.user_id,
        channel: Channel::Email,
        notification_type: PAYMENT_FAILED,
        saga_id: Some(saga),
        order_id: owner.order_id,
        dedupe_key: None,
        payload: json!({
            "paymentId": failed.payment_id,
            "failureReason": failed.failure_reason,
            "failureCode": failed.failure_code,
            "retryable": failed.retryable,
        }),
    }))
}
