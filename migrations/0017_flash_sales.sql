-- Flash sales (seed 8.2): a number of units of one product (or variant) at a sale price from a
-- start time, sold only to buyers the waiting room admitted, one purchase token per unit.
--
-- Redis holds the hot copy (the pool of free tokens, the claims, the queue); these tables are
-- the record it is rebuilt from after a restart, and they alone decide who holds a token: a
-- token can be held (CLAIMED or SOLD) by one checkout at a time, enforced by a unique index.

CREATE TABLE flash_sales (
    flash_sale_id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id                 BIGINT NOT NULL REFERENCES products (product_id),
    variant_id                 BIGINT REFERENCES product_variants (variant_id),
    units                      INT NOT NULL,
    sale_price                 NUMERIC(12, 2) NOT NULL,
    starts_at                  TIMESTAMPTZ NOT NULL,
    ends_at                    TIMESTAMPTZ,
    per_buyer_limit            INT NOT NULL DEFAULT 1,
    admission_rate_per_minute  INT NOT NULL DEFAULT 1000,
    token_ttl_seconds          INT NOT NULL DEFAULT 300,
    status                     TEXT NOT NULL DEFAULT 'SCHEDULED',
    -- Set when Redis last received the pool; a sale is pre-warmed 30 minutes before it starts.
    prewarmed_at               TIMESTAMPTZ,
    created_at                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at                 TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT flash_sales_units_check CHECK (units BETWEEN 1 AND 1000000),
    CONSTRAINT flash_sales_sale_price_check CHECK (sale_price >= 0),
    CONSTRAINT flash_sales_window_check CHECK (ends_at IS NULL OR ends_at > starts_at),
    CONSTRAINT flash_sales_per_buyer_limit_check CHECK (per_buyer_limit BETWEEN 1 AND 100),
    CONSTRAINT flash_sales_rate_check CHECK (admission_rate_per_minute BETWEEN 1 AND 10000000),
    CONSTRAINT flash_sales_token_ttl_check CHECK (token_ttl_seconds BETWEEN 1 AND 3600),
    CONSTRAINT flash_sales_status_check CHECK (status IN ('SCHEDULED', 'CANCELLED'))
);

CREATE INDEX flash_sales_product_idx ON flash_sales (product_id) WHERE status = 'SCHEDULED';

-- One row per purchase token a checkout took. CLAIMED while the checkout runs, SOLD once its
-- stock is confirmed, RETURNED when the checkout ended without a sale (the token went back to
-- the pool and can be claimed again, by a new row).
CREATE TABLE flash_sale_tokens (
    flash_sale_id  BIGINT NOT NULL REFERENCES flash_sales (flash_sale_id),
    token          INT NOT NULL,
    saga_id        UUID NOT NULL,
    checkout_id    UUID NOT NULL,
    user_id        BIGINT NOT NULL REFERENCES users (user_id),
    -- The admission the token was claimed with: each admission buys once.
    admission_id   UUID NOT NULL,
    status         TEXT NOT NULL DEFAULT 'CLAIMED',
    expires_at     TIMESTAMPTZ NOT NULL,
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    settled_at     TIMESTAMPTZ,
    CONSTRAINT flash_sale_tokens_status_check CHECK (status IN ('CLAIMED', 'SOLD', 'RETURNED'))
);

CREATE UNIQUE INDEX flash_sale_tokens_held_key
    ON flash_sale_tokens (flash_sale_id, token) WHERE status IN ('CLAIMED', 'SOLD');
CREATE INDEX flash_sale_tokens_saga_idx ON flash_sale_tokens (saga_id);
CREATE INDEX flash_sale_tokens_buyer_idx
    ON flash_sale_tokens (flash_sale_id, user_id) WHERE status IN ('CLAIMED', 'SOLD');
