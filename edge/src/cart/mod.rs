//! Carts at the edge (seed Part 5): stored in the runtime's own key-value store, edited against
//! the cached product data, owned by a guest's cart id or a signed-in buyer.

pub mod lines;
pub mod merge;
pub mod owner;
pub mod routes;
pub mod snapshot;
pub mod store;
pub mod today;
