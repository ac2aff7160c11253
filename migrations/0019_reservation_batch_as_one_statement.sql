-- A batch of reservations on one stock row (a hot SKU's) is written as one statement in its own
-- implicit transaction: one round trip where BEGIN, the write and COMMIT took three. A write
-- that takes the row to its low-stock threshold must announce it in the same transaction, which
-- one statement cannot, so that statement calls this to refuse itself (nothing is written) and
-- the batch is written again in an explicit transaction that announces it.
CREATE FUNCTION inventory_refuse_unannounced_low_stock(stock_row BIGINT) RETURNS BOOLEAN
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    RAISE EXCEPTION 'stock row % reached its low-stock threshold', stock_row
        USING ERRCODE = 'check_violation',
              CONSTRAINT = 'inventory_low_stock_announced',
              TABLE = 'inventory';
END
$$;
