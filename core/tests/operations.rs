//! Health, readiness, metrics, the OpenAPI document, correlation ids and the error shape of
//! requests that never reach a handler.

mod support;

use axum::http::StatusCode;
use support::TestApp;

#[sqlx::test(migrations = "../migrations")]
async fn health_and_readiness(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    assert_eq!(app.get("/healthz").send().await.json["status"], "ok");
    let ready = app.get("/readyz").send().await;
    ready.expect(StatusCode::OK);
    assert_eq!(ready.json["postgres"], "ok");
    assert_eq!(ready.json["redis"], "ok");
    let no_redis = TestApp::with_redis(db, "redis://127.0.0.1:1").await;
    let not_ready = no_redis.get("/readyz").send().await;
    not_ready.expect(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(not_ready.json["redis"], "unavailable");
    assert_eq!(not_ready.json["postgres"], "ok");
}

#[sqlx::test(migrations = "../migrations")]
async fn metrics_count_requests_by_route(db: sqlx::PgPool) {
    let app = TestApp::new(db).await;
    app.get("/api/categories")
        .send()
        .await
        .expect(StatusCode::OK);
    let metrics = app.get("/metrics").send().await;
    metrics.expect(StatusCode::OK);
    assert!(
        metrics.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    assert!(
        metrics
            .text
            .contains(r#"http_requests_total{method="GET",route="/api/categories",status="200"}"#),
        "{}",
        metrics.text
    );
    assert!(
        metrics
            .text
            .contains("http_request_duration_seconds_bucket")
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn correlation_ids_are_kept_or_made(db: sqlx::PgPool) {
    let app = TestApp::new(db).await;
    let kept = app
        .get("/healthz")
        .header("x-correlation-id", "corr-123")
        .send()
        .await;
    assert_eq!(kept.headers["x-correlation-id"], "corr-123");
    let made = app.get("/healthz").send().await;
    let id = made.headers["x-correlation-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    let replaced = app
        .get("/healthz")
        .header("x-correlation-id", "bad id <script>")
        .send()
        .await;
    assert_ne!(replaced.headers["x-correlation-id"], "bad id <script>");
    // Errors carry it too.
    let missing = app
        .get("/nowhere")
        .header("x-correlation-id", "corr-404")
        .send()
        .await;
    assert_eq!(missing.headers["x-correlation-id"], "corr-404");
}

#[sqlx::test(migrations = "../migrations")]
async fn requests_that_reach_no_handler_still_get_json_errors(db: sqlx::PgPool) {
    let app = TestApp::new(db).await;
    app.get("/api/nowhere")
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "route_not_found");
    app.delete("/api/products")
        .send()
        .await
        .expect_error(StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let huge = format!("{{\"email\": \"{}\"}}", "x".repeat(600 * 1024));
    app.post("/api/auth/login")
        .raw_json(&huge)
        .send()
        .await
        .expect_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    app.post("/api/auth/login")
        .header("idempotency-key", "big")
        .raw_json(&huge)
        .send()
        .await
        .expect_error(StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_openapi_document_describes_money_as_decimal_strings(db: sqlx::PgPool) {
    let app = TestApp::new(db).await;
    let doc = app.get("/api/openapi.json").send().await;
    doc.expect(StatusCode::OK);
    let schemas = &doc.json["components"]["schemas"];
    assert_eq!(
        schemas["ProductSummary"]["properties"]["price"]["type"],
        "string"
    );
    assert_eq!(
        schemas["ProductInput"]["properties"]["basePrice"]["type"],
        "string"
    );
    assert_eq!(
        schemas["ProductSummary"]["properties"]["productId"]["$ref"],
        "#/components/schemas/ProductId"
    );
    assert_eq!(schemas["ProductId"]["type"], "string");
    assert!(
        doc.json["paths"]["/api/products"]["get"]["parameters"]
            .as_array()
            .unwrap()
            .len()
            >= 8
    );
    assert!(doc.json["components"]["securitySchemes"]["bearer"].is_object());
}

#[sqlx::test(migrations = "../migrations")]
async fn the_published_key_verifies_the_tokens(db: sqlx::PgPool) {
    use base64::Engine;
    let app = TestApp::new(db).await;
    let user = app.user(shared_model::auth::Role::Customer).await;
    let jwks = app.get("/.well-known/jwks.json").send().await.json;
    let x = jwks["keys"][0]["x"].as_str().unwrap();
    let bytes: [u8; 32] = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(x)
        .unwrap()
        .try_into()
        .unwrap();
    let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes).unwrap();
    let claims =
        shared_model::auth::verify(&user.token, &key, chrono::Utc::now().timestamp()).unwrap();
    assert_eq!(claims.sub.get(), user.user_id);
}
