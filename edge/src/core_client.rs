//! Calls to the regional core, bounded by the configured timeout.

use crate::config::EdgeConfig;
use crate::error::EdgeError;
use crate::host::{CoreRequest, Host};
use crate::http::{Method, Response};

pub async fn send(
    host: &impl Host,
    config: &EdgeConfig,
    method: Method,
    path: &str,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
) -> Result<Response, EdgeError> {
    let request = CoreRequest {
        method,
        url: format!("{}{path}", config.core_url),
        headers,
        body,
    };
    host.fetch_core(request, config.core_timeout)
        .await
        .map_err(EdgeError::CoreUnavailable)
}

pub async fn get(host: &impl Host, config: &EdgeConfig, path: &str) -> Result<Response, EdgeError> {
    send(host, config, Method::Get, path, Vec::new(), Vec::new()).await
}
