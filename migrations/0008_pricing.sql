-- Pricing (the pricing context): coupons and their redemptions, catalog promotions, and the tax
-- and shipping tables the pipeline's last step reads (base -> dynamic -> sale -> coupon ->
-- member -> tax/shipping).

CREATE TABLE coupons (
    coupon_id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Stored upper-case: buyers type codes in any case and the lookup upper-cases them.
    code            VARCHAR(50) NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    kind            TEXT NOT NULL,
    -- PERCENT_OFF: a percentage in (0, 100]. AMOUNT_OFF: money off, in the coupon's currency.
    value           NUMERIC(12, 2) NOT NULL,
    -- The goods subtotal an order needs before the coupon applies.
    min_subtotal    NUMERIC(12, 2) NOT NULL DEFAULT 0,
    -- Caps a PERCENT_OFF discount; NULL for no cap.
    max_discount    NUMERIC(12, 2),
    currency        CHAR(3) NOT NULL DEFAULT 'USD',
    starts_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- NULL: no end date.
    ends_at         TIMESTAMPTZ,
    -- Total redemptions allowed; NULL for unlimited.
    usage_limit     INT,
    -- Redemptions allowed per buyer; NULL for unlimited.
    per_user_limit  INT,
    -- Incremented in the redeeming order's transaction (and given back if that order fails), so
    -- the CHECK below is what stops the last redemption being sold twice.
    times_used      INT NOT NULL DEFAULT 0,
    is_active       BOOLEAN NOT NULL DEFAULT true,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT coupons_code_key UNIQUE (code),
    CONSTRAINT coupons_code_check CHECK (code ~ '^[A-Z0-9][A-Z0-9_-]*$'),
    CONSTRAINT coupons_kind_check CHECK (kind IN ('PERCENT_OFF', 'AMOUNT_OFF')),
    CONSTRAINT coupons_value_check CHECK (value > 0 AND (kind <> 'PERCENT_OFF' OR value <= 100)),
    CONSTRAINT coupons_min_subtotal_check CHECK (min_subtotal >= 0),
    CONSTRAINT coupons_max_discount_check CHECK (max_discount IS NULL OR max_discount > 0),
    CONSTRAINT coupons_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT coupons_window_check CHECK (ends_at IS NULL OR ends_at > starts_at),
    CONSTRAINT coupons_usage_limit_check CHECK (usage_limit IS NULL OR usage_limit > 0),
    CONSTRAINT coupons_per_user_limit_check CHECK (per_user_limit IS NULL OR per_user_limit > 0),
    CONSTRAINT coupons_times_used_check
        CHECK (times_used >= 0 AND (usage_limit IS NULL OR times_used <= usage_limit))
);

-- One row per order that used a coupon; the per-user limit counts these rows (under the
-- coupon row's lock). When the order fails, its redemption is deleted and times_used given back.
CREATE TABLE coupon_redemptions (
    redemption_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    coupon_id      BIGINT NOT NULL REFERENCES coupons (coupon_id),
    user_id        BIGINT NOT NULL REFERENCES users (user_id),
    order_id       BIGINT NOT NULL REFERENCES orders (order_id),
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT coupon_redemptions_coupon_order_key UNIQUE (coupon_id, order_id)
);
CREATE INDEX coupon_redemptions_coupon_user_idx ON coupon_redemptions (coupon_id, user_id);
CREATE INDEX coupon_redemptions_order_idx ON coupon_redemptions (order_id);

-- Automatic discounts: no code, applied by the pricing pipeline to matching products.
CREATE TABLE promotions (
    promotion_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name          VARCHAR(255) NOT NULL,
    -- MEMBER_DISCOUNT is a percentage that applies only to member buyers (pipeline step 5).
    kind          TEXT NOT NULL,
    -- A percentage in (0, 100] for PERCENT_OFF and MEMBER_DISCOUNT; money off for AMOUNT_OFF.
    value         NUMERIC(12, 2) NOT NULL,
    currency      CHAR(3) NOT NULL DEFAULT 'USD',
    -- Scope: at most one of these is set; none means the whole catalog. A category covers its
    -- whole subtree (categories.path).
    category_id   BIGINT REFERENCES categories (category_id),
    product_id    BIGINT REFERENCES products (product_id) ON DELETE CASCADE,
    brand         VARCHAR(255),
    starts_at     TIMESTAMPTZ NOT NULL,
    ends_at       TIMESTAMPTZ NOT NULL,
    -- When several promotions match a line, the highest priority wins.
    priority      INT NOT NULL DEFAULT 0,
    is_active     BOOLEAN NOT NULL DEFAULT true,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT promotions_name_check CHECK (length(btrim(name)) > 0),
    CONSTRAINT promotions_kind_check CHECK (kind IN ('PERCENT_OFF', 'AMOUNT_OFF', 'MEMBER_DISCOUNT')),
    CONSTRAINT promotions_value_check CHECK (value > 0 AND (kind = 'AMOUNT_OFF' OR value <= 100)),
    CONSTRAINT promotions_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT promotions_scope_check CHECK (num_nonnulls(category_id, product_id, brand) <= 1),
    CONSTRAINT promotions_window_check CHECK (starts_at < ends_at)
);
CREATE INDEX promotions_active_window_idx ON promotions (starts_at, ends_at) WHERE is_active;
CREATE INDEX promotions_product_idx ON promotions (product_id) WHERE product_id IS NOT NULL;
CREATE INDEX promotions_category_idx ON promotions (category_id) WHERE category_id IS NOT NULL;

CREATE TABLE tax_rates (
    tax_rate_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    country      CHAR(2) NOT NULL,
    -- '' is the country-wide rate (as in addresses.state); a state's own row overrides it.
    state        VARCHAR(100) NOT NULL DEFAULT '',
    -- A fraction: 0.08250 is 8.25 %.
    rate         NUMERIC(6, 5) NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT tax_rates_country_state_key UNIQUE (country, state),
    CONSTRAINT tax_rates_country_check CHECK (country ~ '^[A-Z]{2}$'),
    CONSTRAINT tax_rates_rate_check CHECK (rate >= 0 AND rate <= 1)
);

CREATE TABLE shipping_rates (
    shipping_rate_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The destination country; one rate per country.
    country           CHAR(2) NOT NULL,
    currency          CHAR(3) NOT NULL DEFAULT 'USD',
    -- The flat charge per order.
    flat              NUMERIC(12, 2) NOT NULL,
    -- Orders whose goods subtotal after discounts reaches this ship free; NULL: never free.
    free_over         NUMERIC(12, 2),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT shipping_rates_country_key UNIQUE (country),
    CONSTRAINT shipping_rates_country_check CHECK (country ~ '^[A-Z]{2}$'),
    CONSTRAINT shipping_rates_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT shipping_rates_flat_check CHECK (flat >= 0),
    CONSTRAINT shipping_rates_free_over_check CHECK (free_over IS NULL OR free_over >= 0)
);
