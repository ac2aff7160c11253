//! Registration, sign-in, sessions, the profile and the address book.

mod support;

use axum::http::StatusCode;
use serde_json::json;
use shared_model::auth::Role;
use support::{PASSWORD, TestApp};

fn registration(email: &str) -> serde_json::Value {
    json!({"email": email, "password": PASSWORD, "firstName": "Ada", "lastName": "Lovelace"})
}

async fn user_count(db: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM users")
        .fetch_one(db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_new_customer_registers_and_is_signed_in(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let created = app
        .post("/api/auth/register")
        .json(&registration("Ada@Example.com"))
        .send()
        .await;
    created.expect(StatusCode::CREATED);
    assert_eq!(created.json["tokenType"], "Bearer");
    assert_eq!(created.json["expiresIn"], 86400);
    assert_eq!(created.json["user"]["email"], "ada@example.com");
    assert_eq!(created.json["user"]["role"], "CUSTOMER");
    let token = created.json["accessToken"].as_str().unwrap();
    let me = app.get("/api/users/me").bearer(token).send().await;
    me.expect(StatusCode::OK);
    assert_eq!(me.json["firstName"], "Ada");
    let hash: String = sqlx::query_scalar("SELECT password_hash FROM users")
        .fetch_one(&db)
        .await
        .unwrap();
    assert!(hash.starts_with("$argon2id$"), "stored {hash}");
}

#[sqlx::test(migrations = "../migrations")]
async fn an_email_registers_once_whatever_its_case(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    app.post("/api/auth/register")
        .json(&registration("ada@example.com"))
        .send()
        .await
        .expect(StatusCode::CREATED);
    app.post("/api/auth/register")
        .json(&registration("ADA@example.com"))
        .send()
        .await
        .expect_error(StatusCode::CONFLICT, "email_taken");
    assert_eq!(user_count(&db).await, 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_registrations_are_refused_and_change_nothing(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let cases = [
        (
            json!({"email": "not-an-email", "password": PASSWORD, "firstName": "A"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"email": "a@b.co", "password": "short", "firstName": "A"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"email": "a@b.co", "password": PASSWORD, "firstName": "  "}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "validation_failed",
        ),
        (
            json!({"email": "a@b.co", "password": PASSWORD}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({"email": "a@b.co", "password": PASSWORD, "firstName": "A", "role": "ADMIN"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
        (
            json!({"email": 5, "password": PASSWORD, "firstName": "A"}),
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_body",
        ),
    ];
    for (body, status, code) in cases {
        app.post("/api/auth/register")
            .json(&body)
            .send()
            .await
            .expect_error(status, code);
    }
    app.post("/api/auth/register")
        .raw_json("{\"email\": ")
        .send()
        .await
        .expect_error(StatusCode::BAD_REQUEST, "malformed_json");
    app.post("/api/auth/register")
        .header("content-type", "text/plain")
        .send()
        .await
        .expect_error(StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_media_type");
    assert_eq!(user_count(&db).await, 0);
}

#[sqlx::test(migrations = "../migrations")]
async fn login_refuses_wrong_passwords_and_unknown_emails_alike(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let user = app.user(Role::Customer).await;
    let wrong = app
        .post("/api/auth/login")
        .json(&json!({"email": user.email, "password": "wrong password"}))
        .send()
        .await;
    wrong.expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    let unknown = app
        .post("/api/auth/login")
        .json(&json!({"email": "nobody@example.com", "password": PASSWORD}))
        .send()
        .await;
    unknown.expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
    assert_eq!(
        wrong.json["error"]["message"],
        unknown.json["error"]["message"]
    );
    assert_eq!(wrong.headers["www-authenticate"], "Bearer");
    let huge = app
        .post("/api/auth/login")
        .json(&json!({"email": user.email, "password": "x".repeat(100_000)}))
        .send()
        .await;
    huge.expect_error(StatusCode::UNAUTHORIZED, "invalid_credentials");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_suspended_account_cannot_sign_in(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let user = app.user(Role::Customer).await;
    sqlx::query("UPDATE users SET status = 'SUSPENDED' WHERE user_id = $1")
        .bind(user.user_id)
        .execute(&db)
        .await
        .unwrap();
    app.post("/api/auth/login")
        .json(&json!({"email": user.email, "password": PASSWORD}))
        .send()
        .await
        .expect_error(StatusCode::FORBIDDEN, "account_suspended");
}

#[sqlx::test(migrations = "../migrations")]
async fn logout_ends_the_session_at_once(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let user = app.user(Role::Customer).await;
    app.get("/api/users/me")
        .bearer(&user.token)
        .send()
        .await
        .expect(StatusCode::OK);
    app.post("/api/auth/logout")
        .bearer(&user.token)
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    app.get("/api/users/me")
        .bearer(&user.token)
        .send()
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "session_expired");
    // Another session of the same user is untouched.
    let other = app
        .post("/api/auth/login")
        .json(&json!({"email": user.email, "password": PASSWORD}))
        .send()
        .await;
    let token = other.json["accessToken"].as_str().unwrap();
    app.get("/api/users/me")
        .bearer(token)
        .send()
        .await
        .expect(StatusCode::OK);
}

#[sqlx::test(migrations = "../migrations")]
async fn forged_and_malformed_tokens_are_refused(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let user = app.user(Role::Customer).await;
    // Same claims, signed by a key the core does not hold.
    let stranger = edgeshop_core::auth::TokenKeys::generate();
    let claims = app
        .state
        .keys
        .verify(&user.token, chrono::Utc::now().timestamp())
        .unwrap();
    let forged = stranger.sign(&claims).unwrap();
    app.get("/api/users/me")
        .bearer(&forged)
        .send()
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_token");
    // A token that expired.
    let mut old = claims.clone();
    old.iat -= 2 * 86400;
    old.exp -= 2 * 86400;
    let expired = app.state.keys.sign(&old).unwrap();
    app.get("/api/users/me")
        .bearer(&expired)
        .send()
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_token");
    for header in ["Bearer", "Basic abc", "Bearer not.a.token", "token"] {
        app.get("/api/users/me")
            .header("authorization", header)
            .send()
            .await
            .expect_error(StatusCode::UNAUTHORIZED, "invalid_token");
    }
    app.get("/api/users/me")
        .send()
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "missing_token");
}

async fn me(app: &TestApp, token: &str) -> support::TestResponse {
    app.get("/api/users/me").bearer(token).send().await
}

#[sqlx::test(migrations = "../migrations")]
async fn while_redis_is_down_sessions_are_checked_in_postgres(db: sqlx::PgPool) {
    let healthy = TestApp::new(db.clone()).await;
    let user = healthy.user(Role::Customer).await;
    let mut broken = TestApp::with_redis(db.clone(), "redis://127.0.0.1:1").await;
    // Same keys, so the token verifies; only Redis is unreachable.
    broken.state.services_mut().keys = healthy.state.keys.clone();
    broken.rebuild();
    me(&broken, &user.token).await.expect(StatusCode::OK);
    // A forged token is still refused.
    let stranger = edgeshop_core::auth::TokenKeys::generate();
    let claims = healthy
        .state
        .keys
        .verify(&user.token, chrono::Utc::now().timestamp())
        .unwrap();
    me(&broken, &stranger.sign(&claims).unwrap())
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "invalid_token");
    // Signing in and out work, and an ended session is refused at once.
    let signed_in = broken
        .post("/api/auth/login")
        .json(&json!({"email": user.email, "password": PASSWORD}))
        .send()
        .await;
    signed_in.expect(StatusCode::OK);
    let second = signed_in.json["accessToken"].as_str().unwrap().to_owned();
    me(&broken, &second).await.expect(StatusCode::OK);
    broken
        .post("/api/auth/logout")
        .bearer(&second)
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    me(&broken, &second)
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "session_expired");
    me(&broken, &user.token).await.expect(StatusCode::OK);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_redis_flush_signs_nobody_out_and_revives_no_ended_session(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let user = app.user(Role::Customer).await;
    let ended = app
        .post("/api/auth/login")
        .json(&json!({"email": user.email, "password": PASSWORD}))
        .send()
        .await
        .json["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post("/api/auth/logout")
        .bearer(&ended)
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    // Everything this shop had in Redis is gone, as after a restart.
    let mut conn = app.state.redis.connection().await.unwrap();
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{}*", app.state.redis.prefix()))
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(!keys.is_empty(), "the sessions were cached");
    let _: () = redis::cmd("DEL")
        .arg(&keys)
        .query_async(&mut conn)
        .await
        .unwrap();
    app.get("/api/users/me")
        .bearer(&user.token)
        .send()
        .await
        .expect(StatusCode::OK);
    app.get("/api/users/me")
        .bearer(&ended)
        .send()
        .await
        .expect_error(StatusCode::UNAUTHORIZED, "session_expired");
}

#[sqlx::test(migrations = "../migrations")]
async fn the_profile_changes_only_where_asked(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let user = app.user(Role::Customer).await;
    let patched = app
        .patch("/api/users/me")
        .bearer(&user.token)
        .json(&json!({"phone": "+1 555-0100"}))
        .send()
        .await;
    patched.expect(StatusCode::OK);
    assert_eq!(patched.json["phone"], "+1 555-0100");
    assert_eq!(patched.json["firstName"], "Test");
    let renamed = app
        .patch("/api/users/me")
        .bearer(&user.token)
        .json(&json!({"firstName": "Grace"}))
        .send()
        .await;
    assert_eq!(renamed.json["phone"], "+1 555-0100");
    assert_eq!(renamed.json["firstName"], "Grace");
    let cleared = app
        .patch("/api/users/me")
        .bearer(&user.token)
        .json(&json!({"phone": null}))
        .send()
        .await;
    assert_eq!(cleared.json["phone"], serde_json::Value::Null);
    for body in [
        json!({"phone": "call me"}),
        json!({"firstName": ""}),
        json!({"email": "x@y.zz"}),
        json!({"role": "ADMIN"}),
    ] {
        let refused = app
            .patch("/api/users/me")
            .bearer(&user.token)
            .json(&body)
            .send()
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            refused.text
        );
    }
    let role: String = sqlx::query_scalar("SELECT role FROM users WHERE user_id = $1")
        .bind(user.user_id)
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(role, "CUSTOMER");
}

fn address(street: &str, default: bool) -> serde_json::Value {
    json!({"addressType": "SHIPPING", "streetAddress": street, "city": "Springfield", "state": "IL",
           "postalCode": "62701", "country": "us", "isDefault": default})
}

#[sqlx::test(migrations = "../migrations")]
async fn the_address_book_keeps_one_default_per_type(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let user = app.user(Role::Customer).await;
    let first = app
        .post("/api/users/me/addresses")
        .bearer(&user.token)
        .json(&address("1 Main St", false))
        .send()
        .await;
    first.expect(StatusCode::CREATED);
    assert_eq!(
        first.json["isDefault"], true,
        "the first address becomes the default"
    );
    assert_eq!(first.json["country"], "US");
    let id = first.json["addressId"].as_str().unwrap().to_owned();
    assert_eq!(
        first.headers["location"],
        format!("/api/users/me/addresses/{id}")
    );
    let second = app
        .post("/api/users/me/addresses")
        .bearer(&user.token)
        .json(&address("2 Oak Ave", true))
        .send()
        .await;
    assert_eq!(second.json["isDefault"], true);
    let list = app
        .get("/api/users/me/addresses")
        .bearer(&user.token)
        .send()
        .await;
    let defaults: Vec<bool> = list
        .json
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["isDefault"].as_bool().unwrap())
        .collect();
    assert_eq!(defaults, [true, false]);
    assert_eq!(list.json[0]["streetAddress"], "2 Oak Ave");

    let replaced = app
        .put(&format!("/api/users/me/addresses/{id}"))
        .bearer(&user.token)
        .json(&address("1 Main Street", true))
        .send()
        .await;
    replaced.expect(StatusCode::OK);
    assert_eq!(replaced.json["streetAddress"], "1 Main Street");
    let list = app
        .get("/api/users/me/addresses")
        .bearer(&user.token)
        .send()
        .await;
    assert_eq!(list.json[0]["addressId"], id);

    app.delete(&format!("/api/users/me/addresses/{id}"))
        .bearer(&user.token)
        .send()
        .await
        .expect(StatusCode::NO_CONTENT);
    app.get(&format!("/api/users/me/addresses/{id}"))
        .bearer(&user.token)
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "address_not_found");
}

#[sqlx::test(migrations = "../migrations")]
async fn nobody_reads_or_changes_another_users_addresses(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let owner = app.user(Role::Customer).await;
    let other = app.user(Role::Customer).await;
    let created = app
        .post("/api/users/me/addresses")
        .bearer(&owner.token)
        .json(&address("1 Main St", true))
        .send()
        .await;
    let path = format!(
        "/api/users/me/addresses/{}",
        created.json["addressId"].as_str().unwrap()
    );
    app.get(&path)
        .bearer(&other.token)
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "address_not_found");
    app.put(&path)
        .bearer(&other.token)
        .json(&address("Hijacked", true))
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "address_not_found");
    app.delete(&path)
        .bearer(&other.token)
        .send()
        .await
        .expect_error(StatusCode::NOT_FOUND, "address_not_found");
    assert_eq!(
        app.get("/api/users/me/addresses")
            .bearer(&other.token)
            .send()
            .await
            .json,
        json!([])
    );
    let still = app.get(&path).bearer(&owner.token).send().await;
    assert_eq!(still.json["streetAddress"], "1 Main St");
}

#[sqlx::test(migrations = "../migrations")]
async fn bad_addresses_are_refused(db: sqlx::PgPool) {
    let app = TestApp::new(db.clone()).await;
    let user = app.user(Role::Customer).await;
    let mut cases = Vec::new();
    for (field, value) in [
        ("country", json!("USA")),
        ("postalCode", json!("<script>")),
        ("streetAddress", json!("")),
        ("addressType", json!("HOME")),
        ("city", json!("x".repeat(101))),
    ] {
        let mut body = address("1 Main St", false);
        body[field] = value;
        cases.push(body);
    }
    for body in cases {
        let refused = app
            .post("/api/users/me/addresses")
            .bearer(&user.token)
            .json(&body)
            .send()
            .await;
        assert_eq!(
            refused.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            refused.text
        );
    }
    app.get("/api/users/me/addresses/abc")
        .bearer(&user.token)
        .send()
        .await
        .expect_error(StatusCode::BAD_REQUEST, "invalid_path");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM addresses")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(count, 0);
}
