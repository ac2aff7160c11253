-- The notification log (the notifications context): every email, SMS, push and in-app message
-- the notification consumer decided to send, with its delivery state, so a redelivered or
-- re-emitted event does not notify a buyer twice.

CREATE TABLE notifications (
    notification_id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            BIGINT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    channel            TEXT NOT NULL,
    -- ORDER_CONFIRMED, PAYMENT_FAILED, REFUND_INITIATED, REFUND_PROCESSED, ORDER_SHIPPED, ...:
    -- an open set, so a new kind needs no migration.
    notification_type  VARCHAR(50) NOT NULL,
    -- Set only for notifications that happen at most once per checkout saga (its confirmation,
    -- its payment failure, the refund of a failed checkout).
    saga_id            UUID,
    order_id           BIGINT REFERENCES orders (order_id),
    -- For notifications outside a saga, the fact being reported, named by the producer (e.g.
    -- 'refund:42', 'order:17:SHIPPED'); NULL when no dedupe beyond the event id is needed.
    dedupe_key         VARCHAR(200),
    payload            JSONB NOT NULL DEFAULT '{}',
    status             TEXT NOT NULL DEFAULT 'PENDING',
    attempts           INT NOT NULL DEFAULT 0,
    last_error         TEXT,
    sent_at            TIMESTAMPTZ,
    -- IN_APP only: when the buyer opened it.
    read_at            TIMESTAMPTZ,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- Dedupe per seed 7.7: one notification per (saga, type, channel). NULLS DISTINCT on
    -- purpose (not NULLS NOT DISTINCT): with saga_id NULL, every saga-less notification of one
    -- type and channel would collide with every other buyer's. Saga-less notifications are
    -- deduped by the consumer's processed_events (per event id) and, where one fact can arrive
    -- in several events, by dedupe_key.
    CONSTRAINT notifications_saga_type_channel_key UNIQUE (saga_id, notification_type, channel),
    CONSTRAINT notifications_dedupe_channel_key UNIQUE (dedupe_key, channel),
    CONSTRAINT notifications_channel_check CHECK (channel IN ('EMAIL', 'SMS', 'PUSH', 'IN_APP')),
    CONSTRAINT notifications_notification_type_check CHECK (notification_type ~ '^[A-Z][A-Z0-9_]*$'),
    CONSTRAINT notifications_status_check CHECK (status IN ('PENDING', 'SENT', 'FAILED')),
    CONSTRAINT notifications_attempts_check CHECK (attempts >= 0),
    CONSTRAINT notifications_payload_check CHECK (jsonb_typeof(payload) = 'object'),
    CONSTRAINT notifications_sent_at_check CHECK ((status = 'SENT') = (sent_at IS NOT NULL)),
    CONSTRAINT notifications_read_at_check CHECK (read_at IS NULL OR channel = 'IN_APP')
);
-- The in-app feed, newest first.
CREATE INDEX notifications_user_created_idx ON notifications (user_id, created_at DESC);
-- The sender's queue.
CREATE INDEX notifications_pending_idx ON notifications (created_at) WHERE status = 'PENDING';
CREATE INDEX notifications_order_idx ON notifications (order_id) WHERE order_id IS NOT NULL;
