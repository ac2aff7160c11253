//! The Cloudflare Workers adapter: converts a Worker's request to the edge's, provides the
//! [`Host`] (the Cache API, a Durable Object per cart, `fetch` to the core, the Worker's vars
//! and secrets) and converts the answer back. No storefront logic lives here.

mod record_object;

use std::time::Duration;

use chrono::{DateTime, Utc};
use edgeshop_edge::{CoreRequest, Host, HostError, Method, Request, Response};
use futures_util::future::{Either, select};
use worker::{AbortController, Cache, Context, Delay, Env, Fetch, Headers, RequestInit, event};

/// The Durable Object namespace carts and pending checkouts are kept in, one object per key
/// (`[durable_objects]` in wrangler.toml).
const RECORDS: &str = "RECORDS";
/// Requests to a record's object are addressed to it by its stub; the URL only carries the verb.
const RECORD_URL: &str = "https://record.edgeshop.internal/";
/// The Cache API stores responses keyed by URL; edge cache entries live under this origin.
const CACHE_ORIGIN: &str = "https://edge-cache.edgeshop.internal/";

#[event(fetch)]
async fn fetch(
    request: worker::Request,
    env: Env,
    ctx: Context,
) -> worker::Result<worker::Response> {
    let host = WorkersHost { env, ctx };
    let response = match into_edge_request(request).await {
        Ok(request) => edgeshop_edge::handle(&host, request).await,
        Err(answer) => answer,
    };
    into_worker_response(response)
}

async fn into_edge_request(mut request: worker::Request) -> Result<Request, Response> {
    let unsupported = || edgeshop_edge::EdgeError::MethodNotAllowed.to_response();
    let method = Method::parse(request.method().as_ref()).ok_or_else(unsupported)?;
    let url = request
        .url()
        .map_err(|_| edgeshop_edge::EdgeError::invalid("url", "not a URL").to_response())?;
    let mut edge = Request::new(method, url.path());
    edge.query = url.query().unwrap_or_default().to_owned();
    edge.headers = request
        .headers()
        .entries()
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect();
    edge.body = request.bytes().await.unwrap_or_default();
    Ok(edge)
}

fn into_worker_response(response: Response) -> worker::Result<worker::Response> {
    let headers = Headers::new();
    for (name, value) in &response.headers {
        headers.append(name, value)?;
    }
    Ok(worker::Response::from_bytes(response.body)?
        .with_status(response.status)
        .with_headers(headers))
}

struct WorkersHost {
    env: Env,
    ctx: Context,
}

impl WorkersHost {
    fn cache_url(key: &str) -> String {
        format!("{CACHE_ORIGIN}{key}")
    }

    /// One call to the Durable Object that holds `key`.
    async fn record(
        &self,
        key: &str,
        method: worker::Method,
        body: Option<Vec<u8>>,
    ) -> Result<worker::Response, HostError> {
        let stub = self
            .env
            .durable_object(RECORDS)
            .and_then(|namespace| namespace.get_by_name(key))
            .map_err(store_error)?;
        let mut init = RequestInit::new();
        init.with_method(method);
        if let Some(body) = body {
            let body = worker::js_sys::Uint8Array::from(body.as_slice());
            init.with_body(Some(body.into()));
        }
        let request = worker::Request::new_with_init(RECORD_URL, &init).map_err(store_error)?;
        stub.fetch_with_request(request).await.map_err(store_error)
    }
}

fn written(answer: worker::Response) -> Result<(), HostError> {
    match answer.status_code() {
        204 => Ok(()),
        status => Err(HostError::Store(format!("record store answered {status}"))),
    }
}

impl Host for WorkersHost {
    async fn cache_get(&self, key: &str) -> Option<Vec<u8>> {
        let mut cached = Cache::default()
            .get(Self::cache_url(key), false)
            .await
            .ok()??;
        cached.bytes().await.ok()
    }

    async fn cache_put(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        let Ok(response) = worker::Response::from_bytes(value) else {
            return;
        };
        let headers = Headers::new();
        if headers
            .set("cache-control", &format!("max-age={}", ttl.as_secs()))
            .is_err()
        {
            return;
        }
        // Best effort: a cache that refuses only costs the next request a trip to the core.
        let _ = Cache::default()
            .put(Self::cache_url(key), response.with_headers(headers))
            .await;
    }

    async fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, HostError> {
        let mut answer = self.record(key, worker::Method::Get, None).await?;
        match answer.status_code() {
            404 => Ok(None),
            200 => answer.bytes().await.map(Some).map_err(store_error),
            status => Err(HostError::Store(format!("record store answered {status}"))),
        }
    }

    async fn kv_put(&self, key: &str, value: Vec<u8>) -> Result<(), HostError> {
        self.record(key, worker::Method::Put, Some(value))
            .await
            .and_then(written)
    }

    async fn kv_delete(&self, key: &str) -> Result<(), HostError> {
        self.record(key, worker::Method::Delete, None)
            .await
            .and_then(written)
    }

    async fn fetch_core(
        &self,
        request: CoreRequest,
        timeout: Duration,
    ) -> Result<Response, HostError> {
        fetch(request, timeout).await
    }

    fn send_in_background(&self, request: CoreRequest, timeout: Duration) {
        self.ctx.wait_until(async move {
            // Nobody waits for the outcome; a lost snapshot is replaced by the next one.
            let _ = fetch(request, timeout).await;
        });
    }

    fn now(&self) -> DateTime<Utc> {
        let millis = worker::Date::now().as_millis();
        DateTime::from_timestamp_millis(millis as i64).unwrap_or_default()
    }

    fn random_bytes(&self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        // The Workers runtime always has crypto.getRandomValues; without it there is no safe id.
        getrandom::getrandom(&mut bytes).expect("crypto.getRandomValues is available in Workers");
        bytes
    }

    fn config(&self, name: &str) -> Option<String> {
        self.env
            .secret(name)
            .or_else(|_| self.env.var(name))
            .ok()
            .map(|value| value.to_string())
    }
}

/// `fetch` to the core, aborted after `timeout`.
async fn fetch(request: CoreRequest, timeout: Duration) -> Result<Response, HostError> {
    let unreachable = |e: worker::Error| HostError::Unreachable(e.to_string());
    let headers = Headers::new();
    for (name, value) in &request.headers {
        headers.append(name, value).map_err(unreachable)?;
    }
    let mut init = RequestInit::new();
    init.with_method(worker::Method::from(request.method.as_str().to_owned()))
        .with_headers(headers);
    if !request.body.is_empty() {
        let body = worker::js_sys::Uint8Array::from(request.body.as_slice());
        init.with_body(Some(body.into()));
    }
    let outgoing = worker::Request::new_with_init(&request.url, &init).map_err(unreachable)?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let call = Fetch::Request(outgoing);
    let sent = Box::pin(call.send_with_signal(&signal));
    let mut answer = match select(sent, Delay::from(timeout)).await {
        Either::Left((answer, _)) => answer.map_err(unreachable)?,
        Either::Right(_) => {
            controller.abort();
            return Err(HostError::Timeout(timeout));
        }
    };
    let body = answer.bytes().await.map_err(unreachable)?;
    Ok(Response {
        status: answer.status_code(),
        headers: answer
            .headers()
            .entries()
            .map(|(name, value)| (name.to_ascii_lowercase(), value))
            .collect(),
        body,
    })
}

fn store_error(err: impl std::fmt::Display) -> HostError {
    HostError::Store(err.to_string())
}
