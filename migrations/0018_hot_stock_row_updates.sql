-- Every reservation batch, confirmation and release updates its stock row's counts, and a flash
-- sale updates one row hundreds of times a second. With quantity_available in an index, each of
-- those updates wrote a new entry into every index of the table and left the old ones for
-- vacuum: the hot row's index entries piled up for as long as the sale lasted and every later
-- lookup of the row walked them. Without it, an update that finds room on the row's page is a
-- heap-only (HOT) update: no index entry at all, and the dead versions are pruned in place.
--
-- Nothing looks stock up by its available count (low stock is announced as a reservation
-- crosses the threshold), and a product's rows are found through the
-- (product_id, variant_id, warehouse_id) key, whose first column is the product.
DROP INDEX inventory_low_stock_idx;
DROP INDEX inventory_product_idx;
-- Room on every page for new versions of its rows, so updates stay heap-only.
ALTER TABLE inventory SET (fillfactor = 70);
