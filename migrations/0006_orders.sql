-- Orders, their lines and the audit trail of status changes (the orders context).
-- The checkout saga creates the order PENDING before payment (so payments can point at it), then
-- confirms or fails it; amounts are fixed at creation and must add up.

CREATE TABLE orders (
    order_id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- Human-readable and derived from the saga id, so a retried CREATE_ORDER step lands on the
    -- same row (INSERT ... ON CONFLICT) instead of making a second order.
    order_number         VARCHAR(50) NOT NULL,
    user_id              BIGINT NOT NULL REFERENCES users (user_id),
    -- The saga id is itself derived from the checkout id: one checkout, one saga, one order.
    saga_id              UUID NOT NULL,
    checkout_id          UUID NOT NULL,
    status               TEXT NOT NULL DEFAULT 'PENDING',
    payment_status       TEXT NOT NULL DEFAULT 'PENDING',
    subtotal             NUMERIC(12, 2) NOT NULL,
    discount_amount      NUMERIC(12, 2) NOT NULL DEFAULT 0,
    tax_amount           NUMERIC(12, 2) NOT NULL DEFAULT 0,
    shipping_amount      NUMERIC(12, 2) NOT NULL DEFAULT 0,
    total_amount         NUMERIC(12, 2) NOT NULL,
    currency             CHAR(3) NOT NULL DEFAULT 'USD',
    -- The code as applied, upper-cased; a snapshot, so no foreign key (coupons can be retired).
    coupon_code          VARCHAR(50),
    -- Addresses can be edited or deleted later; the JSONB copy is what the order ships to.
    shipping_address_id  BIGINT REFERENCES addresses (address_id) ON DELETE SET NULL,
    billing_address_id   BIGINT REFERENCES addresses (address_id) ON DELETE SET NULL,
    shipping_address     JSONB NOT NULL,
    payment_method       VARCHAR(50),
    -- The Idempotency-Key of the request that created the order (creation is already idempotent
    -- through the saga id; this lets a replayed request and support find the order).
    idempotency_key      VARCHAR(255),
    -- The 30-day return window counts from this.
    delivered_at         TIMESTAMPTZ,
    created_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT orders_order_number_key UNIQUE (order_number),
    CONSTRAINT orders_saga_id_key UNIQUE (saga_id),
    CONSTRAINT orders_checkout_id_key UNIQUE (checkout_id),
    CONSTRAINT orders_idempotency_key_key UNIQUE (idempotency_key),
    -- Printed on labels and read out to support: letters, digits, '-' and '_' only.
    CONSTRAINT orders_order_number_check CHECK (order_number ~ '^[A-Za-z0-9][A-Za-z0-9_-]*$'),
    CONSTRAINT orders_status_check CHECK (status IN ('PENDING', 'CONFIRMED', 'PROCESSING', 'SHIPPED',
        'DELIVERED', 'CANCELLED', 'RETURNED', 'REFUNDED', 'FAILED')),
    CONSTRAINT orders_payment_status_check CHECK (payment_status IN ('PENDING', 'AUTHORIZED',
        'CAPTURED', 'FAILED', 'REFUNDED', 'PARTIALLY_REFUNDED')),
    CONSTRAINT orders_subtotal_check CHECK (subtotal >= 0),
    -- A discount never exceeds the goods it applies to, so the total cannot go negative.
    CONSTRAINT orders_discount_amount_check CHECK (discount_amount >= 0 AND discount_amount <= subtotal),
    CONSTRAINT orders_tax_amount_check CHECK (tax_amount >= 0),
    CONSTRAINT orders_shipping_amount_check CHECK (shipping_amount >= 0),
    -- The amount charged is exactly what the buyer was shown, line by line.
    CONSTRAINT orders_total_amount_check
        CHECK (total_amount = subtotal - discount_amount + tax_amount + shipping_amount),
    CONSTRAINT orders_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT orders_coupon_code_check CHECK (coupon_code IS NULL OR coupon_code = upper(coupon_code)),
    CONSTRAINT orders_shipping_address_check CHECK (jsonb_typeof(shipping_address) = 'object'),
    -- A delivered order always knows when, or its return window could not be computed.
    CONSTRAINT orders_delivered_at_check CHECK (status <> 'DELIVERED' OR delivered_at IS NOT NULL)
);
-- "My orders", newest first.
CREATE INDEX orders_user_created_idx ON orders (user_id, created_at DESC);
CREATE INDEX orders_status_idx ON orders (status);
CREATE INDEX orders_created_idx ON orders (created_at);

