-- A sale's waiting room admits at its rate only while fewer than this many admitted buyers are
-- still on their way to checkout: beyond what the core can check out, an admitted buyer waits
-- in checkout instead of in the waiting room, where waiting costs a cheap poll at the edge.
ALTER TABLE flash_sales
    ADD COLUMN max_active_buyers INT NOT NULL DEFAULT 1000,
    ADD CONSTRAINT flash_sales_max_active_buyers_check CHECK (max_active_buyers BETWEEN 1 AND 1000000);
