//! The batch writers' figures reach `/metrics`. A test binary of its own: the shop built here
//! is the first of its process, so it also shows that the writers start after the metrics
//! recorder is installed (a handle taken before it records nothing, whatever the load).

mod support;

use axum::http::StatusCode;
use serde_json::json;
use shared_model::auth::Role;
use support::TestApp;

#[sqlx::test(migrations = "../migrations")]
async fn an_idempotent_post_shows_in_the_group_commit_figures(db: sqlx::PgPool) {
    let app = TestApp::new(db).await;
    let user = app.user(Role::Customer).await;
    app.post("/api/users/me/addresses")
        .bearer(&user.token)
        .header("idempotency-key", "metrics-1")
        .json(&json!({"streetAddress": "1 Main St", "city": "Springfield",
                      "postalCode": "62701", "country": "US"}))
        .send()
        .await
        .expect(StatusCode::CREATED);
    let metrics = app.get("/metrics").send().await;
    metrics.expect(StatusCode::OK);
    for commit in ["idempotency_claim", "idempotency_complete"] {
        for figure in [
            "group_commit_batch_size_count",
            "group_commit_wait_seconds_count",
            "group_commit_write_seconds_count",
        ] {
            let line = format!("{figure}{{commit=\"{commit}\"}} 1");
            assert!(
                metrics.text.contains(&line),
                "no `{line}` in:\n{}",
                metrics.text
            );
        }
    }
}
