//! Flash sales (seed 8.2): a number of units of one item at a sale price, sold only to buyers
//! the waiting room admitted, through a pool of exactly that many purchase tokens.
//!
//! - `routes`: the admin's and the public's HTTP API, and joining the queue.
//! - `sales`: create, change, cancel, pre-warm and show a sale.
//! - `queue`: tickets and the admission cursor (the waiting room's core half).
//! - `purchase`: what checkout asks of a sale: the admission, and a claimed token per unit.
//! - `settlement`: tokens sold or returned as the checkout's stock is confirmed or released.
//! - `jobs`: pre-warming 30 minutes ahead, and repairing claims that never became checkouts.
//! - `pool` (Redis) and `store` (PostgreSQL): the two copies of a sale's state.

pub mod jobs;
pub mod key;
pub mod pool;
pub mod purchase;
pub mod queue;
mod routes;
pub mod sales;
pub mod settlement;
pub mod store;

pub use routes::router;
pub use sales::FlashSales;
