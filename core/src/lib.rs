//! edgeshop's regional core: the strongly consistent axum service behind the edge.
//!
//! One folder per bounded context (`users`, `catalog`, `inventory`, ...), each with its HTTP
//! routes, its rules and its storage apart; cross-cutting plumbing (errors, extractors,
//! idempotency, the outbox, Redis) lives beside them. `startup` assembles the application.

pub mod auth;
pub mod carts;
pub mod catalog;
pub mod checkout;
pub mod cli;
pub mod config;
pub mod error;
pub mod flash_sales;
pub mod group_commit;
pub mod health;
pub mod http;
pub mod idempotency;
pub mod inventory;
pub mod kv;
pub mod notifications;
pub mod openapi;
pub mod orders;
pub mod outbox;
pub mod payments;
pub mod pricing;
pub mod rate_limits;
pub mod seed;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod users;
