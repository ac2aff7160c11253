-- Inventory: warehouses, stock rows and reservations.
-- The database itself makes overselling impossible: reserved never exceeds total and nothing
-- goes negative, whatever the application does. Redis only caches these counters.

CREATE TABLE warehouses (
    warehouse_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code          VARCHAR(32) NOT NULL,
    name          VARCHAR(255) NOT NULL,
    country       CHAR(2) NOT NULL,
    state         VARCHAR(100) NOT NULL DEFAULT '',
    postal_code   VARCHAR(20) NOT NULL DEFAULT '',
    -- Used to pick the warehouse nearest a shipping address.
    latitude      NUMERIC(9, 6) NOT NULL,
    longitude     NUMERIC(9, 6) NOT NULL,
    is_active     BOOLEAN NOT NULL DEFAULT true,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT warehouses_code_key UNIQUE (code),
    CONSTRAINT warehouses_country_check CHECK (country ~ '^[A-Z]{2}$'),
    CONSTRAINT warehouses_latitude_check CHECK (latitude BETWEEN -90 AND 90),
    CONSTRAINT warehouses_longitude_check CHECK (longitude BETWEEN -180 AND 180)
);

CREATE TABLE inventory (
    inventory_id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id           BIGINT NOT NULL REFERENCES products (product_id),
    -- NULL for a product sold without variants.
    variant_id           BIGINT,
    warehouse_id         BIGINT NOT NULL REFERENCES warehouses (warehouse_id),
    quantity_total       INT NOT NULL DEFAULT 0,
    quantity_reserved    INT NOT NULL DEFAULT 0,
    quantity_available   INT GENERATED ALWAYS AS (quantity_total - quantity_reserved) STORED,
    low_stock_threshold  INT NOT NULL DEFAULT 10,
    version              BIGINT NOT NULL DEFAULT 0,
    updated_at           TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT inventory_total_non_negative CHECK (quantity_total >= 0),
    CONSTRAINT inventory_reserved_non_negative CHECK (quantity_reserved >= 0),
    CONSTRAINT inventory_reserved_within_total CHECK (quantity_reserved <= quantity_total),
    CONSTRAINT inventory_threshold_check CHECK (low_stock_threshold >= 0),
    CONSTRAINT inventory_variant_of_product FOREIGN KEY (product_id, variant_id)
        REFERENCES product_variants (product_id, variant_id),
    -- One row per (product, variant, warehouse), a product without variants included.
    CONSTRAINT inventory_product_variant_warehouse_key
        UNIQUE NULLS NOT DISTINCT (product_id, variant_id, warehouse_id)
);
CREATE INDEX inventory_product_idx ON inventory (product_id) INCLUDE (quantity_available);
CREATE INDEX inventory_low_stock_idx ON inventory (quantity_available, low_stock_threshold);

CREATE TABLE inventory_reservations (
    reservation_id  BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inventory_id    BIGINT NOT NULL REFERENCES inventory (inventory_id),
    saga_id         UUID NOT NULL,
    checkout_id     UUID NOT NULL,
    -- Set once the saga's order exists (the foreign key is added with the orders table).
    order_id        BIGINT,
    cart_id         VARCHAR(100),
    quantity        INT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'PENDING',
    -- Every reservation expires on its own; the sweeper is driven by this column.
    expires_at      TIMESTAMPTZ NOT NULL,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT inventory_reservations_saga_inventory_key UNIQUE (saga_id, inventory_id),
    CONSTRAINT inventory_reservations_quantity_check CHECK (quantity > 0),
    CONSTRAINT inventory_reservations_status_check
        CHECK (status IN ('PENDING', 'CONFIRMED', 'RELEASED', 'EXPIRED'))
);
CREATE INDEX inventory_reservations_pending_expiry_idx ON inventory_reservations (expires_at)
    WHERE status = 'PENDING';
CREATE INDEX inventory_reservations_cart_idx ON inventory_reservations (cart_id);
CREATE INDEX inventory_reservations_order_idx ON inventory_reservations (order_id);
