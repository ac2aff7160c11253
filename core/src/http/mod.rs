//! HTTP plumbing shared by every context: extractors that answer in the API's error format,
//! and the middleware that observes every request (correlation id, log line, metrics).

pub mod extract;
pub mod observe;

pub use extract::{JsonBody, PathParam, QueryParams};
