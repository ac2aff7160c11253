//! edgeshop's shared domain model.
//!
//! Both the Wasm edge and the native core compile this crate, so they cannot disagree about
//! money, ids, carts, prices, order states, events or the JSON on the wire. It does no I/O and
//! reads no clock: callers pass `now` in, which keeps every rule here testable and deterministic.

#[macro_use]
mod schema;

pub mod api;
pub mod auth;
pub mod cart;
pub mod catalog;
pub mod error;
pub mod events;
pub mod flash_sale;
pub mod ids;
pub mod money;
pub mod order;
pub mod pricing;
pub mod users;
pub mod verified_tokens;

pub use error::ModelError;
pub use money::{Currency, Money};
