//! Routes the edge does not answer itself (sign-in, accounts, payment, orders, listings) go to
//! the core as they came, with the buyer's token. Only the headers the core reads are passed on,
//! and only the headers a browser needs come back: cookies and hop-by-hop headers stay behind.

use crate::config::EdgeConfig;
use crate::core_client;
use crate::error::EdgeError;
use crate::host::Host;
use crate::http::{Request, Response};
use crate::rate_limit;

/// What the core reads from a request.
const TO_CORE: &[&str] = &[
    "accept",
    "accept-language",
    "authorization",
    "content-type",
    "idempotency-key",
    "x-correlation-id",
];

/// What a browser may see of the core's answer.
const FROM_CORE: &[&str] = &[
    "cache-control",
    "content-type",
    "etag",
    "location",
    "retry-after",
    "x-correlation-id",
];

/// Sends the request to the core and hands back its answer.
pub async fn to_core(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
) -> Result<Response, EdgeError> {
    send(host, config, request, request.body.clone()).await
}

/// Sends the request with another body (one the edge built, such as checkout's cart lines).
pub async fn send(
    host: &impl Host,
    config: &EdgeConfig,
    request: &Request,
    body: Vec<u8>,
) -> Result<Response, EdgeError> {
    let path_and_query = if request.query.is_empty() {
        request.path.clone()
    } else {
        format!("{}?{}", request.path, request.query)
    };
    let mut headers = keep(&request.headers, TO_CORE);
    // The core limits checkouts per buyer address, and believes an address only from the edge.
    if let Some(secret) = &config.edge_secret
        && let Some(client) = rate_limit::client(request)
    {
        headers.push(("x-forwarded-for".into(), client));
        headers.push(("x-edge-secret".into(), secret.clone()));
    }
    let answer =
        core_client::send(host, config, request.method, &path_and_query, headers, body).await?;
    Ok(Response {
        status: answer.status,
        headers: keep(&answer.headers, FROM_CORE),
        body: answer.body,
    })
}

fn keep(headers: &[(String, String)], names: &[&str]) -> Vec<(String, String)> {
    headers
        .iter()
        .filter(|(name, _)| names.iter().any(|kept| name.eq_ignore_ascii_case(kept)))
        .map(|(name, value)| (name.to_ascii_lowercase(), value.clone()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_named_headers_pass() {
        let headers = vec![
            ("Authorization".to_owned(), "Bearer t".to_owned()),
            ("Cookie".to_owned(), "cart_id=x".to_owned()),
            ("Connection".to_owned(), "keep-alive".to_owned()),
            ("Idempotency-Key".to_owned(), "k1".to_owned()),
        ];
        assert_eq!(
            keep(&headers, TO_CORE),
            vec![
                ("authorization".to_owned(), "Bearer t".to_owned()),
                ("idempotency-key".to_owned(), "k1".to_owned()),
            ]
        );
    }
}
