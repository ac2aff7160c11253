//! One Durable Object per stored record (a buyer's cart, a pending checkout). Durable Objects
//! are strongly consistent: a cart edit is read back by the buyer's next request wherever it
//! lands, which Workers KV (eventually consistent across locations) does not promise. The
//! object holds one value; the adapter's key-value calls become GET, PUT and DELETE to it.

use std::time::Duration;

use worker::{
    DurableObject, Env, Method, Request, Response, Result, State, durable_object, js_sys,
};

/// The storage key of the object's one value.
const VALUE: &str = "value";
/// A record nobody writes for this long is dropped, as the seed's 30-day cart TTL says.
const IDLE_LIFETIME: Duration = Duration::from_secs(30 * 24 * 3600);

#[durable_object]
pub struct EdgeRecord {
    state: State,
}

impl DurableObject for EdgeRecord {
    fn new(state: State, _env: Env) -> Self {
        Self { state }
    }

    async fn fetch(&self, mut request: Request) -> Result<Response> {
        let storage = self.state.storage();
        match request.method() {
            Method::Get => {
                let stored = storage.get_multiple(vec![VALUE]).await?;
                let value = stored.get(&VALUE.into());
                if value.is_undefined() {
                    return Ok(Response::empty()?.with_status(404));
                }
                Response::from_bytes(js_sys::Uint8Array::new(&value).to_vec())
            }
            Method::Put => {
                let body = request.bytes().await?;
                storage
                    .put_raw(VALUE, js_sys::Uint8Array::from(body.as_slice()))
                    .await?;
                storage.set_alarm(IDLE_LIFETIME).await?;
                Ok(Response::empty()?.with_status(204))
            }
            Method::Delete => {
                storage.delete_all().await?;
                Ok(Response::empty()?.with_status(204))
            }
            _ => Ok(Response::empty()?.with_status(405)),
        }
    }

    async fn alarm(&self) -> Result<Response> {
        self.state.storage().delete_all().await?;
        Response::empty()
    }
}