CREATE TABLE order_items (
    order_item_id    BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id         BIGINT NOT NULL REFERENCES orders (order_id),
    product_id       BIGINT NOT NULL REFERENCES products (product_id),
    -- NULL for a product sold without variants.
    variant_id       BIGINT,
    seller_id        BIGINT NOT NULL REFERENCES sellers (seller_id),
    -- The warehouse the line ships from; NULL when its units are reserved in more than one
    -- (the line's inventory_reservations then say which).
    warehouse_id     BIGINT REFERENCES warehouses (warehouse_id),
    quantity         INT NOT NULL,
    -- The unit price charged, fixed at order time.
    unit_price       NUMERIC(12, 2) NOT NULL,
    -- This line's share of coupon and promotion discounts.
    discount_amount  NUMERIC(12, 2) NOT NULL DEFAULT 0,
    total_price      NUMERIC(12, 2) NOT NULL,
    status           TEXT NOT NULL DEFAULT 'PENDING',
    created_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT order_items_quantity_check CHECK (quantity BETWEEN 1 AND 100),
    CONSTRAINT order_items_unit_price_check CHECK (unit_price >= 0),
    CONSTRAINT order_items_discount_amount_check
        CHECK (discount_amount >= 0 AND discount_amount <= unit_price * quantity),
    CONSTRAINT order_items_total_price_check CHECK (total_price = unit_price * quantity - discount_amount),
    CONSTRAINT order_items_status_check CHECK (status IN ('PENDING', 'CONFIRMED', 'SHIPPED', 'DELIVERED',
        'CANCELLED', 'RETURNED')),
    CONSTRAINT order_items_variant_of_product FOREIGN KEY (product_id, variant_id)
        REFERENCES product_variants (product_id, variant_id)
);
CREATE INDEX order_items_order_idx ON order_items (order_id);
CREATE INDEX order_items_seller_idx ON order_items (seller_id, order_id);
-- "Did this buyer purchase this product" (verified reviews) and per-product sales.
CREATE INDEX order_items_product_idx ON order_items (product_id);

-- Every status change of an order, written in the same transaction as the change.
CREATE TABLE order_status_history (
    history_id   BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id     BIGINT NOT NULL REFERENCES orders (order_id),
    -- NULL for the order's creation.
    from_status  TEXT,
    to_status    TEXT NOT NULL,
    reason       TEXT,
    -- Who made the change: a user id in decimal (buyer, seller or admin), or 'system' for the
    -- saga, the sweeper and the other background jobs.
    actor        VARCHAR(30) NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT order_status_history_from_status_check CHECK (from_status IS NULL OR from_status IN (
        'PENDING', 'CONFIRMED', 'PROCESSING', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'RETURNED',
        'REFUNDED', 'FAILED')),
    CONSTRAINT order_status_history_to_status_check CHECK (to_status IN ('PENDING', 'CONFIRMED',
        'PROCESSING', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'RETURNED', 'REFUNDED', 'FAILED')),
    CONSTRAINT order_status_history_change_check CHECK (from_status IS DISTINCT FROM to_status),
    CONSTRAINT order_status_history_actor_check CHECK (actor ~ '^([1-9][0-9]{0,18}|system)$')
);
CREATE INDEX order_status_history_order_idx ON order_status_history (order_id, history_id);

-- Reservations are made before their order exists; once it does, they must point at a real one.
ALTER TABLE inventory_reservations ADD CONSTRAINT inventory_reservations_order_fkey
    FOREIGN KEY (order_id) REFERENCES orders (order_id);
