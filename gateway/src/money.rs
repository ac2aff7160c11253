//! Amounts and currencies as the API accepts them: amounts are decimal strings ("12.34", at most
//! two decimals, > 0), never JSON numbers, so no float ever touches money; currencies are three
//! upper-case letters. Everything that leaves the gateway is formatted with exactly two decimals.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};
use serde_json::Value;

use crate::error::ApiError;

/// Largest amount accepted, the same ceiling Stripe puts on a single charge's digits.
const MAX_INTEGER_DIGITS: usize = 8;

/// A non-negative money amount held at scale 2 (so "12.3" is kept and shown as "12.30").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(Decimal);

impl Amount {
    pub const ZERO: Amount = Amount(Decimal::from_parts(0, 0, 0, false, 2));

    /// Parses an amount field of a request body. `what` names the field in messages.
    pub fn from_json(value: &Value, what: &str) -> Result<Amount, ApiError> {
        match value {
            Value::String(text) => Amount::parse(text, what),
            Value::Number(_) => Err(ApiError::AmountInvalid(format!(
                "{what} must be a decimal string such as \"12.34\", not a JSON number"
            ))),
            _ => Err(ApiError::AmountInvalid(format!(
                "{what} must be a decimal string such as \"12.34\""
            ))),
        }
    }

    /// Accepts `0|[1-9][0-9]*` optionally followed by `.` and one or two digits, above zero.
    /// The grammar is checked by hand because `Decimal`'s parser also takes signs, exponents
    /// and underscores, which a money API should refuse rather than reinterpret.
    pub fn parse(text: &str, what: &str) -> Result<Amount, ApiError> {
        let invalid = |why: &str| {
            ApiError::AmountInvalid(format!(
                "{what} {why} (got {text:?}, expected e.g. \"12.34\")"
            ))
        };
        let (whole, fraction) = match text.split_once('.') {
            Some((whole, fraction)) => (whole, Some(fraction)),
            None => (text, None),
        };
        let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(whole) || (whole.len() > 1 && whole.starts_with('0')) {
            return Err(invalid("must be a plain decimal number"));
        }
        if let Some(fraction) = fraction {
            if !digits(fraction) {
                return Err(invalid("must be a plain decimal number"));
            }
            if fraction.len() > 2 {
                return Err(invalid("may have at most 2 decimals"));
            }
        }
        if whole.len() > MAX_INTEGER_DIGITS {
            return Err(invalid("is too large"));
        }
        let mut value = Decimal::from_str_exact(text).map_err(|_| invalid("is not a number"))?;
        if value <= Decimal::ZERO {
            return Err(invalid("must be greater than 0"));
        }
        value.rescale(2);
        Ok(Amount(value))
    }

    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        self.0.checked_add(other.0).map(Amount)
    }

    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        self.0.checked_sub(other.0).map(Amount)
    }

    pub fn is_zero(self) -> bool {
        self.0.is_zero()
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Sums and differences of scale-2 values stay at scale 2, but format explicitly anyway.
        write!(f, "{:.2}", self.0)
    }
}

impl Serialize for Amount {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Parses a currency field: exactly three upper-case ASCII letters ("USD"). Not checked against
/// the ISO list: the sandbox only needs the shape to be right.
pub fn parse_currency(value: &Value) -> Result<String, ApiError> {
    match value {
        Value::String(code) if code.len() == 3 && code.bytes().all(|b| b.is_ascii_uppercase()) => {
            Ok(code.clone())
        }
        other => Err(ApiError::CurrencyInvalid(format!(
            "currency must be three upper-case letters such as \"USD\" (got {other})"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_plain_decimals_and_formats_two_places() {
        for (text, shown) in [
            ("12.34", "12.34"),
            ("12.3", "12.30"),
            ("7", "7.00"),
            ("0.01", "0.01"),
        ] {
            assert_eq!(
                Amount::parse(text, "amount").map(|a| a.to_string()).ok(),
                Some(shown.into())
            );
        }
    }

    #[test]
    fn refuses_everything_else() {
        for text in [
            "",
            "0",
            "0.00",
            "-1",
            "+1",
            "1e3",
            "1.234",
            "1.",
            ".5",
            "01",
            " 1",
            "1_000",
            "NaN",
            "123456789.00",
        ] {
            assert!(
                Amount::parse(text, "amount").is_err(),
                "{text:?} was accepted"
            );
        }
        assert!(Amount::from_json(&serde_json::json!(12.34), "amount").is_err());
    }
}
