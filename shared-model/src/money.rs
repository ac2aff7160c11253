//! Money on `rust_decimal`: an exact amount and its currency, never a float.
//!
//! Amounts are kept to the currency's minor units (cents for USD); rounding is explicit and
//! half-away-from-zero, as a till does. On the wire an amount is a decimal string (`"499.99"`),
//! so no JSON reader rounds it through a binary float.

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::ModelError;

/// The largest amount a `NUMERIC(12,2)` column holds.
pub const MAX_AMOUNT: Decimal = Decimal::from_parts(0xD4A5_0FFF, 0xE8, 0, false, 2);

/// An ISO-4217 currency code: three uppercase ASCII letters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Currency([u8; 3]);

string_schema!(Currency, "An ISO 4217 currency code.", "USD", "^[A-Z]{3}$");

impl Currency {
    pub const USD: Currency = Currency(*b"USD");
    pub const EUR: Currency = Currency(*b"EUR");
    pub const INR: Currency = Currency(*b"INR");

    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let bytes = text.as_bytes();
        if bytes.len() != 3 || !bytes.iter().all(u8::is_ascii_uppercase) {
            return Err(ModelError::invalid(
                "currency",
                "must be a three-letter ISO 4217 code such as USD",
            ));
        }
        Ok(Currency([bytes[0], bytes[1], bytes[2]]))
    }

    pub fn as_str(&self) -> &str {
        // Only ASCII letters are ever stored.
        std::str::from_utf8(&self.0).unwrap_or("XXX")
    }

    /// Digits after the decimal point in this currency's smallest unit.
    pub fn minor_units(&self) -> u32 {
        match &self.0 {
            b"JPY" | b"KRW" | b"VND" | b"CLP" | b"ISK" | b"UGX" => 0,
            b"BHD" | b"KWD" | b"OMR" | b"JOD" | b"TND" | b"IQD" | b"LYD" => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Currency {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Currency::parse(s)
    }
}

impl TryFrom<String> for Currency {
    type Error = ModelError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        Currency::parse(&value)
    }
}

impl From<Currency> for String {
    fn from(value: Currency) -> Self {
        value.as_str().to_owned()
    }
}

/// An exact amount in one currency.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Money {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "499.99"))]
    pub amount: Decimal,
    pub currency: Currency,
}

impl Money {
    pub fn new(amount: Decimal, currency: Currency) -> Self {
        Money { amount, currency }
    }

    pub fn zero(currency: Currency) -> Self {
        Money::new(Decimal::ZERO, currency)
    }

    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    fn same_currency(&self, other: &Money) -> Result<(), ModelError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(ModelError::CurrencyMismatch {
                left: self.currency.to_string(),
                right: other.currency.to_string(),
            })
        }
    }

    pub fn checked_add(self, other: Money) -> Result<Money, ModelError> {
        self.same_currency(&other)?;
        self.amount
            .checked_add(other.amount)
            .map(|a| Money::new(a, self.currency))
            .ok_or(ModelError::Overflow("money addition"))
    }

    pub fn checked_sub(self, other: Money) -> Result<Money, ModelError> {
        self.same_currency(&other)?;
        self.amount
            .checked_sub(other.amount)
            .map(|a| Money::new(a, self.currency))
            .ok_or(ModelError::Overflow("money subtraction"))
    }

    /// The amount times a whole quantity (a line total); exact, no rounding needed.
    pub fn times(self, quantity: u32) -> Result<Money, ModelError> {
        self.amount
            .checked_mul(Decimal::from(quantity))
            .map(|a| Money::new(a, self.currency))
            .ok_or(ModelError::Overflow("money multiplication"))
    }

    /// The amount scaled by a rate (a tax or discount rate), rounded to minor units.
    pub fn scaled(self, rate: Decimal) -> Result<Money, ModelError> {
        self.amount
            .checked_mul(rate)
            .map(|a| Money::new(a, self.currency).rounded())
            .ok_or(ModelError::Overflow("money scaling"))
    }

    /// Rounded half away from zero to the currency's minor units.
    pub fn rounded(self) -> Money {
        Money::new(
            self.amount.round_dp_with_strategy(
                self.currency.minor_units(),
                RoundingStrategy::MidpointAwayFromZero,
            ),
            self.currency,
        )
    }

    pub fn min(self, other: Money) -> Money {
        if other.amount < self.amount {
            other
        } else {
            self
        }
    }

    pub fn max(self, other: Money) -> Money {
        if other.amount > self.amount {
            other
        } else {
            self
        }
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.amount, self.currency)
    }
}

