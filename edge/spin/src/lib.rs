//! The Spin adapter: converts a wasi:http request to the edge's, provides the [`Host`] (the
//! key-value store Spin grants the component, outbound HTTP to the core, Spin variables) and
//! converts the answer back. No storefront logic lives here.
//!
//! Key-value and variables go through the standard `wasi:keyvalue` and `wasi:config`
//! interfaces (see `wit/`), which Spin implements and which edgeshop's local host can provide.
//!
//! The component exists only on Wasm: natively the crate is empty, since a native library
//! cannot carry the component's exports (CI lints it with `--target wasm32-wasip2`).
#![cfg(target_family = "wasm")]

mod bindings {
    spin_sdk::wit_bindgen::generate!({
        runtime_path: "spin_sdk::wit_bindgen::rt",
        world: "spin-host-imports",
        path: "wit",
        generate_all,
    });
}

mod host;

use bytes::Bytes;
use edgeshop_edge::{EdgeError, Method, Request, Response};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{FullBody, IntoResponse};

use host::SpinHost;

#[spin_sdk::http_service]
async fn handle(request: spin_sdk::http::Request) -> impl IntoResponse {
    let response = match into_edge_request(request).await {
        Ok(request) => match SpinHost::open() {
            Ok(host) => edgeshop_edge::handle(&host, request).await,
            Err(err) => EdgeError::Store(err).to_response(),
        },
        Err(answer) => answer,
    };
    into_spin_response(response)
}

async fn into_edge_request(request: spin_sdk::http::Request) -> Result<Request, Response> {
    let method = Method::parse(request.method().as_str())
        .ok_or_else(|| EdgeError::MethodNotAllowed.to_response())?;
    let (parts, body) = request.into_parts();
    let mut edge = Request::new(method, parts.uri.path());
    edge.query = parts.uri.query().unwrap_or_default().to_owned();
    edge.headers = parts
        .headers
        .iter()
        .filter_map(|(name, value)| {
            Some((name.as_str().to_owned(), value.to_str().ok()?.to_owned()))
        })
        .collect();
    // A body that cannot be read is treated as empty: the handlers refuse it as malformed.
    edge.body = body.bytes().await.map(|b| b.to_vec()).unwrap_or_default();
    Ok(edge)
}

fn into_spin_response(response: Response) -> http::Response<FullBody<Bytes>> {
    let mut builder = http::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    builder
        .body(FullBody::new(Bytes::from(response.body)))
        .unwrap_or_else(|_| {
            // Only a header the edge itself produced could be invalid here.
            let mut fallback = http::Response::new(FullBody::new(Bytes::from_static(
                b"{\"error\":{\"code\":\"internal_error\",\"message\":\"the edge produced an invalid answer\"}}",
            )));
            *fallback.status_mut() = http::StatusCode::INTERNAL_SERVER_ERROR;
            fallback
        })
}
