-- Returns (the returns context): a buyer asks to send back items of a delivered order within 30
-- days of delivery; the warehouse receives and inspects them, an admin approves or rejects, and an
-- approved return is refunded and, where the goods are fit to sell, restocked.

-- Status flow (the seed's sequence: inspect first, then decide):
--   REQUESTED -> RECEIVED -> APPROVED -> REFUNDED
--   REQUESTED -> REJECTED   (not eligible: outside the window, excluded item)
--   RECEIVED  -> REJECTED   (failed inspection; the goods are sent back to the buyer)
CREATE TABLE returns (
    return_id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id      BIGINT NOT NULL REFERENCES orders (order_id),
    user_id       BIGINT NOT NULL REFERENCES users (user_id),
    status        TEXT NOT NULL DEFAULT 'REQUESTED',
    reason        TEXT NOT NULL,
    requested_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- When the warehouse logged the parcel in.
    received_at   TIMESTAMPTZ,
    -- The approval or rejection; decided_by is the admin, NULL when a rule decided (e.g. the
    -- window had closed).
    decided_at    TIMESTAMPTZ,
    decided_by    BIGINT REFERENCES users (user_id),
    decision_note TEXT,
    -- Set when the refund is started (APPROVED); the return is REFUNDED once it is processed.
    refund_id     BIGINT REFERENCES refunds (refund_id),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT returns_refund_id_key UNIQUE (refund_id),
    CONSTRAINT returns_status_check
        CHECK (status IN ('REQUESTED', 'RECEIVED', 'APPROVED', 'REJECTED', 'REFUNDED')),
    CONSTRAINT returns_reason_check CHECK (length(btrim(reason)) > 0),
    CONSTRAINT returns_decided_at_check
        CHECK ((status IN ('APPROVED', 'REJECTED', 'REFUNDED')) = (decided_at IS NOT NULL)),
    CONSTRAINT returns_refund_check CHECK (status <> 'REFUNDED' OR refund_id IS NOT NULL)
);
CREATE INDEX returns_order_idx ON returns (order_id);
CREATE INDEX returns_user_idx ON returns (user_id, requested_at DESC);
-- The admin queue: open returns, oldest first.
CREATE INDEX returns_open_idx ON returns (requested_at) WHERE status IN ('REQUESTED', 'RECEIVED');

-- The lines being returned. That a line belongs to the return's order, and that the quantities
-- returned over all returns do not exceed the quantity ordered, is checked by the application
-- under the order's row lock.
CREATE TABLE return_items (
    return_item_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    return_id       BIGINT NOT NULL REFERENCES returns (return_id) ON DELETE CASCADE,
    order_item_id   BIGINT NOT NULL REFERENCES order_items (order_item_id),
    quantity        INT NOT NULL,
    -- Set at inspection. False by default: restocking damaged goods would let the shop sell
    -- units it does not have, so only goods inspected as sellable go back into inventory.
    restock         BOOLEAN NOT NULL DEFAULT false,
    CONSTRAINT return_items_return_order_item_key UNIQUE (return_id, order_item_id),
    CONSTRAINT return_items_quantity_check CHECK (quantity > 0)
);
CREATE INDEX return_items_order_item_idx ON return_items (order_item_id);