/// The amount written with exactly the currency's minor units (`0` becomes `0.00`), so every
/// amount on the wire has one spelling. Never rounds away a digit: amounts are stored exact.
pub fn with_minor_units(mut amount: Decimal, currency: Currency) -> Decimal {
    if amount.scale() < currency.minor_units() {
        amount.rescale(currency.minor_units());
    }
    amount
}

/// Checks an amount that came from outside: not negative, no finer than the currency's minor
/// unit, and small enough for the database's `NUMERIC(12,2)`.
pub fn parse_amount(
    field: &str,
    amount: Decimal,
    currency: Currency,
) -> Result<Decimal, ModelError> {
    if amount.is_sign_negative() && !amount.is_zero() {
        return Err(ModelError::invalid(field, "must not be negative"));
    }
    if amount.normalize().scale() > currency.minor_units() {
        return Err(ModelError::invalid(
            field,
            format!(
                "has more than {} decimal places for {}",
                currency.minor_units(),
                currency
            ),
        ));
    }
    if amount > MAX_AMOUNT {
        return Err(ModelError::invalid(field, "is larger than 9999999999.99"));
    }
    Ok(amount.normalize().round_dp(currency.minor_units()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal_macros::dec;

    #[test]
    fn max_amount_is_the_numeric_12_2_limit() {
        assert_eq!(MAX_AMOUNT, dec!(9999999999.99));
    }

    #[test]
    fn currencies_are_three_uppercase_letters() {
        assert_eq!(Currency::parse("USD").unwrap(), Currency::USD);
        for bad in ["usd", "US", "USDX", "U$D", ""] {
            assert!(Currency::parse(bad).is_err(), "{bad} accepted");
        }
        assert_eq!(serde_json::to_string(&Currency::EUR).unwrap(), "\"EUR\"");
        assert!(serde_json::from_str::<Currency>("\"eur\"").is_err());
    }

    #[test]
    fn amounts_round_half_away_from_zero_to_minor_units() {
        assert_eq!(
            Money::new(dec!(1.005), Currency::USD).rounded().amount,
            dec!(1.01)
        );
        assert_eq!(
            Money::new(dec!(1.004), Currency::USD).rounded().amount,
            dec!(1.00)
        );
        let yen = Currency::parse("JPY").unwrap();
        assert_eq!(Money::new(dec!(10.5), yen).rounded().amount, dec!(11));
    }

    #[test]
    fn mixing_currencies_is_refused() {
        let usd = Money::new(dec!(1), Currency::USD);
        let eur = Money::new(dec!(1), Currency::EUR);
        assert!(matches!(
            usd.checked_add(eur),
            Err(ModelError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn amounts_from_outside_are_checked() {
        assert_eq!(
            parse_amount("price", dec!(499.990), Currency::USD).unwrap(),
            dec!(499.99)
        );
        assert!(parse_amount("price", dec!(-0.01), Currency::USD).is_err());
        assert!(parse_amount("price", dec!(1.001), Currency::USD).is_err());
        assert!(parse_amount("price", dec!(10000000000), Currency::USD).is_err());
        assert!(parse_amount("price", dec!(0), Currency::USD).is_ok());
    }

    #[test]
    fn amounts_are_written_with_their_minor_units() {
        assert_eq!(with_minor_units(dec!(0), Currency::USD).to_string(), "0.00");
        assert_eq!(
            with_minor_units(dec!(5.1), Currency::USD).to_string(),
            "5.10"
        );
        assert_eq!(
            with_minor_units(dec!(5.125), Currency::USD).to_string(),
            "5.125"
        );
    }

    #[test]
    fn amounts_travel_as_strings() {
        let m = Money::new(dec!(499.99), Currency::USD);
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"amount":"499.99","currency":"USD"}"#
        );
        // A JSON number is refused rather than rounded through a float.
        assert!(serde_json::from_str::<Money>(r#"{"amount":499.99,"currency":"USD"}"#).is_err());
    }
}
