//! Builds the application in one place: state, routes, middleware, background jobs, server.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::net::TcpListener;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;

use crate::auth::TokenKeys;
use crate::checkout::completion::Completer;
use crate::checkout::opening::Opener;
use crate::checkout::recording::Recorder;
use crate::config::{Config, Environment};
use crate::error::error_response;
use crate::flash_sales::FlashSales;
use crate::idempotency::IdempotencyKeys;
use crate::inventory::reservations::Reservations;
use crate::kv::Redis;
use crate::openapi::ApiDoc;
use crate::payments::{GatewayClient, GatewaySettings};
use crate::state::{AppState, Services};
use crate::{
    carts, catalog, checkout, flash_sales, health, idempotency, inventory, orders, outbox,
    rate_limits, telemetry, users,
};

/// The migrations, embedded at build time from `migrations/`.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../migrations");

pub async fn connect_db(config: &Config) -> anyhow::Result<PgPool> {
    if config.environment == Environment::Development {
        create_database_if_missing(&config.database_url).await?;
    }
    pool_options(config.database_max_connections)
        .connect(&config.database_url)
        .await
        .with_context(|| {
            format!(
                "connecting to PostgreSQL at {}",
                redact(&config.database_url)
            )
        })
}

/// How the shop pools PostgreSQL connections. No ping before each checkout of a connection:
/// it cost a round trip per query or transaction, and a connection that died is found by the
/// query itself (which fails, drops the connection and answers 503) just the same.
pub fn pool_options(max_connections: u32) -> PgPoolOptions {
    PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
}

/// A development shop makes its own database on first start; production databases are
/// provisioned, never conjured.
async fn create_database_if_missing(url: &str) -> anyhow::Result<()> {
    use sqlx::migrate::MigrateDatabase;
    let exists = sqlx::Postgres::database_exists(url)
        .await
        .with_context(|| format!("connecting to PostgreSQL at {}", redact(url)))?;
    if !exists {
        sqlx::Postgres::create_database(url)
            .await
            .with_context(|| format!("creating the database {}", redact(url)))?;
        tracing::info!(url = %redact(url), "created the database");
    }
    Ok(())
}

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

pub async fn build_state(config: Config) -> anyhow::Result<AppState> {
    let db = connect_db(&config).await?;
    state_with(config, db, None)
}

/// State from parts, for tests that bring their own database and keys.
pub fn state_with(config: Config, db: PgPool, keys: Option<TokenKeys>) -> anyhow::Result<AppState> {
    // First: the batch writers below take their metric handles when they start, and a handle
    // taken before the recorder is installed records nothing.
    let metrics = telemetry::metrics_handle();
    let keys = match keys {
        Some(keys) => keys,
        None => TokenKeys::load(&config.jwt_key, config.environment)?,
    };
    let redis = Redis::new(&config.redis_url, &config.redis_key_prefix)?;
    let mut gateway = GatewaySettings::new(
        &config.payment_gateway_url,
        &config.payment_gateway_secret_key,
    );
    gateway.attempt_timeout = config.payment_gateway_timeout;
    let admission_key = flash_sales::key::load(&config.admission_key, config.environment)?;
    Ok(AppState::new(Services {
        flash_sales: Arc::new(FlashSales::new(admission_key)),
        reservations: Arc::new(Reservations::new(db.clone(), redis.clone())),
        // The crash tests stop a process between saga steps, which a batch has none of.
        completer: Completer::spawn(db.clone(), config.fault_crash_after.is_none()),
        recorder: Recorder::spawn(db.clone()),
        opener: Opener::spawn(db.clone()),
        idempotency_keys: IdempotencyKeys::spawn(db.clone()),
        gateway: GatewayClient::new(gateway)
            .map_err(|e| anyhow::anyhow!("configuring the payment gateway: {e}"))?,
        redis,
        config: Arc::new(config),
        db,
        keys: Arc::new(keys),
        metrics,
        listing_index: Arc::default(),
    }))
}

