//! The edge of edgeshop (skeleton).
//!
//! This crate will hold the platform-neutral storefront: routing, handlers and HTML over a small
//! host trait, with thin adapters for Cloudflare Workers and Spin. Until the edge issue lands it
//! only proves that the shared model compiles into the edge's dependency graph.

pub use shared_model;
