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

/// Records each of `notifications` unless an equal one (same saga/type/channel, or same dedupe
/// key and channel) exists or comes earlier in the list, in one statement. Returns how many
/// were new.
pub async fn record_pending(
    conn: &mut PgConnection,
    notifications: &[NewNotification],
) -> Result<u64, sqlx::Error> {
    if notifications.is_empty() {
        return Ok(0);
    }
    let mut users = Vec::with_capacity(notifications.len());
    let mut channels = Vec::with_capacity(notifications.len());
    let mut types = Vec::with_capacity(notifications.len());
    let mut sagas = Vec::with_capacity(notifications.len());
    let mut orders = Vec::with_capacity(notifications.len());
    let mut dedupe_keys = Vec::with_capacity(notifications.len());
    let mut payloads = Vec::with_capacity(notifications.len());
    for n in notifications {
        users.push(n.user_id.get());
        channels.push(n.channel.as_str());
        types.push(n.notification_type);
        sagas.push(n.saga_id.map(|saga| saga.0));
        orders.push(n.order_id.map(OrderId::get));
        dedupe_keys.push(n.dedupe_key.as_deref());
        payloads.push(&n.payload);
    }
    let inserted = sqlx::query(
        "INSERT INTO notifications (user_id, channel, notification_type, saga_id, order_id,
             dedupe_key, payload, status)
         SELECT n.user_id, n.channel, n.notification_type, n.saga_id, n.order_id, n.dedupe_key,
                n.payload, 'PENDING'
           FROM UNNEST($1::bigint[], $2::text[], $3::text[], $4::uuid[], $5::bigint[], $6::text[],
                       $7::jsonb[]) WITH ORDINALITY
                AS n (user_id, channel, notification_type, saga_id, order_id, dedupe_key, payload, i)
          ORDER BY n.i
         ON CONFLICT DO NOTHING",
    )
    .bind(users)
    .bind(channels)
    .bind(types)
    .bind(sagas)
    .bind(orders)
    .bind(dedupe_keys)
    .bind(payloads)
    .execute(conn)
    .await?
    .rows_affected();
    Ok(inserted)
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
