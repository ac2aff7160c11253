//! `edgeshop-spin-host`: runs edgeshop's Spin component locally, where the `spin` CLI cannot be
//! installed. It serves the component's wasi:http handler with wasmtime (instances reused across
//! requests, kept alive after an answer for the component's background work, as Spin does) and
//! provides the two interfaces the component imports beyond wasi:http and wasi:cli:
//! wasi:keyvalue on Redis (as Spin's Redis key-value provider) and wasi:config from
//! `SPIN_VARIABLE_<NAME>` environment variables (as Spin's environment variable provider).

mod bindings;
mod keyvalue;
mod state;
mod variables;
mod worker;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use http_body_util::BodyExt;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Engine};
use wasmtime_wasi_http::handler::{ProxyHandler, ProxyPre};

use crate::keyvalue::RedisStore;
use crate::state::HostState;
use crate::worker::EdgeWorkers;

#[derive(Parser)]
#[command(version, about = "Serves edgeshop's Spin component locally")]
struct Args {
    /// The component (`edgeshop_edge_spin.wasm`, built for wasm32-wasip2).
    component: PathBuf,
    /// Where to listen (`:0` picks a free port).
    #[arg(long, env = "SPIN_HOST_BIND", default_value = "127.0.0.1:3000")]
    addr: SocketAddr,
    /// The Redis that backs the key-value store.
    #[arg(
        long,
        env = "SPIN_KV_REDIS_URL",
        default_value = "redis://127.0.0.1:6379"
    )]
    kv_redis_url: String,
    /// Prefix of every key the store writes (several hosts or tests can share a Redis).
    #[arg(long, env = "SPIN_KV_PREFIX", default_value = "edgeshop-edge:")]
    kv_prefix: String,
}

/// Spin's environment provider: `SPIN_VARIABLE_CORE_URL` is the variable `core_url`.
fn variables_from_env() -> HashMap<String, String> {
    std::env::vars()
        .filter_map(|(name, value)| {
            let name = name.strip_prefix("SPIN_VARIABLE_")?;
            Some((name.to_ascii_lowercase(), value))
        })
        .collect()
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let mut config = Config::new();
    config.wasm_component_model_async(true);
    let engine = Engine::new(&config)?;
    let component = Component::from_file(&engine, &args.component)
        .map_err(|e| anyhow::anyhow!("loading {}: {e:?}", args.component.display()))?;

    let mut linker = Linker::<HostState>::new(&engine);
    wasmtime_wasi::p2::add_to_linker_async(&mut linker)?;
    wasmtime_wasi::p3::add_to_linker(&mut linker)?;
    wasmtime_wasi_http::p3::add_to_linker(&mut linker)?;
    keyvalue::add_to_linker(&mut linker)?;
    variables::add_to_linker(&mut linker)?;
    let pre =
        wasmtime_wasi_http::p3::bindings::ServicePre::new(linker.instantiate_pre(&component)?)
            .map_err(|e| anyhow::anyhow!("the component must export wasi:http/handler: {e:?}"))?;

    let store = RedisStore::connect(&args.kv_redis_url, &args.kv_prefix).await?;
    let handler = ProxyHandler::new(EdgeWorkers::new(
        engine,
        ProxyPre::P3(pre),
        store,
        Arc::new(variables_from_env()),
    ));

    let listener = tokio::net::TcpListener::bind(args.addr).await?;
    println!(
        "edgeshop-spin-host listening on http://{}",
        listener.local_addr()?
    );
    loop {
        let (client, _) = tokio::select! {
            accepted = listener.accept() => accepted?,
            _ = shutdown() => return Ok(()),
        };
        // Answers go out in more than one write; without this, Nagle's algorithm holds the
        // last one back until the client's delayed ACK (~40 ms per request).
        client.set_nodelay(true)?;
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| {
                let handler = handler.clone();
                async move { Ok::<_, std::convert::Infallible>(serve(&handler, request).await) }
            });
            if let Err(err) = http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(client), service)
                .await
            {
                eprintln!("connection error: {err}");
            }
        });
    }
}

async fn serve(
    handler: &ProxyHandler<EdgeWorkers>,
    request: hyper::Request<hyper::body::Incoming>,
) -> hyper::Response<wasmtime_wasi_http::WasiBody> {
    let request = request.map(|body| body.map_err(Into::into).boxed_unsync());
    match handler.handle((), request).await {
        Ok(response) => response,
        Err(err) => {
            eprintln!("the component failed: {err:?}");
            let body = http_body_util::Full::new(bytes::Bytes::from_static(
                br#"{"error":{"code":"edge_failed","message":"the storefront failed to answer"}}"#,
            ))
            .map_err(|never| match never {})
            .boxed_unsync();
            let mut response = hyper::Response::new(body);
            *response.status_mut() = hyper::StatusCode::INTERNAL_SERVER_ERROR;
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            );
            response
        }
    }
}

/// Ctrl-C or SIGTERM.
async fn shutdown() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
