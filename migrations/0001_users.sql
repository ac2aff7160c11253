-- Users, their addresses and preferences (the users context).
-- Enumerations are TEXT with CHECKs: readable in psql, and simple to map in Rust.

CREATE TABLE users (
    user_id        BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email          VARCHAR(255) NOT NULL,
    password_hash  VARCHAR(255) NOT NULL,
    first_name     VARCHAR(100) NOT NULL,
    last_name      VARCHAR(100) NOT NULL DEFAULT '',
    phone          VARCHAR(20),
    role           TEXT NOT NULL DEFAULT 'CUSTOMER',
    status         TEXT NOT NULL DEFAULT 'ACTIVE',
    created_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at     TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT users_email_key UNIQUE (email),
    -- Emails are stored lower-cased so uniqueness is case-insensitive.
    CONSTRAINT users_email_lowercase CHECK (email = lower(email)),
    CONSTRAINT users_role_check CHECK (role IN ('CUSTOMER', 'SELLER', 'ADMIN')),
    CONSTRAINT users_status_check CHECK (status IN ('ACTIVE', 'SUSPENDED', 'DELETED'))
);
CREATE INDEX users_status_idx ON users (status);

CREATE TABLE addresses (
    address_id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (user_id) ON DELETE CASCADE,
    address_type    TEXT NOT NULL DEFAULT 'SHIPPING',
    street_address  VARCHAR(500) NOT NULL,
    city            VARCHAR(100) NOT NULL,
    state           VARCHAR(100) NOT NULL DEFAULT '',
    postal_code     VARCHAR(20) NOT NULL,
    -- ISO 3166-1 alpha-2: tax, shipping and the nearest warehouse are chosen by country.
    country         CHAR(2) NOT NULL,
    is_default      BOOLEAN NOT NULL DEFAULT false,
    created_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    updated_at      TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT addresses_type_check CHECK (address_type IN ('SHIPPING', 'BILLING')),
    CONSTRAINT addresses_country_check CHECK (country ~ '^[A-Z]{2}$')
);
CREATE INDEX addresses_user_idx ON addresses (user_id);
-- At most one default address of each type per user.
CREATE UNIQUE INDEX addresses_one_default_per_type ON addresses (user_id, address_type) WHERE is_default;

CREATE TABLE user_preferences (
    user_id          BIGINT PRIMARY KEY REFERENCES users (user_id) ON DELETE CASCADE,
    email_opt_in     BOOLEAN NOT NULL DEFAULT true,
    sms_opt_in       BOOLEAN NOT NULL DEFAULT false,
    push_opt_in      BOOLEAN NOT NULL DEFAULT false,
    language         VARCHAR(10) NOT NULL DEFAULT 'en',
    currency         CHAR(3) NOT NULL DEFAULT 'USD',
    updated_at       TIMESTAMPTZ NOT NULL DEFAULT now(),
    CONSTRAINT user_preferences_currency_check CHECK (currency ~ '^[A-Z]{3}$')
);
