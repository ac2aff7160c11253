//! `Idempotency-Key` on unsafe POSTs: a double click, a retry after a timeout or a replay has
//! exactly one effect; the same key with another request is refused.

mod support;

use axum::http::StatusCode;
use serde_json::json;
use shared_model::auth::Role;
use support::{PASSWORD, TestApp};

fn address(street: &str) -> serde_json::Value {
    json!({"streetAddress": street, "city": "Springfield", "postalCode": "62701", "country": "US"})
}

async fn addresses(db: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM addresses")
        .fetch_one(db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_retried_request_replays_the_first_answer(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let user = app.user(Role::Customer).await;
    let send = || {
        app.post("/api/users/me/addresses")
            .bearer(&user.token)
            .header("idempotency-key", "idem-1")
            .json(&address("1 Main St"))
            .send()
    };
    let first = send().await;
    first.expect(StatusCode::CREATED);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let again = send().await;
    again.expect(StatusCode::CREATED);
    assert_eq!(again.json, first.json);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    assert_eq!(again.headers["location"], first.headers["location"]);
    assert_eq!(addresses(&db).await, 1);
    // Without a key, the same request is a second address.
    app.post("/api/users/me/addresses")
        .bearer(&user.token)
        .json(&address("1 Main St"))
        .send()
        .await
        .expect(StatusCode::CREATED);
    assert_eq!(addresses(&db).await, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn the_same_key_with_another_request_is_refused(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let user = app.user(Role::Customer).await;
    app.post("/api/users/me/addresses")
        .bearer(&user.token)
        .header("idempotency-key", "idem-2")
        .json(&address("1 Main St"))
        .send()
        .await
        .expect(StatusCode::CREATED);
    app.post("/api/users/me/addresses")
        .bearer(&user.token)
        .header("idempotency-key", "idem-2")
        .json(&address("2 Other St"))
        .send()
        .await
        .expect_error(StatusCode::UNPROCESSABLE_ENTITY, "idempotency_key_reused");
    assert_eq!(addresses(&db).await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn keys_belong_to_their_caller(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let ada = app.user(Role::Customer).await;
    let bob = app.user(Role::Customer).await;
    for user in [&ada, &bob] {
        let created = app
            .post("/api/users/me/addresses")
            .bearer(&user.token)
            .header("idempotency-key", "shared")
            .json(&address("1 Main St"))
            .send()
            .await;
        created.expect(StatusCode::CREATED);
        assert!(created.headers.get("idempotent-replayed").is_none());
    }
    assert_eq!(addresses(&db).await, 2);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_double_click_storm_has_exactly_one_effect(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let user = app.user(Role::Customer).await;
    let clicks = (0..24).map(|_| {
        app.post("/api/users/me/addresses")
            .bearer(&user.token)
            .header("idempotency-key", "storm")
            .json(&address("1 Main St"))
            .send()
    });
    let responses = futures_util::future::join_all(clicks).await;
    let mut created = None;
    for r in &responses {
        match r.status {
            StatusCode::CREATED => {
                let id = r.json["addressId"].clone();
                assert_eq!(
                    *created.get_or_insert(id.clone()),
                    id,
                    "two different addresses answered"
                );
            }
            StatusCode::CONFLICT => {
                assert_eq!(r.json["error"]["code"], "idempotency_key_in_progress")
            }
            other => panic!("unexpected {other}: {}", r.text),
        }
    }
    assert!(created.is_some());
    assert_eq!(addresses(&db).await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn refusals_are_remembered_too_but_expired_keys_start_over(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let register = |email: &str| {
        app.post("/api/auth/register")
            .header("idempotency-key", "signup")
            .json(&json!({"email": email, "password": PASSWORD, "firstName": "Ada"}))
            .send()
    };
    let first = register("ada@example.com").await;
    first.expect(StatusCode::CREATED);
    let replay = register("ada@example.com").await;
    assert_eq!(replay.json["accessToken"], first.json["accessToken"]);
    assert_eq!(replay.headers["idempotent-replayed"], "true");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(users, 1);

    let bad = || {
        app.post("/api/auth/register")
            .header("idempotency-key", "bad")
            .json(&json!({"email": "x"}))
            .send()
    };
    bad().await.expect(StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad().await.headers["idempotent-replayed"], "true");

    sqlx::query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second'")
        .execute(&db)
        .await
        .unwrap();
    let after_expiry = register("ada@example.com").await;
    after_expiry.expect_error(StatusCode::CONFLICT, "email_taken");
    assert!(after_expiry.headers.get("idempotent-replayed").is_none());
    assert_eq!(
        edgeshop_core::idempotency::store::purge_expired(&db)
            .await
            .unwrap(),
        1
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_malformed_key_is_a_clear_400(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    app.post("/api/auth/register")
        .header("idempotency-key", &"k".repeat(256))
        .json(&json!({"email": "ada@example.com", "password": PASSWORD, "firstName": "Ada"}))
        .send()
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_idempotency_key");
    let users: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(users, 0);
}
