//! The wire types of edgeshop's HTTP API: camelCase JSON as in the seed's Part 2.2.
//!
//! Ids are strings of digits; money amounts are decimal strings (`"499.99"`), never JSON
//! numbers, so nothing is rounded through a float. Request types refuse unknown fields: a
//! misspelt `salePrise` is an error, not a silently ignored field.

pub mod auth;
pub mod carts;
pub mod catalog;
pub mod checkout;
pub mod error;
pub mod flash_sales;
pub mod inventory;
pub mod orders;
pub mod users;

pub use error::{ErrorBody, ErrorDetail};
