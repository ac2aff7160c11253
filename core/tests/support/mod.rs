//! Test support: the whole application over a fresh database (`#[sqlx::test]` makes one per
//! test) and a Redis key prefix of its own, driven in-process with `oneshot`.

#![allow(dead_code)]

pub mod fixtures;
pub mod gateway;
pub mod shop;

use std::sync::OnceLock;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use edgeshop_core::auth::TokenKeys;
use edgeshop_core::config::Config;
use edgeshop_core::startup;
use edgeshop_core::state::AppState;
use http_body_util::BodyExt;
use serde_json::Value;
use shared_model::auth::Role;
use sqlx::PgPool;
use tower::ServiceExt;

pub const PASSWORD: &str = "correct horse battery";
/// The waiting room's shared secret in tests (the edge signs admissions with it).
pub const ADMISSION_SECRET: &str = "test-admission-secret-shared-with-the-edge";

pub struct TestApp {
    pub router: Router,
    pub state: AppState,
    pub db: PgPool,
}

/// One argon2 hash of [`PASSWORD`] for every fixture user (hashing is deliberately slow).
fn password_hash() -> &'static str {
    static HASH: OnceLock<String> = OnceLock::new();
    HASH.get_or_init(|| edgeshop_core::auth::password::hash_blocking(PASSWORD).expect("hash"))
}

pub fn test_config(redis_url: &str) -> Config {
    test_config_with(redis_url, &[])
}

/// A test configuration with extra variables (`CHECKOUT_TTL_SECONDS`, `PAYMENT_GATEWAY_URL`, ...).
pub fn test_config_with(redis_url: &str, extra: &[(&str, String)]) -> Config {
    let prefix = format!("test:{}:", uuid::Uuid::new_v4().simple());
    let redis_url = redis_url.to_owned();
    let extra: Vec<(String, String)> = extra
        .iter()
        .map(|(k, v)| ((*k).to_owned(), v.clone()))
        .collect();
    Config::from_lookup(move |name| match name {
        "REDIS_URL" => Some(redis_url.clone()),
        "REDIS_KEY_PREFIX" => Some(prefix.clone()),
        "EDGESHOP_ADMISSION_KEY" => Some(ADMISSION_SECRET.to_owned()),
        _ => extra
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            // The limits have a test of their own; elsewhere one test is many buyers at once.
            .or_else(|| match name {
                "EDGESHOP_RATE_LIMIT_PER_BUYER"
                | "EDGESHOP_RATE_LIMIT_PER_IP"
                | "EDGESHOP_MAX_CONCURRENT_CHECKOUTS" => Some("0".to_owned()),
                _ => None,
            }),
    })
    .expect("test config")
}

impl TestApp {
    pub async fn new(db: PgPool) -> Self {
        Self::with_redis(db, &redis_url()).await
    }

    /// An app whose Redis lives at `redis_url` (point it nowhere to test Redis outages).
    pub async fn with_redis(db: PgPool, redis_url: &str) -> Self {
        Self::with_config(db, test_config(redis_url))
    }

    pub fn with_config(db: PgPool, config: Config) -> Self {
        let state =
            startup::state_with(config, db.clone(), Some(TokenKeys::generate())).expect("state");
        TestApp {
            router: startup::app(state.clone()),
            state,
            db,
        }
    }

    /// Rebuilds the router after the state was changed (a client swapped for a test's own).
    pub fn rebuild(&mut self) {
        self.router = startup::app(self.state.clone());
    }

    pub fn call(&self, method: Method, path: &str) -> Call<'_> {
        Call {
            app: self,
            builder: Request::builder().method(method).uri(path),
            body: Body::empty(),
        }
    }

    pub fn get(&self, path: &str) -> Call<'_> {
        self.call(Method::GET, path)
    }

    pub fn post(&self, path: &str) -> Call<'_> {
        self.call(Method::POST, path)
    }

    pub fn put(&self, path: &str) -> Call<'_> {
        self.call(Method::PUT, path)
    }

    pub fn patch(&self, path: &str) -> Call<'_> {
        self.call(Method::PATCH, path)
    }

    pub fn delete(&self, path: &str) -> Call<'_> {
        self.call(Method::DELETE, path)
    }

    /// A signed-in user of `role` (a seller comes with its seller profile).
    pub async fn user(&self, role: Role) -> TestUser {
        let email = format!(
            "{}-{}@example.com",
            role.as_str().to_lowercase(),
            uuid::Uuid::new_v4().simple()
        );
        let user_id: i64 = sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, first_name, last_name, role)
             VALUES ($1, $2, 'Test', 'User', $3) RETURNING user_id",
        )
        .bind(&email)
        .bind(password_hash())
        .bind(role.as_str())
        .fetch_one(&self.db)
        .await
        .expect("insert user");
        let seller_id = if role == Role::Seller {
            Some(
                sqlx::query_scalar::<_, i64>(
                    "INSERT INTO sellers (user_id, display_name) VALUES ($1, 'Test shop') RETURNING seller_id",
                )
                .bind(user_id)
                .fetch_one(&self.db)
                .await
                .expect("insert seller"),
            )
        } else {
            None
        };
        let response = self
            .post("/api/auth/login")
            .json(&serde_json::json!({"email": email, "password": PASSWORD}))
            .send()
            .await;
        assert_eq!(
            response.status,
            StatusCode::OK,
            "login failed: {}",
            response.text
        );
        TestUser {
            user_id,
            seller_id,
            email,
            token: response.json["accessToken"]
                .as_str()
                .expect("token")
                .to_owned(),
        }
    }
}

pub fn redis_url() -> String {
    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
}

pub struct TestUser {
    pub user_id: i64,
    pub seller_id: Option<i64>,
    pub email: String,
    pub token: String,
}

pub struct Call<'a> {
    app: &'a TestApp,
    builder: axum::http::request::Builder,
    body: Body,
}

impl Call<'_> {
    pub fn bearer(mut self, token: &str) -> Self {
        self.builder = self
            .builder
            .header("authorization", format!("Bearer {token}"));
        self
    }

    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.builder = self.builder.header(name, value);
        self
    }

    pub fn json(mut self, value: &Value) -> Self {
        self.builder = self.builder.header("content-type", "application/json");
        self.body = Body::from(serde_json::to_vec(value).expect("json"));
        self
    }

    /// A raw body with a JSON content type (for malformed-JSON tests).
    pub fn raw_json(mut self, text: &str) -> Self {
        self.builder = self.builder.header("content-type", "application/json");
        self.body = Body::from(text.to_owned());
        self
    }

    pub async fn send(self) -> TestResponse {
        let request = self.builder.body(self.body).expect("request");
        let response = self
            .app
            .router
            .clone()
            .oneshot(request)
            .await
            .expect("infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let json = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        TestResponse {
            status,
            headers,
            json,
            text,
        }
    }
}

#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
    pub text: String,
}

impl TestResponse {
    /// Asserts the status and, for errors, the stable error code of the JSON body.
    #[track_caller]
    pub fn expect(&self, status: StatusCode) -> &Self {
        assert_eq!(
            self.status, status,
            "unexpected status; body: {}",
            self.text
        );
        self
    }

    #[track_caller]
    pub fn expect_error(&self, status: StatusCode, code: &str) -> &Self {
        self.expect(status);
        assert_eq!(
            self.json["error"]["code"], code,
            "unexpected error code; body: {}",
            self.text
        );
        assert!(
            self.json["error"]["message"].is_string(),
            "error without a message: {}",
            self.text
        );
        self
    }
}
