//! Operations endpoints: liveness, readiness, Prometheus metrics, the OpenAPI document and the
//! token-verification key set.

pub mod routes;

pub use routes::router;
