-- The catalog: sellers, the category tree, products, variants, images and reviews.

CREATE TABLE sellers (
    seller_id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- The account that manages this seller; NULL only for the marketplace's own house seller.
    user_id       BIGINT REFERENCES users (user_id),
    display_name  VARCHAR(255) NOT NULL,
    status        TEXT NOT NULL DEFAULT 'ACTIVE',
    is_house      BOOLEAN NOT NULL DEFAULT false,
    created_at    TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT sellers_user_key UNIQUE (user_id),
    CONSTRAINT sellers_status_check CHECK (status IN ('ACTIVE', 'SUSPENDED')),
    CONSTRAINT sellers_house_has_no_user CHECK (NOT is_house OR user_id IS NULL)
);
CREATE UNIQUE INDEX sellers_one_house ON sellers (is_house) WHERE is_house;
-- Products an admin lists without naming a seller belong to the house seller.
INSERT INTO sellers (display_name, is_house) VALUES ('edgeshop Retail', true);

CREATE TABLE categories (
    category_id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name                VARCHAR(255) NOT NULL,
    parent_category_id  BIGINT REFERENCES categories (category_id),
    slug                VARCHAR(255) NOT NULL,
    level               INT NOT NULL DEFAULT 0,
    -- Materialised path of ids ('/1/7/23/'): "this category and everything under it" is one
    -- prefix match on an index instead of a recursive query per request.
    path                TEXT NOT NULL DEFAULT '',
    display_order       INT NOT NULL DEFAULT 0,
    created_at          TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT categories_slug_key UNIQUE (slug),
    CONSTRAINT categories_slug_check CHECK (slug ~ '^[a-z0-9]+(-[a-z0-9]+)*$'),
    CONSTRAINT categories_level_check CHECK (level >= 0)
);
CREATE INDEX categories_parent_idx ON categories (parent_category_id);
CREATE INDEX categories_path_idx ON categories (path text_pattern_ops);

-- Level and path follow from the parent; a category never moves (its path is baked into
-- nothing else, but moving it would silently re-home every product below it).
CREATE FUNCTION categories_set_path() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    parent_path  TEXT;
    parent_level INT;
BEGIN
    IF TG_OP = 'UPDATE' THEN
        IF NEW.parent_category_id IS DISTINCT FROM OLD.parent_category_id THEN
            RAISE EXCEPTION 'a category cannot be moved to another parent'
                USING ERRCODE = 'check_violation', CONSTRAINT = 'categories_parent_fixed';
        END IF;
        NEW.path := OLD.path;
        NEW.level := OLD.level;
        RETURN NEW;
    END IF;
    IF NEW.parent_category_id IS NULL THEN
        NEW.level := 0;
        NEW.path := '/' || NEW.category_id || '/';
    ELSE
        SELECT path, level INTO parent_path, parent_level
          FROM categories WHERE category_id = NEW.parent_category_id;
        NEW.level := parent_level + 1;
        NEW.path := parent_path || NEW.category_id || '/';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER categories_set_path BEFORE INSERT OR UPDATE ON categories
    FOR EACH ROW EXECUTE FUNCTION categories_set_path();

