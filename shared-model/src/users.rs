//! Account values parsed at the boundary: emails, passwords, names, phone numbers, addresses.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::ModelError;
use crate::catalog::required_text;

/// An email address, trimmed and lower-cased (so uniqueness is case-insensitive).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let email = text.trim().to_lowercase();
        let invalid =
            || ModelError::invalid("email", "must be an email address such as ada@example.com");
        let (local, domain) = email.split_once('@').ok_or_else(invalid)?;
        let domain_ok = domain.len() >= 3
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..")
            && domain
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-'));
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && local.bytes().all(|b| {
                b.is_ascii_graphic()
                    && !matches!(
                        b,
                        b'@' | b'"'
                            | b'('
                            | b')'
                            | b','
                            | b':'
                            | b';'
                            | b'<'
                            | b'>'
                            | b'['
                            | b'\\'
                            | b']'
                    )
            });
        if email.len() > 254 || !domain_ok || !local_ok {
            return Err(invalid());
        }
        Ok(Email(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A password as typed: 8 to 128 characters, not blank. Never stored, never logged.
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 8;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let chars = text.chars().count();
        if !(Self::MIN_CHARS..=Self::MAX_CHARS).contains(&chars) || text.trim().is_empty() {
            return Err(ModelError::invalid(
                "password",
                format!(
                    "must be {} to {} characters",
                    Self::MIN_CHARS,
                    Self::MAX_CHARS
                ),
            ));
        }
        Ok(Password(text.to_owned()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

/// A person's first or last name.
pub fn parse_name(field: &str, text: &str) -> Result<String, ModelError> {
    required_text(field, text, 100)
}

/// A phone number: `+`, digits, spaces and dashes, 6 to 20 characters.
pub fn parse_phone(text: &str) -> Result<String, ModelError> {
    let phone = text.trim();
    let digits = phone.bytes().filter(u8::is_ascii_digit).count();
    let chars_ok = phone
        .bytes()
        .enumerate()
        .all(|(i, b)| b.is_ascii_digit() || matches!(b, b' ' | b'-') || (i == 0 && b == b'+'));
    if !(6..=20).contains(&phone.len()) || digits < 6 || !chars_ok {
        return Err(ModelError::invalid(
            "phone",
            "must be a phone number such as +1 555-0100",
        ));
    }
    Ok(phone.to_owned())
}

/// Shipping or billing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AddressType {
    Shipping,
    Billing,
}

impl AddressType {
    pub fn as_str(&self) -> &'static str {
        match self {
            AddressType::Shipping => "SHIPPING",
            AddressType::Billing => "BILLING",
        }
    }
}

impl FromStr for AddressType {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "SHIPPING" => Ok(AddressType::Shipping),
            "BILLING" => Ok(AddressType::Billing),
            _ => Err(ModelError::invalid(
                "addressType",
                "must be SHIPPING or BILLING",
            )),
        }
    }
}

/// An ISO 3166-1 alpha-2 country code, upper-case.
pub fn parse_country(text: &str) -> Result<String, ModelError> {
    let code = text.trim().to_ascii_uppercase();
    if code.len() != 2 || !code.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(ModelError::invalid(
            "country",
            "must be a two-letter ISO 3166 code such as US",
        ));
    }
    Ok(code)
}

/// A postal code: letters, digits, spaces and dashes, 2 to 20 characters.
pub fn parse_postal_code(text: &str) -> Result<String, ModelError> {
    let code = text.trim();
    let ok = (2..=20).contains(&code.len())
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'-'));
    if !ok {
        return Err(ModelError::invalid(
            "postalCode",
            "must be 2-20 letters, digits, spaces or dashes",
        ));
    }
    Ok(code.to_ascii_uppercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            Email::parse("  Ada@Example.COM ").unwrap().as_str(),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@ex..com",
            "ada@.com",
        ] {
            assert!(Email::parse(bad).is_err(), "{bad} accepted");
        }
    }

    #[test]
    fn passwords_have_bounds_and_never_print() {
        assert!(Password::parse("short").is_err());
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(Password::parse("         ").is_err());
        let p = Password::parse("correct horse").unwrap();
        assert_eq!(format!("{p:?}"), "Password(***)");
    }

    #[test]
    fn addresses_parts_are_checked() {
        assert_eq!(parse_country("us").unwrap(), "US");
        assert!(parse_country("USA").is_err());
        assert!(parse_postal_code("9410<").is_err());
        assert!(parse_phone("+1 555-0100").is_ok());
        assert!(parse_phone("call me").is_err());
    }
}
