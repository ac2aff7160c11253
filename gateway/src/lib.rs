//! edgeshop's sandbox card-payment gateway: a small Stripe-like HTTP server (charges, refunds,
//! idempotency keys, test tokens that decline, time out or fail after capture) that the core
//! talks to over a real socket. State is in memory only: a restart forgets everything.
//!
//! Other crates' tests start it in-process with [`spawn`]; the binary uses [`run`].

mod auth;
mod body;
mod charges;
pub mod config;
mod error;
mod idempotency;
mod money;
mod refunds;
mod state;

use std::net::{Ipv4Addr, SocketAddr};

use anyhow::Context;
use axum::Json;
use axum::Router;
use axum::http::Uri;
use axum::middleware;
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use config::GatewayConfig;
use error::ApiError;

use state::AppState;

/// The whole HTTP app with fresh, empty in-memory state.
pub fn app(config: GatewayConfig) -> Router {
    router(AppState::new(config))
}

fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/v1/charges", post(charges::create).get(charges::list))
        .route("/v1/charges/{id}", get(charges::retrieve))
        .route("/v1/refunds", post(refunds::create))
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_secret_key,
        ));
    Router::new()
        .route("/healthz", get(healthz))
        .merge(v1)
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(state)
}

async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

async fn unknown_route(uri: Uri) -> ApiError {
    ApiError::ResourceMissing(format!("Unrecognized request URL: {}", uri.path()))
}

async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}

/// Binds 127.0.0.1 on a free port and serves a fresh gateway in a background task. Abort the
/// handle (or end the runtime) to stop it.
pub async fn spawn(config: GatewayConfig) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let app = app(config);
    let handle = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app).await {
            tracing::error!(%err, "sandbox gateway stopped serving");
        }
    });
    Ok((addr, handle))
}

/// Binds `bind`, prints `edgeshop-gateway listening on http://ADDR` (the one line scripts wait
/// for) and serves until SIGINT or SIGTERM, then finishes in-flight requests and returns.
pub async fn run(bind: SocketAddr, config: GatewayConfig) -> anyhow::Result<()> {
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("could not bind {bind}"))?;
    let addr = listener.local_addr()?;
    let state = AppState::new(config);
    println!("edgeshop-gateway listening on http://{addr}");
    let app = router(state.clone());
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown_signal().await;
            tracing::info!("shutting down");
            // Cut `tok_timeout` sleeps short so shutdown does not wait out their delay.
            state.begin_shutdown();
        })
        .await
        .context("serving the sandbox gateway")
}

async fn shutdown_signal() {
    let interrupt = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut sigterm) => {
                sigterm.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = interrupt => {}
        _ = terminate => {}
    }
}
