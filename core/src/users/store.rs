//! SQL for users and addresses.

use chrono::{DateTime, Utc};
use shared_model::api::users::{AddressResponse, UserProfile};
use shared_model::auth::Role;
use shared_model::ids::{AddressId, UserId};
use shared_model::users::AddressType;
use sqlx::{PgExecutor, PgPool};

use crate::error::ApiError;

#[derive(sqlx::FromRow)]
struct UserRow {
    user_id: i64,
    email: String,
    first_name: String,
    last_name: String,
    phone: Option<String>,
    role: String,
    created_at: DateTime<Utc>,
}

impl UserRow {
    fn into_profile(self) -> Result<UserProfile, ApiError> {
        Ok(UserProfile {
            user_id: UserId::new(self.user_id),
            email: self.email,
            first_name: self.first_name,
            last_name: self.last_name,
            phone: self.phone,
            role: self.role.parse::<Role>()?,
            created_at: self.created_at,
        })
    }
}

const USER_COLUMNS: &str = "user_id, email, first_name, last_name, phone, role, created_at";

pub struct NewUser<'a> {
    pub email: &'a str,
    pub password_hash: &'a str,
    pub first_name: &'a str,
    pub last_name: &'a str,
    pub role: Role,
}

pub async fn insert_user(
    db: impl PgExecutor<'_>,
    user: &NewUser<'_>,
) -> Result<UserProfile, ApiError> {
    sqlx::query_as::<_, UserRow>(&format!(
        "INSERT INTO users (email, password_hash, first_name, last_name, role)
         VALUES ($1, $2, $3, $4, $5) RETURNING {USER_COLUMNS}"
    ))
    .bind(user.email)
    .bind(user.password_hash)
    .bind(user.first_name)
    .bind(user.last_name)
    .bind(user.role.as_str())
    .fetch_one(db)
    .await?
    .into_profile()
}

/// What login needs: the profile, the stored hash and whether the account may sign in.
pub struct Credentials {
    pub profile: UserProfile,
    pub password_hash: String,
    pub active: bool,
}

pub async fn credentials_by_email(
    db: &PgPool,
    email: &str,
) -> Result<Option<Credentials>, ApiError> {
    #[derive(sqlx::FromRow)]
    struct Row {
        #[sqlx(flatten)]
        user: UserRow,
        password_hash: String,
        status: String,
    }
    let row: Option<Row> = sqlx::query_as(&format!(
        "SELECT {USER_COLUMNS}, password_hash, status FROM users WHERE email = $1"
    ))
    .bind(email)
    .fetch_optional(db)
    .await?;
    row.map(|r| {
        Ok(Credentials {
            active: r.status == "ACTIVE",
            password_hash: r.password_hash,
            profile: r.user.into_profile()?,
        })
    })
    .transpose()
}

pub async fn profile(db: &PgPool, user: UserId) -> Result<UserProfile, ApiError> {
    sqlx::query_as::<_, UserRow>(&format!(
        "SELECT {USER_COLUMNS} FROM users WHERE user_id = $1"
    ))
    .bind(user.get())
    .fetch_optional(db)
    .await?
    .ok_or_else(|| ApiError::not_found("user_not_found", "this account no longer exists"))?
    .into_profile()
}

pub struct ProfileChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    /// `Some(None)` clears the phone.
    pub phone: Option<Option<String>>,
}

pub async fn update_profile(
    db: &PgPool,
    user: UserId,
    changes: ProfileChanges,
) -> Result<UserProfile, ApiError> {
    sqlx::query_as::<_, UserRow>(&format!(
        "UPDATE users SET
            first_name = COALESCE($2, first_name),
            last_name = COALESCE($3, last_name),
            phone = CASE WHEN $4 THEN $5 ELSE phone END,
            updated_at = now()
          WHERE user_id = $1 RETURNING {USER_COLUMNS}"
    ))
    .bind(user.get())
    .bind(changes.first_name)
    .bind(changes.last_name)
    .bind(changes.phone.is_some())
    .bind(changes.phone.flatten())
    .fetch_optional(db)
    .await?
    .ok_or_else(|| ApiError::not_found("user_not_found", "this account no longer exists"))?
    .into_profile()
}

/// A validated address.
pub struct AddressFields {
    pub address_type: AddressType,
    pub street_address: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
    pub is_default: bool,
}

#[derive(sqlx::FromRow)]
struct AddressRow {
    address_id: i64,
    address_type: String,
    street_address: String,
    city: String,
    state: String,
    postal_code: String,
    country: String,
    is_default: bool,
}

