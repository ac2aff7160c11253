//! The caller's address book, `/api/users/me/addresses`.

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use shared_model::api::ErrorBody;
use shared_model::api::users::{AddressRequest, AddressResponse};
use shared_model::catalog::required_text;
use shared_model::ids::AddressId;
use shared_model::users::{parse_country, parse_postal_code};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::store::{self, AddressFields};
use crate::auth::CurrentUser;
use crate::error::ApiResult;
use crate::http::{JsonBody, PathParam};
use crate::state::AppState;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_addresses, create_address))
        .routes(routes!(get_address, replace_address, delete_address))
}

fn fields(request: AddressRequest) -> ApiResult<AddressFields> {
    let state = request.state.trim();
    Ok(AddressFields {
        address_type: request.address_type,
        street_address: required_text("streetAddress", &request.street_address, 500)?,
        city: required_text("city", &request.city, 100)?,
        state: if state.is_empty() {
            String::new()
        } else {
            required_text("state", state, 100)?
        },
        postal_code: parse_postal_code(&request.postal_code)?,
        country: parse_country(&request.country)?,
        is_default: request.is_default,
    })
}

/// The caller's addresses, defaults first.
#[utoipa::path(get, path = "/api/users/me/addresses", tag = "users", security(("bearer" = [])),
    responses((status = 200, body = Vec<AddressResponse>), (status = 401, body = ErrorBody)))]
async fn list_addresses(
    State(state): State<AppState>,
    user: CurrentUser,
) -> ApiResult<Json<Vec<AddressResponse>>> {
    Ok(Json(store::list_addresses(&state.db, user.user_id).await?))
}

/// Adds an address. The first address of a type becomes its default.
#[utoipa::path(post, path = "/api/users/me/addresses", tag = "users", security(("bearer" = [])),
    request_body = AddressRequest,
    params(("Idempotency-Key" = Option<String>, Header, description = "Makes a retried request safe")),
    responses((status = 201, body = AddressResponse), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create_address(
    State(state): State<AppState>,
    user: CurrentUser,
    JsonBody(request): JsonBody<AddressRequest>,
) -> ApiResult<impl IntoResponse> {
    let address = store::save_address(&state.db, user.user_id, None, fields(request)?).await?;
    let location = format!("/api/users/me/addresses/{}", address.address_id);
    Ok((
        StatusCode::CREATED,
        [(header::LOCATION, location)],
        Json(address),
    ))
}

/// One of the caller's addresses.
#[utoipa::path(get, path = "/api/users/me/addresses/{addressId}", tag = "users", security(("bearer" = [])),
    params(("addressId" = String, Path)),
    responses((status = 200, body = AddressResponse), (status = 404, body = ErrorBody)))]
async fn get_address(
    State(state): State<AppState>,
    user: CurrentUser,
    PathParam(address): PathParam<AddressId>,
) -> ApiResult<Json<AddressResponse>> {
    Ok(Json(
        store::get_address(&state.db, user.user_id, address).await?,
    ))
}

/// Replaces one of the caller's addresses.
#[utoipa::path(put, path = "/api/users/me/addresses/{addressId}", tag = "users", security(("bearer" = [])),
    params(("addressId" = String, Path)), request_body = AddressRequest,
    responses((status = 200, body = AddressResponse), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn replace_address(
    State(state): State<AppState>,
    user: CurrentUser,
    PathParam(address): PathParam<AddressId>,
    JsonBody(request): JsonBody<AddressRequest>,
) -> ApiResult<Json<AddressResponse>> {
    Ok(Json(
        store::save_address(&state.db, user.user_id, Some(address), fields(request)?).await?,
    ))
}

/// Deletes one of the caller's addresses.
#[utoipa::path(delete, path = "/api/users/me/addresses/{addressId}", tag = "users", security(("bearer" = [])),
    params(("addressId" = String, Path)),
    responses((status = 204), (status = 404, body = ErrorBody)))]
async fn delete_address(
    State(state): State<AppState>,
    user: CurrentUser,
    PathParam(address): PathParam<AddressId>,
) -> ApiResult<StatusCode> {
    store::delete_address(&state.db, user.user_id, address).await?;
    Ok(StatusCode::NO_CONTENT)
}
