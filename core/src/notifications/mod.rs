//! The notifications context: which message a buyer gets for which event. The consumer turns
//! events into rows of `notifications` marked PENDING; sending them (email, SMS, push) is a
//! separate sender's job, which reads PENDING rows and marks them SENT or FAILED.
//! Invariant: at most one notification per (saga, type, channel), whatever the redeliveries.

pub mod consumer;
pub mod store;

pub use consumer::NotificationConsumer;
