//! The Cloudflare Workers adapter: converts a Worker's request to the edge's, provides the
//! [`Host`] (the Cache API, a Durable Object per cart, `fetch` to the core, the Worker's vars
//! and secrets) and converts the answer back. No storefront logic lives here.

mod ed25519;
mod record_object;
mod vars;

use std::time::Duration;

use chrono::{DateTime, Utc};
use edgeshop_edge::{CoreRequest, Host, HostError, Method, Request, Response};
use futures_util::future::{Either, select};
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::{Cache, Context, Delay, Env, Headers, RequestInit, Url, event, js_sys, web_sys};

/// The Durable Object namespace carts and pending checkouts are kept in, one object per key
/// (`[durable_objects]` in wrangler.toml).
const RECORDS: &str = "RECORDS";
/// Requests to a record's object are addressed to it by its stub; the URL only carries the verb.
const RECORD_URL: &str = "https://record.edgeshop.internal/";
/// The Cache API stores responses keyed by URL; edge cache entries live under this origin.
const CACHE_ORIGIN: &str = "https://edge-cache.edgeshop.internal/";

#[event(fetch)]
async fn fetch(
    request: web_sys::Request,
    env: Env,
    ctx: Context,
) -> worker::Result<web_sys::Response> {
    vars::serve_from(&env);
    let host = WorkersHost { env, ctx };
    let response = match into_edge_request(request).await {
        Ok(request) => edgeshop_edge::handle(&host, request).await,
        Err(answer) => answer,
    };
    Ok(into_web_response(response)?)
}

// Requests and responses are read and built on the runtime's own types, not `worker::Request`
// and `worker::Response`: those also build the request's `cf` object and read every body as a
// stream, chunk by chunk, which took 5 % and 9 % of the Worker's CPU in a sale's profile
// (scripts/profile-edge.mjs); the edge needs neither.

async fn into_edge_request(request: web_sys::Request) -> Result<Request, Response> {
    let unsupported = || edgeshop_edge::EdgeError::MethodNotAllowed.to_response();
    let method = Method::parse(&request.method()).ok_or_else(unsupported)?;
    let url = Url::parse(&request.url())
        .map_err(|_| edgeshop_edge::EdgeError::invalid("url", "not a URL").to_response())?;
    let mut edge = Request::new(method, url.path());
    edge.query = url.query().unwrap_or_default().to_owned();
    edge.headers = header_entries(&request.headers()).map_err(|_| {
        edgeshop_edge::EdgeError::invalid("headers", "not readable as text").to_response()
    })?;
    // A GET or HEAD has no body to wait for.
    if !matches!(method, Method::Get | Method::Head) {
        edge.body = whole_body(request.array_buffer()).await.unwrap_or_default();
    }
    Ok(edge)
}

// Header lists cross between JS and Wasm as one JSON string each way. Entry by entry (an
// iterator's `next()`, then each name and value as a string of its own; an `append` per
// header) the glue of those calls took up to ~9 % of the Worker's CPU in a sale's profile
// (`scripts/profile-edge.mjs`). Part of it moves into the runtime, which now parses the
// pairs: paired runs measured 2-5 % less of the Worker's CPU per request, not 9 %.

/// A request's or an answer's headers, names in lower case. Each `set-cookie` is an entry of
/// its own, as the Headers iterator gives them.
fn header_entries(headers: &web_sys::Headers) -> Result<Vec<(String, String)>, JsValue> {
    let text = String::from(js_sys::JSON::stringify(&js_sys::Array::from(headers))?);
    let pairs: Vec<(String, String)> =
        serde_json::from_str(&text).map_err(|e| JsValue::from_str(&e.to_string()))?;
    Ok(pairs
        .into_iter()
        .map(|(name, value)| (name.to_ascii_lowercase(), value))
        .collect())
}

/// Headers for a `Request` or `Response` init: an array of `[name, value]` pairs.
fn headers_init(headers: &[(String, String)]) -> Result<JsValue, JsValue> {
    let text = serde_json::to_string(headers).map_err(|e| JsValue::from_str(&e.to_string()))?;
    js_sys::JSON::parse(&text)
}

/// A body read at once (`arrayBuffer()`), not as a stream.
async fn whole_body(buffer: Result<js_sys::Promise, JsValue>) -> Result<Vec<u8>, JsValue> {
    let buffer = JsFuture::from(buffer?).await?;
    Ok(js_sys::Uint8Array::new(&buffer).to_vec())
}

fn into_web_response(response: Response) -> Result<web_sys::Response, JsValue> {
    let init = web_sys::ResponseInit::new();
    init.set_status(response.status);
    init.set_headers(&headers_init(&response.headers)?);
    let body =
        (!response.body.is_empty()).then(|| js_sys::Uint8Array::from(response.body.as_slice()));
    web_sys::Response::new_with_opt_buffer_source_and_init(body.as_ref().map(|b| b.as_ref()), &init)
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

    async fn verify_ed25519(
        &self,
        public_key: &[u8; 32],
        message: &[u8],
        signature: &[u8; 64],
    ) -> Option<bool> {
        ed25519::verify(public_key, message, signature).await
    }

    fn now(&self) -> DateTime<Utc> {
        // The static `Date.now()`: `worker::Date::now()` builds a `Date` object to read it.
        DateTime::from_timestamp_millis(js_sys::Date::now() as i64).unwrap_or_default()
    }

    fn random_bytes(&self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        // The Workers runtime always has crypto.getRandomValues; without it there is no safe id.
        getrandom::getrandom(&mut bytes).expect("crypto.getRandomValues is available in Workers");
        bytes
    }

    fn config(&self, name: &str) -> Option<String> {
        vars::read(name, || {
            self.env
                .secret(name)
                .or_else(|_| self.env.var(name))
                .ok()
                .map(|value| value.to_string())
        })
    }
}

/// `fetch` to the core, aborted after `timeout` (answer and body both).
async fn fetch(request: CoreRequest, timeout: Duration) -> Result<Response, HostError> {
    let unreachable = |e: JsValue| HostError::Unreachable(format!("{e:?}"));
    let headers = headers_init(&request.headers).map_err(unreachable)?;
    let controller = web_sys::AbortController::new().map_err(unreachable)?;
    let init = web_sys::RequestInit::new();
    init.set_method(request.method.as_str());
    init.set_headers(&headers);
    init.set_signal(Some(&controller.signal()));
    if !request.body.is_empty() {
        init.set_body(&js_sys::Uint8Array::from(request.body.as_slice()));
    }
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    let sent = async {
        let answer: web_sys::Response =
            JsFuture::from(global.fetch_with_str_and_init(&request.url, &init))
                .await?
                .dyn_into()?;
        let body = whole_body(answer.array_buffer()).await?;
        Ok::<_, JsValue>(Response {
            status: answer.status(),
            headers: header_entries(&answer.headers())?,
            body,
        })
    };
    match select(Box::pin(sent), Delay::from(timeout)).await {
        Either::Left((answer, _)) => answer.map_err(unreachable),
        Either::Right(_) => {
            controller.abort();
            Err(HostError::Timeout(timeout))
        }
    }
}

fn store_error(err: impl std::fmt::Display) -> HostError {
    HostError::Store(err.to_string())
}