CREATE TABLE products (
    product_id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    seller_id               BIGINT NOT NULL REFERENCES sellers (seller_id),
    category_id             BIGINT NOT NULL REFERENCES categories (category_id),
    name                    VARCHAR(500) NOT NULL,
    description             TEXT NOT NULL DEFAULT '',
    brand                   VARCHAR(255) NOT NULL,
    sku                     VARCHAR(100) NOT NULL,
    base_price              NUMERIC(12, 2) NOT NULL,
    sale_price              NUMERIC(12, 2),
    -- What a buyer pays before coupons: filters, sorting and price facets use it.
    effective_price         NUMERIC(12, 2) GENERATED ALWAYS AS (COALESCE(sale_price, base_price)) STORED,
    currency                CHAR(3) NOT NULL DEFAULT 'USD',
    status                  TEXT NOT NULL DEFAULT 'ACTIVE',
    attributes              JSONB NOT NULL DEFAULT '{}',
    -- The per-line cap of a cart or order (flash-sale items use 1).
    max_quantity_per_order  INT NOT NULL DEFAULT 10,
    avg_rating              NUMERIC(3, 2) NOT NULL DEFAULT 0,
    review_count            INT NOT NULL DEFAULT 0,
    -- Bumped on every edit; caches and the edge key product data on it.
    version                 BIGINT NOT NULL DEFAULT 1,
    created_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at              TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT products_sku_key UNIQUE (sku),
    CONSTRAINT products_name_check CHECK (length(btrim(name)) > 0),
    CONSTRAINT products_base_price_check CHECK (base_price >= 0),
    CONSTRAINT products_sale_price_check CHECK (sale_price IS NULL OR (sale_price >= 0 AND sale_price <= base_price)),
    CONSTRAINT products_currency_check CHECK (currency ~ '^[A-Z]{3}$'),
    CONSTRAINT products_status_check CHECK (status IN ('ACTIVE', 'INACTIVE', 'OUT_OF_STOCK')),
    CONSTRAINT products_attributes_check CHECK (jsonb_typeof(attributes) = 'object'),
    CONSTRAINT products_max_quantity_check CHECK (max_quantity_per_order BETWEEN 1 AND 100),
    CONSTRAINT products_rating_check CHECK (avg_rating BETWEEN 0 AND 5),
    CONSTRAINT products_review_count_check CHECK (review_count >= 0)
);
CREATE INDEX products_category_idx ON products (category_id);
CREATE INDEX products_seller_idx ON products (seller_id);
CREATE INDEX products_status_idx ON products (status);
CREATE INDEX products_brand_idx ON products (brand);
-- The listing's sort orders, over visible products only.
CREATE INDEX products_newest_idx ON products (created_at DESC, product_id DESC) WHERE status <> 'INACTIVE';
CREATE INDEX products_price_idx ON products (effective_price, product_id) WHERE status <> 'INACTIVE';
CREATE INDEX products_rating_idx ON products (avg_rating DESC, product_id) WHERE status <> 'INACTIVE';

CREATE TABLE product_variants (
    variant_id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id      BIGINT NOT NULL REFERENCES products (product_id) ON DELETE CASCADE,
    sku             VARCHAR(100) NOT NULL,
    name            VARCHAR(255) NOT NULL,
    price_modifier  NUMERIC(12, 2) NOT NULL DEFAULT 0,
    attributes      JSONB NOT NULL DEFAULT '{}',
    -- Variants are retired, never deleted: orders and stock rows keep pointing at them.
    is_active       BOOLEAN NOT NULL DEFAULT true,
    display_order   INT NOT NULL DEFAULT 0,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT product_variants_sku_key UNIQUE (sku),
    -- Lets stock rows prove their variant belongs to their product.
    CONSTRAINT product_variants_product_variant_key UNIQUE (product_id, variant_id),
    CONSTRAINT product_variants_attributes_check CHECK (jsonb_typeof(attributes) = 'object')
);
CREATE INDEX product_variants_product_idx ON product_variants (product_id);

CREATE TABLE product_images (
    image_id       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id     BIGINT NOT NULL REFERENCES products (product_id) ON DELETE CASCADE,
    image_url      VARCHAR(500) NOT NULL,
    alt_text       VARCHAR(255) NOT NULL DEFAULT '',
    display_order  INT NOT NULL DEFAULT 0,
    is_primary     BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX product_images_product_idx ON product_images (product_id, display_order);
CREATE UNIQUE INDEX product_images_one_primary ON product_images (product_id) WHERE is_primary;

CREATE TABLE reviews (
    review_id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id         BIGINT NOT NULL REFERENCES products (product_id) ON DELETE CASCADE,
    user_id            BIGINT NOT NULL REFERENCES users (user_id),
    rating             SMALLINT NOT NULL,
    title              VARCHAR(200) NOT NULL DEFAULT '',
    body               TEXT NOT NULL DEFAULT '',
    verified_purchase  BOOLEAN NOT NULL DEFAULT false,
    -- Moderation: only PUBLISHED reviews count towards a product's rating.
    status             TEXT NOT NULL DEFAULT 'PUBLISHED',
    helpful_count      INT NOT NULL DEFAULT 0,
    created_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at         TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT reviews_one_per_buyer UNIQUE (product_id, user_id),
    CONSTRAINT reviews_rating_check CHECK (rating BETWEEN 1 AND 5),
    CONSTRAINT reviews_status_check CHECK (status IN ('PENDING', 'PUBLISHED', 'REJECTED')),
    CONSTRAINT reviews_helpful_check CHECK (helpful_count >= 0)
);
CREATE INDEX reviews_product_idx ON reviews (product_id, created_at DESC) WHERE status = 'PUBLISHED';

CREATE TABLE review_votes (
    review_id   BIGINT NOT NULL REFERENCES reviews (review_id) ON DELETE CASCADE,
    user_id     BIGINT NOT NULL REFERENCES users (user_id),
    helpful     BOOLEAN NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (review_id, user_id)
);
