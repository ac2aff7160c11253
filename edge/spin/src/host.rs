//! [`Host`] on Spin: the `default` key-value store for carts and (with an expiry stamp) for the
//! edge cache, which Spin does not have; outbound wasi:http to the core; Spin variables.

use std::collections::HashMap;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use edgeshop_edge::{CoreRequest, Host, HostError, Response};
use futures_util::future::{Either, select};
use spin_sdk::http::FullBody;
use spin_sdk::http::body::IncomingBodyExt;

use crate::bindings::wasi::config::store as variables;
use crate::bindings::wasi::keyvalue::store::{self as kv, Bucket};

/// The store Spin grants with `key_value_stores = ["default"]`.
const STORE: &str = "default";
/// Edge-cache entries share the store with carts under this prefix.
const CACHE_PREFIX: &str = "edge-cache:";

pub struct SpinHost {
    bucket: Bucket,
    /// Spin variables, read once per request (their names are lowercase in Spin).
    variables: HashMap<String, String>,
}

impl SpinHost {
    pub fn open() -> Result<Self, HostError> {
        let bucket = kv::open(STORE).map_err(store_error)?;
        // Without variables the edge answers "misconfigured" for what it cannot find.
        let variables = variables::get_all()
            .unwrap_or_default()
            .into_iter()
            .collect();
        Ok(SpinHost { bucket, variables })
    }
}

impl Host for SpinHost {
    async fn cache_get(&self, key: &str) -> Option<Vec<u8>> {
        let stored = self.bucket.get(&format!("{CACHE_PREFIX}{key}")).ok()??;
        let (until, value) = stored.split_first_chunk::<8>()?;
        let until = i64::from_be_bytes(*until);
        (until > self.now().timestamp_millis()).then(|| value.to_vec())
    }

    async fn cache_put(&self, key: &str, value: Vec<u8>, ttl: Duration) {
        let ttl = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let until = self.now().timestamp_millis().saturating_add(ttl);
        let mut stamped = until.to_be_bytes().to_vec();
        stamped.extend_from_slice(&value);
        // Best effort: a cache that refuses only costs the next request a trip to the core.
        let _ = self.bucket.set(&format!("{CACHE_PREFIX}{key}"), &stamped);
    }

    async fn kv_get(&self, key: &str) -> Result<Option<Vec<u8>>, HostError> {
        self.bucket.get(key).map_err(store_error)
    }

    async fn kv_put(&self, key: &str, value: Vec<u8>) -> Result<(), HostError> {
        self.bucket.set(key, &value).map_err(store_error)
    }

    async fn kv_delete(&self, key: &str) -> Result<(), HostError> {
        self.bucket.delete(key).map_err(store_error)
    }

    async fn fetch_core(
        &self,
        request: CoreRequest,
        timeout: Duration,
    ) -> Result<Response, HostError> {
        fetch(request, timeout).await
    }

    fn send_in_background(&self, request: CoreRequest, timeout: Duration) {
        spin_sdk::wasip3::spawn(async move {
            // Nobody waits for the outcome; a lost snapshot is replaced by the next one.
            let _ = fetch(request, timeout).await;
        });
    }

    fn keeps_state_between_requests(&self) -> bool {
        false
    }

    fn now(&self) -> DateTime<Utc> {
        DateTime::<Utc>::from(SystemTime::now())
    }

    fn random_bytes(&self) -> [u8; 16] {
        let mut bytes = [0u8; 16];
        // wasi:random is part of every Spin component's world; without it there is no safe id.
        getrandom::fill(&mut bytes).expect("wasi:random is available");
        bytes
    }

    fn config(&self, name: &str) -> Option<String> {
        self.variables.get(&name.to_ascii_lowercase()).cloned()
    }
}

/// Outbound wasi:http to the core, abandoned after `timeout`.
async fn fetch(request: CoreRequest, timeout: Duration) -> Result<Response, HostError> {
    let unreachable = |e: &dyn std::fmt::Display| HostError::Unreachable(e.to_string());
    let mut builder = http::Request::builder()
        .method(request.method.as_str())
        .uri(&request.url);
    for (name, value) in &request.headers {
        builder = builder.header(name, value);
    }
    let outgoing = builder
        .body(FullBody::new(Bytes::from(request.body)))
        .map_err(|e| unreachable(&e))?;
    let call = Box::pin(async move {
        let answer = spin_sdk::http::send(outgoing)
            .await
            .map_err(|e| unreachable(&e))?;
        let (parts, body) = answer.into_parts();
        let body = body
            .bytes()
            .await
            .map_err(|e| unreachable(&format!("{e:?}")))?;
        Ok(Response {
            status: parts.status.as_u16(),
            headers: parts
                .headers
                .iter()
                .filter_map(|(n, v)| Some((n.as_str().to_owned(), v.to_str().ok()?.to_owned())))
                .collect(),
            body: body.to_vec(),
        })
    });
    match select(call, Box::pin(spin_sdk::time::sleep(timeout))).await {
        Either::Left((answer, _)) => answer,
        Either::Right(_) => Err(HostError::Timeout(timeout)),
    }
}

fn store_error(err: kv::Error) -> HostError {
    HostError::Store(match err {
        kv::Error::NoSuchStore => "no such store".into(),
        kv::Error::AccessDenied => "access denied".into(),
        kv::Error::Other(message) => message,
    })
}
