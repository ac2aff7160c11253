-- Cart snapshots (the carts context). Carts live at the edge; each change is copied here
-- asynchronously for backup, analytics and abandoned-cart reminders. Checkout never trusts these
-- rows: it re-validates and re-prices the lines the edge sends.

CREATE TABLE carts (
    -- The edge makes the id ('cart_' + 32 lowercase hex digits); the core never generates one.
    cart_id           VARCHAR(100) PRIMARY KEY,
    -- NULL for a guest's cart.
    user_id           BIGINT REFERENCES users (user_id) ON DELETE CASCADE,
    status            TEXT NOT NULL DEFAULT 'ACTIVE',
    currency          CHAR(3) NOT NULL DEFAULT 'USD',
    -- Guest carts expire 30 days after their last change; a signed-in buyer's cart never does.
    expires_at        TIMESTAMPTZ,
    -- The edge's time of the change this snapshot reflects. Snapshots arrive asynchronously and
    -- possibly out of order, so one older than the stored value is ignored.
    last_snapshot_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    created_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at        TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT carts_cart_id_check CHECK (cart_id ~ '^cart_[0-9a-f]{32}$'),
    CONSTRAINT carts_status_check CHECK (status IN ('ACTIVE', 'MERGED', 'CONVERTED', 'ABANDONED')),
    CONSTRAINT carts_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    -- Exactly the guest carts expire (the cleanup job relies on every guest cart having a date).
    CONSTRAINT carts_expiry_check CHECK ((user_id IS NULL) = (expires_at IS NOT NULL))
);
CREATE INDEX carts_user_idx ON carts (user_id) WHERE user_id IS NOT NULL;
-- Reminders look for signed-in carts left ACTIVE and untouched for a while.
CREATE INDEX carts_status_updated_idx ON carts (status, updated_at);
CREATE INDEX carts_expires_idx ON carts (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE cart_items (
    cart_item_id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    cart_id            VARCHAR(100) NOT NULL REFERENCES carts (cart_id) ON DELETE CASCADE,
    product_id         BIGINT NOT NULL REFERENCES products (product_id),
    -- NULL for a product sold without variants.
    variant_id         BIGINT,
    quantity           INT NOT NULL DEFAULT 1,
    -- The unit price the buyer saw when adding the line: the cart flags lines whose price has
    -- changed since, and checkout asks for re-confirmation of a rise.
    price_at_addition  NUMERIC(12, 2) NOT NULL,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    -- 100 is the highest per-product cap (products_max_quantity_check); the product's own cap
    -- (10 by default, 1 for flash-sale items) is applied by the cart logic.
    CONSTRAINT cart_items_quantity_check CHECK (quantity BETWEEN 1 AND 100),
    CONSTRAINT cart_items_price_at_addition_check CHECK (price_at_addition >= 0),
    CONSTRAINT cart_items_variant_of_product FOREIGN KEY (product_id, variant_id)
        REFERENCES product_variants (product_id, variant_id),
    -- One line per (product, variant), a product without variants included; also the cart's index.
    CONSTRAINT cart_items_cart_product_variant_key
        UNIQUE NULLS NOT DISTINCT (cart_id, product_id, variant_id)
);
-- Analytics and price-drop reminders ask which carts hold a product.
CREATE INDEX cart_items_product_idx ON cart_items (product_id);
