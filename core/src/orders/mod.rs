//! Orders: every change goes through the order state machine and into `order_status_history`.

pub mod store;
