//! Who is signed in on the pages (the session cookie, verified at the edge), and calls to the
//! core on the buyer's behalf.

use serde::Serialize;
use serde_json::Value;

use crate::cart::owner::{self, SESSION_COOKIE};
use crate::config::EdgeConfig;
use crate::core_client;
use crate::error::EdgeError;
use crate::host::Host;
use crate::http::{Method, Request, Response};

/// The signed-in buyer's token, if the request's session verifies.
pub async fn signed_in<'r>(
    host: &impl Host,
    config: &EdgeConfig,
    request: &'r Request,
) -> Option<&'r str> {
    match owner::buyer(host, request, config).await {
        Ok(Some(_)) => owner::token(request),
        _ => None,
    }
}

/// A page for signed-in buyers only: others go to the sign-in form and come back.
pub fn sign_in_first(back_to: &str) -> Response {
    let mut query = form_urlencoded::Serializer::new(String::new());
    query.append_pair("next", back_to);
    redirect(&format!("/login?{}", query.finish()))
}

pub fn redirect(to: &str) -> Response {
    Response::new(303, "text/plain; charset=utf-8", format!("See {to}")).with_header("location", to)
}

pub fn session_cookie(token: &str, max_age: i64) -> String {
    format!("{SESSION_COOKIE}={token}; Path=/; Max-Age={max_age}; HttpOnly; SameSite=Lax")
}

pub fn clear_session_cookie() -> String {
    format!("{SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax")
}

/// What the core answered: its status and JSON body.
pub struct CoreAnswer {
    pub status: u16,
    pub body: Value,
}

impl CoreAnswer {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// The core's own explanation of a refusal.
    pub fn message(&self) -> String {
        self.body["error"]["message"]
            .as_str()
            .unwrap_or("the shop refused the request")
            .to_owned()
    }

    /// A refusal as the edge's error (4xx keep their reason; anything else is the core's fault).
    pub fn into_error(self) -> EdgeError {
        match self.status {
            404 => EdgeError::NotFound(self.message()),
            401 => EdgeError::Unauthenticated,
            400..=499 => EdgeError::invalid("request", self.message()),
            other => EdgeError::CoreAnswer(format!("status {other}")),
        }
    }
}

/// Calls the core with the buyer's token (and an idempotency key for a POST).
pub async fn core(
    host: &impl Host,
    config: &EdgeConfig,
    token: Option<&str>,
    method: Method,
    path: &str,
    body: Option<&impl Serialize>,
    idempotency_key: Option<&str>,
) -> Result<CoreAnswer, EdgeError> {
    let mut headers = vec![("accept".to_owned(), "application/json".to_owned())];
    if let Some(token) = token {
        headers.push(("authorization".into(), format!("Bearer {token}")));
    }
    if let Some(key) = idempotency_key {
        headers.push(("idempotency-key".into(), key.to_owned()));
    }
    let body = match body {
        Some(body) => {
            headers.push(("content-type".into(), "application/json".into()));
            serde_json::to_vec(body).map_err(|e| EdgeError::invalid("form", e.to_string()))?
        }
        None => Vec::new(),
    };
    let answer = core_client::send(host, config, method, path, headers, body).await?;
    Ok(CoreAnswer {
        status: answer.status,
        body: serde_json::from_slice(&answer.body).unwrap_or(Value::Null),
    })
}

/// What the core says at `path` for the buyer, read as `T`; a refusal becomes the edge's
/// error (a 404 a not-found page, a 5xx a 502).
pub async fn get<T: serde::de::DeserializeOwned>(
    host: &impl Host,
    config: &EdgeConfig,
    token: &str,
    path: &str,
) -> Result<T, EdgeError> {
    let answer = core(
        host,
        config,
        Some(token),
        Method::Get,
        path,
        None::<&()>,
        None,
    )
    .await?;
    if !answer.is_success() {
        return Err(answer.into_error());
    }
    serde_json::from_value(answer.body).map_err(|e| EdgeError::CoreAnswer(format!("{path}: {e}")))
}

/// A key for one form render, so a double-submitted form has one effect.
pub fn form_key(host: &impl Host) -> String {
    host.random_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The fields of a posted form.
pub fn form(request: &Request) -> std::collections::HashMap<String, String> {
    form_urlencoded::parse(&request.body).into_owned().collect()
}