/// The whole HTTP application.
pub fn app(state: AppState) -> Router {
    let (router, api) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(health::router())
        .merge(users::router())
        .merge(catalog::router())
        .merge(inventory::router())
        .merge(checkout::router())
        .merge(orders::router())
        .merge(carts::router())
        .merge(flash_sales::router())
        .split_for_parts();
    let api = Arc::new(api);
    let timeout = state.config.request_timeout;
    router
        .route(
            "/api/openapi.json",
            axum::routing::get(move || {
                let api = api.clone();
                async move { axum::Json(api.as_ref().clone()) }
            }),
        )
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            idempotency::idempotency,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            rate_limits::checkout_limits,
        ))
        .layer(DefaultBodyLimit::max(
            idempotency::middleware::MAX_BODY_BYTES,
        ))
        .layer(middleware::from_fn(move |req: Request, next: Next| {
            with_timeout(timeout, req, next)
        }))
        .layer(middleware::from_fn(crate::http::observe::observe))
        .layer(CatchPanicLayer::custom(|_| {
            error_response(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "something went wrong on our side",
            )
        }))
        .with_state(state)
}

async fn not_found() -> Response {
    error_response(StatusCode::NOT_FOUND, "route_not_found", "no such endpoint")
}

async fn method_not_allowed() -> Response {
    error_response(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not accept that method",
    )
}

/// A request that takes too long is answered 503 rather than left hanging.
async fn with_timeout(timeout: Duration, req: Request, next: Next) -> Response {
    match tokio::time::timeout(timeout, next.run(req)).await {
        Ok(response) => response,
        Err(_) => error_response(
            StatusCode::SERVICE_UNAVAILABLE,
            "timeout",
            "the request took too long; try again",
        )
        .into_response(),
    }
}

/// Runs migrations, starts the background jobs and serves until SIGINT/SIGTERM.
pub async fn serve(config: Config) -> anyhow::Result<()> {
    let bind = config.bind;
    let state = build_state(config).await?;
    MIGRATOR
        .run(&state.db)
        .await
        .context("running migrations")?;
    let listener = TcpListener::bind(bind)
        .await
        .with_context(|| format!("binding {bind}"))?;
    let address = listener.local_addr()?;
    spawn_background_jobs(&state);
    // Scripts and tests read this line to find the port (EDGESHOP_BIND may ask for port 0).
    println!("edgeshop-core listening on http://{address}");
    tracing::info!(%address, "edgeshop-core listening");
    // The peer address feeds the per-IP rate limit.
    axum::serve(
        listener,
        app(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown_signal())
    .await
    .context("serving HTTP")
}

/// The jobs a serving process runs beside requests: checkout sweeps, the outbox relay, the
/// listing index refresher, and the hourly purge of expired idempotency keys and sessions.
pub fn spawn_background_jobs(state: &AppState) {
    checkout::jobs::spawn(state.clone());
    flash_sales::jobs::spawn(state.clone());
    outbox::relay::spawn(state);
    catalog::listing_index_store::spawn_refresher(
        state.listing_index.clone(),
        state.db.clone(),
        state.redis.clone(),
    );
    let db = state.db.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60 * 60));
        loop {
            tick.tick().await;
            match idempotency::store::purge_expired(&db).await {
                Ok(n) if n > 0 => tracing::info!(purged = n, "expired idempotency keys removed"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "could not purge idempotency keys"),
            }
            match crate::auth::sessions::purge_expired(&db).await {
                Ok(n) if n > 0 => tracing::info!(purged = n, "expired sessions removed"),
                Ok(_) => {}
                Err(err) => tracing::warn!(error = %err, "could not purge expired sessions"),
            }
        }
    });
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down");
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn database_passwords_never_reach_messages() {
        assert_eq!(
            redact("postgres://shop:secret@db:5432/shop"),
            "postgres://***@db:5432/shop"
        );
        assert_eq!(redact("postgres://db/shop"), "postgres://db/shop");
    }
}
