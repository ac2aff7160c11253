-- Saga state (the checkout orchestrator): one row per saga and an append-only log of its steps,
-- so a crashed core can resume or compensate. The recovery job picks up sagas that made no
-- progress for 15 minutes.

CREATE TABLE saga_state (
    -- For a checkout, derived from the checkout id (UUIDv5), so a retried checkout finds its saga.
    saga_id          UUID PRIMARY KEY,
    saga_type        TEXT NOT NULL DEFAULT 'CHECKOUT',
    status           TEXT NOT NULL DEFAULT 'STARTED',
    -- The step being executed (or compensated); NULL before the first one.
    current_step     TEXT,
    -- Set by the CREATE_ORDER step.
    order_id         BIGINT REFERENCES orders (order_id),
    checkout_id      UUID,
    user_id          BIGINT NOT NULL REFERENCES users (user_id),
    -- The original request, enough to resume or compensate without the caller.
    payload          JSONB NOT NULL DEFAULT '{}',
    -- Steps done, in order, e.g. ["RESERVE_INVENTORY", "PROCESS_PAYMENT"]; compensation walks
    -- them backwards.
    completed_steps  JSONB NOT NULL DEFAULT '[]',
    error_message    TEXT,
    -- The reservation deadline (checkout start + 15 minutes): an unpaid saga is compensated then.
    expires_at       TIMESTAMPTZ,
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT saga_state_checkout_id_key UNIQUE (checkout_id),
    -- Only the checkout saga exists today; a REFUND saga would add its own step names here.
    CONSTRAINT saga_state_saga_type_check CHECK (saga_type IN ('CHECKOUT', 'REFUND')),
    CONSTRAINT saga_state_status_check CHECK (status IN ('STARTED', 'IN_PROGRESS', 'COMPLETED',
        'COMPENSATING', 'COMPENSATED', 'FAILED')),
    -- One set of step names, shared by the orchestrator and the recovery job.
    CONSTRAINT saga_state_current_step_check CHECK (current_step IS NULL OR current_step IN (
        'RESERVE_INVENTORY', 'PROCESS_PAYMENT', 'CREATE_ORDER', 'CONFIRM_INVENTORY')),
    CONSTRAINT saga_state_payload_check CHECK (jsonb_typeof(payload) = 'object'),
    -- An array whose elements are all known step names.
    CONSTRAINT saga_state_completed_steps_check CHECK (jsonb_typeof(completed_steps) = 'array'
        AND completed_steps <@ '["RESERVE_INVENTORY", "PROCESS_PAYMENT", "CREATE_ORDER", "CONFIRM_INVENTORY"]'::jsonb),
    -- A checkout saga always knows its checkout and its reservation deadline.
    CONSTRAINT saga_state_checkout_check
        CHECK (saga_type <> 'CHECKOUT' OR (checkout_id IS NOT NULL AND expires_at IS NOT NULL))
);
-- The recovery scan: unfinished sagas by last progress.
CREATE INDEX saga_state_recovery_idx ON saga_state (updated_at)
    WHERE status IN ('STARTED', 'IN_PROGRESS', 'COMPENSATING');
CREATE INDEX saga_state_order_idx ON saga_state (order_id) WHERE order_id IS NOT NULL;
CREATE INDEX saga_state_user_idx ON saga_state (user_id, created_at DESC);

-- Append-only: one row per step transition, with the step's response or error.
CREATE TABLE saga_step_log (
    log_id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    saga_id      UUID NOT NULL REFERENCES saga_state (saga_id) ON DELETE CASCADE,
    step_name    TEXT NOT NULL,
    step_status  TEXT NOT NULL,
    step_data    JSONB,
    executed_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT saga_step_log_step_name_check CHECK (step_name IN (
        'RESERVE_INVENTORY', 'PROCESS_PAYMENT', 'CREATE_ORDER', 'CONFIRM_INVENTORY')),
    CONSTRAINT saga_step_log_step_status_check
        CHECK (step_status IN ('STARTED', 'COMPLETED', 'FAILED', 'COMPENSATED'))
);
-- A saga's history in order.
CREATE INDEX saga_step_log_saga_idx ON saga_step_log (saga_id, log_id);
