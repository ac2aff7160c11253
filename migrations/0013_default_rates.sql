-- Starting tax and shipping rates, so a new shop prices checkouts out of the box. Admins change
-- them in these tables; a country without a row pays no tax and the fallback shipping rate
-- (see core/src/pricing/store.rs).

INSERT INTO tax_rates (country, state, rate) VALUES
    ('US', '', 0.08000),
    ('US', 'CA', 0.08250),
    ('US', 'NY', 0.08875),
    ('US', 'OR', 0.00000),
    ('GB', '', 0.20000),
    ('DE', '', 0.19000),
    ('IN', '', 0.18000)
ON CONFLICT (country, state) DO NOTHING;

INSERT INTO shipping_rates (country, currency, flat, free_over) VALUES
    ('US', 'USD', 5.99, 50.00),
    ('GB', 'USD', 7.99, 75.00),
    ('DE', 'USD', 7.99, 75.00),
    ('IN', 'USD', 9.99, NULL)
ON CONFLICT (country) DO NOTHING;
