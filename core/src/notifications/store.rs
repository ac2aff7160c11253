//! SQL of the notifications context.

use shared_model::ids::{OrderId, SagaId, UserId};
use sqlx::PgConnection;

/// A channel of the `notifications_channel_check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    Email,
    Sms,
    Push,
    InApp,
}

impl Channel {
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "EMAIL",
            Channel::Sms => "SMS",
            Channel::Push => "PUSH",
            Channel::InApp => "IN_APP",
        }
    }
}

/// A notification to record, PENDING until the sender handles it.
#[derive(Debug, Clone)]
pub struct NewNotification {
    pub user_id: UserId,
    pub channel: Channel,
    /// e.g. `ORDER_CONFIRMED` (upper snake case, per the table's check).
    pub notification_type: &'static str,
    /// Set for the once-per-checkout notifications: (saga, type, channel) is unique.
    pub saga_id: Option<SagaId>,
    pub order_id: Option<OrderId>,
    /// For saga-less notifications, the fact reported, unique per channel.
    pub dedupe_key: Option<String>,
    pub payload: serde_json::Value,
}

/// Records `notification` unless an equal one (same saga/type/channel, or same dedupe key and
/// channel) exists. Returns whether it was new.
pub async fn record_pending(
    conn: &mut PgConnection,
    notification: &NewNotification,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query(
        "INSERT INTO notifications (user_id, channel, notification_type, saga_id, order_id,
             dedupe_key, payload, status)
         VALUES ($1, $2, $3, $4, $5, $6, $7, 'PENDING')
         ON CONFLICT DO NOTHING",
    )
    .bind(notification.user_id.get())
    .bind(notification.channel.as_str())
    .bind(notification.notification_type)
    .bind(notification.saga_id.map(|saga| saga.0))
    .bind(notification.order_id.map(OrderId::get))
    .bind(notification.dedupe_key.as_deref())
    .bind(&notification.payload)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted == 1)
}

/// Whose checkout a saga is, and its order if one was created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SagaOwner {
    pub user_id: UserId,
    pub order_id: Option<OrderId>,
}

pub async fn saga_owner(
    conn: &mut PgConnection,
    saga: SagaId,
) -> Result<Option<SagaOwner>, sqlx::Error> {
    let row: Option<(i64, Option<i64>)> =
        sqlx::query_as("SELECT user_id, order_id FROM saga_state WHERE saga_id = $1")
            .bind(saga.0)
            .fetch_optional(conn)
            .await?;
    Ok(row.map(|(user_id, order_id)| SagaOwner {
        user_id: UserId::new(user_id),
        order_id: order_id.map(OrderId::new),
    }))
}
