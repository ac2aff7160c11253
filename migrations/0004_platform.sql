-- Cross-cutting tables: idempotency of unsafe requests, the transactional outbox and
-- consumer-side event dedupe.

CREATE TABLE idempotency_keys (
    -- Who sent the key and to which route: one client's key never collides with another's.
    scope             VARCHAR(300) NOT NULL,
    idempotency_key   VARCHAR(255) NOT NULL,
    -- SHA-256 (hex) of method, path and body: the same key with another request is refused.
    request_hash      CHAR(64) NOT NULL,
    status            TEXT NOT NULL DEFAULT 'IN_PROGRESS',
    response_status   SMALLINT,
    response_headers  JSONB,
    response_body     BYTEA,
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    expires_at        TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (scope, idempotency_key),
    CONSTRAINT idempotency_keys_status_check CHECK (status IN ('IN_PROGRESS', 'COMPLETED')),
    CONSTRAINT idempotency_keys_completed_has_response
        CHECK (status = 'IN_PROGRESS' OR response_status IS NOT NULL)
);
CREATE INDEX idempotency_keys_expires_idx ON idempotency_keys (expires_at);

-- Events are written here in the same transaction as the change they describe, then relayed
-- to the bus in outbox_id order (per partition key).
CREATE TABLE outbox_events (
    outbox_id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    event_id       UUID NOT NULL,
    topic          VARCHAR(100) NOT NULL,
    -- The bus's partition key: the saga id for checkout events, the product id for catalog ones.
    partition_key  VARCHAR(100) NOT NULL,
    event_type     VARCHAR(100) NOT NULL,
    envelope       JSONB NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    published_at   TIMESTAMPTZ,
    attempts       INT NOT NULL DEFAULT 0,
    last_error     TEXT,
    CONSTRAINT outbox_events_event_key UNIQUE (event_id)
);
CREATE INDEX outbox_events_unpublished_idx ON outbox_events (outbox_id) WHERE published_at IS NULL;

-- A consumer records each event it handled in the same transaction as the effect, so a
-- redelivered event changes nothing.
CREATE TABLE processed_events (
    consumer      VARCHAR(100) NOT NULL,
    event_id      UUID NOT NULL,
    processed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
CREATE INDEX processed_events_processed_at_idx ON processed_events (processed_at);