impl AddressRow {
    fn into_response(self) -> Result<AddressResponse, ApiError> {
        Ok(AddressResponse {
            address_id: AddressId::new(self.address_id),
            address_type: self.address_type.parse()?,
            street_address: self.street_address,
            city: self.city,
            state: self.state,
            postal_code: self.postal_code,
            country: self.country,
            is_default: self.is_default,
        })
    }
}

const ADDRESS_COLUMNS: &str =
    "address_id, address_type, street_address, city, state, postal_code, country, is_default";

pub async fn list_addresses(db: &PgPool, user: UserId) -> Result<Vec<AddressResponse>, ApiError> {
    sqlx::query_as::<_, AddressRow>(&format!(
        "SELECT {ADDRESS_COLUMNS} FROM addresses WHERE user_id = $1
          ORDER BY address_type, is_default DESC, address_id"
    ))
    .bind(user.get())
    .fetch_all(db)
    .await?
    .into_iter()
    .map(AddressRow::into_response)
    .collect()
}

pub async fn get_address(
    db: impl sqlx::PgExecutor<'_>,
    user: UserId,
    address: AddressId,
) -> Result<AddressResponse, ApiError> {
    sqlx::query_as::<_, AddressRow>(&format!(
        "SELECT {ADDRESS_COLUMNS} FROM addresses WHERE user_id = $1 AND address_id = $2"
    ))
    .bind(user.get())
    .bind(address.get())
    .fetch_optional(db)
    .await?
    .ok_or_else(address_not_found)?
    .into_response()
}

/// Creates an address, or replaces the caller's address `existing`. Making an address the
/// default demotes the previous default of its type in the same transaction; the first
/// address of a type becomes the default by itself.
pub async fn save_address(
    db: &PgPool,
    user: UserId,
    existing: Option<AddressId>,
    fields: AddressFields,
) -> Result<AddressResponse, ApiError> {
    let mut tx = db.begin().await?;
    // Serialises concurrent address edits of one user, so "one default per type" holds
    // without a unique-violation race between two requests.
    sqlx::query("SELECT 1 FROM users WHERE user_id = $1 FOR UPDATE")
        .bind(user.get())
        .execute(&mut *tx)
        .await?;
    let has_default: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM addresses
                         WHERE user_id = $1 AND address_type = $2 AND is_default
                           AND address_id IS DISTINCT FROM $3)",
    )
    .bind(user.get())
    .bind(fields.address_type.as_str())
    .bind(existing.map(AddressId::get))
    .fetch_one(&mut *tx)
    .await?;
    let make_default = fields.is_default || !has_default;
    if make_default {
        sqlx::query(
            "UPDATE addresses SET is_default = false, updated_at = now()
              WHERE user_id = $1 AND address_type = $2 AND is_default",
        )
        .bind(user.get())
        .bind(fields.address_type.as_str())
        .execute(&mut *tx)
        .await?;
    }
    // Both statements take the fields as $1-$8; an update also names the address as $9.
    let sql = match existing {
        None => format!(
            "INSERT INTO addresses (user_id, address_type, street_address, city, state, postal_code, country, is_default)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {ADDRESS_COLUMNS}"
        ),
        Some(_) => format!(
            "UPDATE addresses SET address_type = $2, street_address = $3, city = $4, state = $5,
                    postal_code = $6, country = $7, is_default = $8, updated_at = now()
              WHERE user_id = $1 AND address_id = $9 RETURNING {ADDRESS_COLUMNS}"
        ),
    };
    let mut query = sqlx::query_as::<_, AddressRow>(&sql)
        .bind(user.get())
        .bind(fields.address_type.as_str())
        .bind(&fields.street_address)
        .bind(&fields.city)
        .bind(&fields.state)
        .bind(&fields.postal_code)
        .bind(&fields.country)
        .bind(make_default);
    if let Some(id) = existing {
        query = query.bind(id.get());
    }
    let row = query
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(address_not_found)?;
    tx.commit().await?;
    row.into_response()
}

pub async fn delete_address(db: &PgPool, user: UserId, address: AddressId) -> Result<(), ApiError> {
    let deleted = sqlx::query("DELETE FROM addresses WHERE user_id = $1 AND address_id = $2")
        .bind(user.get())
        .bind(address.get())
        .execute(db)
        .await?
        .rows_affected();
    if deleted == 0 {
        return Err(address_not_found());
    }
    Ok(())
}

/// Another user's address is "not found" too: its existence is nobody else's business.
fn address_not_found() -> ApiError {
    ApiError::not_found("address_not_found", "no such address in your address book")
}
