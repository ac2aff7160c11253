-- Delivery bookkeeping of the outbox relay (core/src/outbox/relay.rs): the retry state of an
-- event a consumer failed to handle, and the dead letters of events it never could.
-- outbox_events.attempts and last_error stay the event-wide summary; these tables are per
-- consumer, because one consumer's failure must not be charged to another.

-- One row per (consumer, event) that failed and is waiting for its next attempt. Deleted in the
-- transaction that finally handles the event, or when the event is dead-lettered.
CREATE TABLE outbox_delivery_attempts (
    consumer         VARCHAR(100) NOT NULL,
    event_id         UUID NOT NULL,
    -- Failed attempts so far; the relay dead-letters at its limit (5 by default).
    attempts         INT NOT NULL,
    last_error       TEXT NOT NULL,
    -- Not retried before this (exponential backoff); later events of the same partition key
    -- wait behind it, so the key's order holds.
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id),
    CONSTRAINT outbox_delivery_attempts_event_fkey
        FOREIGN KEY (event_id) REFERENCES outbox_events (event_id) ON DELETE CASCADE,
    CONSTRAINT outbox_delivery_attempts_attempts_check CHECK (attempts >= 1)
);
CREATE INDEX outbox_delivery_attempts_event_idx ON outbox_delivery_attempts (event_id);

-- An event a consumer gave up on: the in-process form of the dead-letter topic <topic>.dlq
-- (a Kafka relay publishes the same record there). The envelope is copied, so the row stays
-- readable (and replayable) after published outbox rows are purged; hence no foreign key.
-- Later events of the same partition key are still delivered to the consumer: a dead letter
-- is a hole that is visible (here and in outbox_dead_letters_total), not a stopped partition.
CREATE TABLE outbox_dead_letters (
    dead_letter_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    consumer        VARCHAR(100) NOT NULL,
    event_id        UUID NOT NULL,
    outbox_id       BIGINT NOT NULL,
    -- The dead-letter topic, e.g. 'order.events.dlq'.
    topic           VARCHAR(110) NOT NULL,
    partition_key   VARCHAR(100) NOT NULL,
    event_type      VARCHAR(100) NOT NULL,
    envelope        JSONB NOT NULL,
    -- HANDLER_FAILED: the consumer returned errors (or panicked) until its attempts ran out, or
    -- refused the event as permanently bad. UNREADABLE: the envelope did not parse (e.g. an
    -- event type this build does not know).
    reason          TEXT NOT NULL,
    error           TEXT NOT NULL,
    attempts        INT NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT outbox_dead_letters_consumer_event_key UNIQUE (consumer, event_id),
    CONSTRAINT outbox_dead_letters_topic_check CHECK (topic LIKE '%.dlq'),
    CONSTRAINT outbox_dead_letters_reason_check CHECK (reason IN ('HANDLER_FAILED', 'UNREADABLE')),
    CONSTRAINT outbox_dead_letters_attempts_check CHECK (attempts >= 1),
    CONSTRAINT outbox_dead_letters_envelope_check CHECK (jsonb_typeof(envelope) = 'object')
);
-- Operators look at the newest first.
CREATE INDEX outbox_dead_letters_created_idx ON outbox_dead_letters (created_at DESC);
CREATE INDEX outbox_dead_letters_event_idx ON outbox_dead_letters (event_id);
