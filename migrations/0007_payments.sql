-- Payments (the payments context): saved payment methods (gateway tokens only), payment attempts
-- against an order, and refunds. Card numbers never reach this database: the gateway tokenises
-- them and we keep the token, brand, last four digits and expiry for display.

CREATE TABLE payment_methods (
    payment_method_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id            BIGINT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    method_type        TEXT NOT NULL,
    payment_gateway    VARCHAR(50) NOT NULL,
    -- The gateway's reusable token for the instrument.
    gateway_token      VARCHAR(255) NOT NULL,
    -- Display details, cards only: VISA, MASTERCARD, ...
    brand              VARCHAR(30),
    last4              CHAR(4),
    exp_month          SMALLINT,
    exp_year           SMALLINT,
    is_default         BOOLEAN NOT NULL DEFAULT false,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payment_methods_gateway_token_key UNIQUE (payment_gateway, gateway_token),
    CONSTRAINT payment_methods_method_type_check CHECK (method_type IN ('CARD', 'PAYPAL', 'UPI')),
    -- Digits alone (spaces or dashes allowed), 12 to 19 of them, are a card number, not a token.
    CONSTRAINT payment_methods_gateway_token_check CHECK (gateway_token !~ '^[0-9 -]{12,23}$'),
    CONSTRAINT payment_methods_last4_check CHECK (last4 IS NULL OR last4 ~ '^[0-9]{4}$'),
    CONSTRAINT payment_methods_exp_month_check CHECK (exp_month IS NULL OR exp_month BETWEEN 1 AND 12),
    CONSTRAINT payment_methods_exp_year_check CHECK (exp_year IS NULL OR exp_year BETWEEN 2000 AND 2100),
    -- Cards always carry last four and expiry; PayPal and UPI carry none of the card details.
    CONSTRAINT payment_methods_card_details_check CHECK (CASE
        WHEN method_type = 'CARD' THEN last4 IS NOT NULL AND exp_month IS NOT NULL AND exp_year IS NOT NULL
        ELSE brand IS NULL AND last4 IS NULL AND exp_month IS NULL AND exp_year IS NULL END)
);
CREATE INDEX payment_methods_user_idx ON payment_methods (user_id);
-- At most one default method per user.
CREATE UNIQUE INDEX payment_methods_default_key ON payment_methods (user_id) WHERE is_default;

-- One row per payment attempt. A declined card leaves a FAILED row; a retry with another card
-- is a new row with a new idempotency key.
CREATE TABLE payments (
    payment_id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The order exists (PENDING) before it is paid for.
    order_id                BIGINT NOT NULL REFERENCES orders (order_id),
    amount                  NUMERIC(12, 2) NOT NULL,
    currency                CHAR(3) NOT NULL DEFAULT 'USD',
    payment_method          VARCHAR(50) NOT NULL,
    -- The saved method used, if any; the payment outlives the method's deletion.
    payment_method_id       BIGINT REFERENCES payment_methods (payment_method_id) ON DELETE SET NULL,
    payment_gateway         VARCHAR(50) NOT NULL,
    gateway_transaction_id  VARCHAR(255),
    status                  TEXT NOT NULL DEFAULT 'INITIATED',
    -- Sent to the gateway, which answers a repeated call with the first call's result.
    idempotency_key         VARCHAR(255) NOT NULL,
    failure_code            VARCHAR(100),
    failure_reason          TEXT,
    -- Whether the buyer may try again (a decline) or the failure is final (fraud, stolen card).
    retryable               BOOLEAN NOT NULL DEFAULT false,
    -- Gateway calls made for this attempt (timeouts are retried with the same idempotency key).
    attempt_count           INT NOT NULL DEFAULT 0,
    -- Refunds claimed against this payment, pending ones included: the refund's transaction
    -- adds its amount here (the row lock orders concurrent refunds, the CHECK refuses an
    -- over-refund) and a refund that FAILS gives it back.
    refunded_amount         NUMERIC(12, 2) NOT NULL DEFAULT 0,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT payments_idempotency_key_key UNIQUE (idempotency_key),
    -- Webhooks and reconciliation look payments up by the gateway's id.
    CONSTRAINT payments_gateway_transaction_key UNIQUE (payment_gateway, gateway_transaction_id),
    -- Lets a refund prove that its payment belongs to its order.
    CONSTRAINT payments_payment_order_key UNIQUE (payment_id, order_id),
    CONSTRAINT payments_amount_check CHECK (amount >= 0),
    CONSTRAINT payments_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT payments_status_check CHECK (status IN ('INITIATED', 'PENDING', 'AUTHORIZED', 'CAPTURED',
        'FAILED', 'REFUNDED', 'PARTIALLY_REFUNDED')),
    CONSTRAINT payments_attempt_count_check CHECK (attempt_count >= 0),
    CONSTRAINT payments_refunded_amount_check CHECK (refunded_amount >= 0 AND refunded_amount <= amount)
);
CREATE INDEX payments_order_idx ON payments (order_id);
-- The reconciliation job: payments stuck INITIATED/PENDING, oldest first.
CREATE INDEX payments_status_created_idx ON payments (status, created_at);
-- No double charge: an order has at most one payment that is not FAILED. A new attempt is only
-- possible once the previous one has definitely failed (an unknown outcome stays PENDING until
-- reconciliation asks the gateway).
CREATE UNIQUE INDEX payments_order_live_key ON payments (order_id) WHERE status <> 'FAILED';

CREATE TABLE refunds (
    refund_id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    payment_id         BIGINT NOT NULL REFERENCES payments (payment_id),
    order_id           BIGINT NOT NULL REFERENCES orders (order_id),
    amount             NUMERIC(12, 2) NOT NULL,
    reason             VARCHAR(500),
    status             TEXT NOT NULL DEFAULT 'PENDING',
    gateway_refund_id  VARCHAR(255),
    idempotency_key    VARCHAR(255) NOT NULL,
    failure_reason     TEXT,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    processed_at       TIMESTAMPTZ,
    CONSTRAINT refunds_idempotency_key_key UNIQUE (idempotency_key),
    CONSTRAINT refunds_gateway_refund_id_key UNIQUE (gateway_refund_id),
    CONSTRAINT refunds_amount_check CHECK (amount > 0),
    CONSTRAINT refunds_status_check CHECK (status IN ('PENDING', 'PROCESSED', 'FAILED')),
    CONSTRAINT refunds_processed_at_check CHECK (status <> 'PROCESSED' OR processed_at IS NOT NULL),
    CONSTRAINT refunds_payment_of_order FOREIGN KEY (payment_id, order_id)
        REFERENCES payments (payment_id, order_id)
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id);
CREATE INDEX refunds_order_idx ON refunds (order_id);
-- Reconciliation: refunds the gateway has not answered yet.
CREATE INDEX refunds_pending_idx ON refunds (created_at) WHERE status = 'PENDING';
