//! Profiles and the address book.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::auth::Role;
use crate::ids::{AddressId, UserId};
use crate::users::AddressType;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserProfile {
    pub user_id: UserId,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub phone: Option<String>,
    pub role: Role,
    pub created_at: DateTime<Utc>,
}

/// `PATCH /api/users/me`: only the fields present change; `phone: null` clears the phone.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UpdateProfileRequest {
    #[serde(default)]
    pub first_name: Option<String>,
    #[serde(default)]
    pub last_name: Option<String>,
    #[serde(default, with = "double_option")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub phone: Option<Option<String>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddressRequest {
    #[serde(default = "default_address_type")]
    pub address_type: AddressType,
    pub street_address: String,
    pub city: String,
    #[serde(default)]
    pub state: String,
    pub postal_code: String,
    #[cfg_attr(feature = "openapi", schema(example = "US"))]
    pub country: String,
    #[serde(default)]
    pub is_default: bool,
}

fn default_address_type() -> AddressType {
    AddressType::Shipping
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddressResponse {
    pub address_id: AddressId,
    pub address_type: AddressType,
    pub street_address: String,
    pub city: String,
    pub state: String,
    pub postal_code: String,
    pub country: String,
    pub is_default: bool,
}

/// Tells "absent" (leave as is) from `null` (clear) in a PATCH body.
mod double_option {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(
        value: &Option<Option<String>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(inner) => inner.serialize(s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<Option<String>>, D::Error> {
        Option::<String>::deserialize(d).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patch_tells_absent_from_null() {
        let absent: UpdateProfileRequest = serde_json::from_str("{}").unwrap();
        assert_eq!(absent.phone, None);
        let cleared: UpdateProfileRequest = serde_json::from_str(r#"{"phone":null}"#).unwrap();
        assert_eq!(cleared.phone, Some(None));
        assert!(serde_json::from_str::<UpdateProfileRequest>(r#"{"email":"x@y.z"}"#).is_err());
    }
}
