//! `/api/auth/*` and `/api/users/me`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use shared_model::api::ErrorBody;
use shared_model::api::auth::{LoginRequest, RegisterRequest, TokenResponse};
use shared_model::api::users::{UpdateProfileRequest, UserProfile};
use shared_model::auth::{Claims, Role, SESSION_TTL_SECONDS};
use shared_model::ids::SessionId;
use shared_model::users::{Email, Password, parse_name, parse_phone};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store::{self, NewUser, ProfileChanges};
use crate::auth::{CurrentUser, password, sessions};
use crate::error::{ApiError, ApiResult};
use crate::http::JsonBody;
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register))
        .routes(routes!(login))
        .routes(routes!(logout))
        .routes(routes!(me, update_me))
}

/// Creates a customer account and signs it in.
#[utoipa::path(post, path = "/api/auth/register", tag = "auth",
    request_body = RegisterRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried registration safe")),
    responses(
        (status = 201, body = TokenResponse),
        (status = 409, description = "The email is taken", body = ErrorBody),
        (status = 422, description = "A field is invalid", body = ErrorBody),
    ))]
async fn register(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<RegisterRequest>,
) -> ApiResult<(StatusCode, Json<TokenResponse>)> {
    let email = Email::parse(&request.email)?;
    let password = Password::parse(&request.password)?;
    let first_name = parse_name("firstName", &request.first_name)?;
    let last_name = if request.last_name.trim().is_empty() {
        String::new()
    } else {
        parse_name("lastName", &request.last_name)?
    };
    let password_hash = password::hash(password).await?;
    let profile = store::insert_user(
        &state.db,
        &NewUser {
            email: email.as_str(),
            password_hash: &password_hash,
            first_name: &first_name,
            last_name: &last_name,
            role: Role::Customer,
        },
    )
    .await?;
    let token = start_session(&state, profile).await?;
    Ok((StatusCode::CREATED, Json(token)))
}

/// Signs in with email and password; answers a bearer token valid for 24 hours.
#[utoipa::path(post, path = "/api/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, body = TokenResponse),
        (status = 401, description = "Wrong email or password", body = ErrorBody),
        (status = 403, description = "The account is suspended", body = ErrorBody),
    ))]
async fn login(
    State(state): State<AppState>,
    JsonBody(request): JsonBody<LoginRequest>,
) -> ApiResult<Json<TokenResponse>> {
    let wrong = || ApiError::unauthorized("invalid_credentials", "wrong email or password");
    // No password is this long: refuse before spending a hash on megabytes of input.
    if request.password.len() > 4 * Password::MAX_CHARS {
        return Err(wrong());
    }
    // A malformed email cannot have an account; answer exactly as for a wrong password.
    let credentials = match Email::parse(&request.email) {
        Ok(email) => store::credentials_by_email(&state.db, email.as_str()).await?,
        Err(_) => None,
    };
    let Some(credentials) = credentials else {
        // Spend the same time as a real check, so response times do not reveal accounts.
        password::verify(request.password, password::decoy_hash().to_owned()).await?;
        return Err(wrong());
    };
    if !password::verify(request.password, credentials.password_hash).await? {
        return Err(wrong());
    }
    if !credentials.active {
        return Err(ApiError::forbidden(
            "account_suspended",
            "this account cannot sign in",
        ));
    }
    Ok(Json(start_session(&state, credentials.profile).await?))
}

async fn start_session(state: &AppState, user: UserProfile) -> ApiResult<TokenResponse> {
    let session = SessionId(uuid::Uuid::new_v4());
    let now = chrono::Utc::now();
    sessions::create(&state.db, &state.redis, session, user.user_id, now).await?;
    let claims = Claims::new(user.user_id, user.role, session, now.timestamp());
    Ok(TokenResponse {
        access_token: state.keys.sign(&claims)?,
        token_type: "Bearer".to_owned(),
        expires_in: SESSION_TTL_SECONDS,
        user,
    })
}

/// Ends the caller's session: its token stops working at once.
#[utoipa::path(post, path = "/api/auth/logout", tag = "auth", security(("bearer" = [])),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn logout(State(state): State<AppState>, user: CurrentUser) -> ApiResult<StatusCode> {
    sessions::revoke(&state.db, &state.redis, user.session_id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's profile.
#[utoipa::path(get, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = UserProfile), (status = 401, body = ErrorBody)))]
async fn me(State(state): State<AppState>, user: CurrentUser) -> ApiResult<Json<UserProfile>> {
    Ok(Json(store::profile(&state.db, user.user_id).await?))
}

/// Changes the caller's name or phone; absent fields stay as they are.
#[utoipa::path(patch, path = "/api/users/me", tag = "users", security(("bearer" = [])),
    request_body = UpdateProfileRequest,
    responses((status = 200, body = UserProfile), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update_me(
    State(state): State<AppState>,
    user: CurrentUser,
    JsonBody(request): JsonBody<UpdateProfileRequest>,
) -> ApiResult<Json<UserProfile>> {
    let changes = ProfileChanges {
        first_name: request
            .first_name
            .as_deref()
            .map(|n| parse_name("firstName", n))
            .transpose()?,
        last_name: request
            .last_name
            .as_deref()
            .map(|n| parse_name("lastName", n))
            .transpose()?,
        phone: request
            .phone
            .map(|phone| phone.as_deref().map(parse_phone).transpose())
            .transpose()?,
    };
    Ok(Json(
        store::update_profile(&state.db, user.user_id, changes).await?,
    ))
}
