//! Typed ids, so a product id can never be passed where an order id is expected.
//!
//! Database rows are keyed by positive `BIGINT`s. On the wire every id is a JSON string of
//! digits (`"12345"`): JavaScript cannot hold every `i64` exactly as a number. Inputs accept a
//! string or an integer; anything else, zero or a negative value is refused when parsed.
//! Saga, checkout and event ids are UUIDs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::ModelError;

macro_rules! numeric_id {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(i64);

        impl $name {
            /// Wraps a value read from the database or another trusted source.
            pub const fn new(raw: i64) -> Self {
                Self(raw)
            }

            pub const fn get(self) -> i64 {
                self.0
            }

            /// Parses an id from outside: decimal digits naming a positive `i64`.
            pub fn parse(text: &str) -> Result<Self, ModelError> {
                let invalid = || ModelError::invalid($label, "must be a positive integer id");
                if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(invalid());
                }
                match text.parse::<i64>() {
                    Ok(v) if v > 0 => Ok(Self(v)),
                    _ => Err(invalid()),
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}", self.0)
            }
        }

        impl FromStr for $name {
            type Err = ModelError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_any(IdVisitor).and_then(|raw| {
                    if raw > 0 {
                        Ok(Self(raw))
                    } else {
                        Err(serde::de::Error::custom(concat!($label, " must be a positive integer id")))
                    }
                })
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                utoipa::openapi::ObjectBuilder::new()
                    .schema_type(utoipa::openapi::schema::Type::String)
                    .pattern(Some("^[1-9][0-9]{0,18}$"))
                    .description(Some(concat!("A ", $label, ": a positive integer written as a string.")))
                    .examples([serde_json::json!("12345")])
                    .into()
            }
        }

        #[cfg(feature = "openapi")]
        impl utoipa::ToSchema for $name {}
    };
}

/// Accepts `"123"` or `123` and yields the integer; the caller checks it is positive.
struct IdVisitor;

impl serde::de::Visitor<'_> for IdVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an id: a positive integer or a string of digits")
    }

    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom("id out of range"))
    }

    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }

    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<i64, E> {
        if v.is_empty() || v.len() > 19 || !v.bytes().all(|b| b.is_ascii_digit()) {
            return Err(E::custom("id must be a string of digits"));
        }
        v.parse::<i64>().map_err(|_| E::custom("id out of range"))
    }
}

numeric_id!(/// A registered user (customer, seller account or admin).
    UserId, "userId");
numeric_id!(/// A postal address in a user's address book.
    AddressId, "addressId");
numeric_id!(/// A node of the category tree.
    CategoryId, "categoryId");
numeric_id!(/// A seller on the marketplace (one per seller account).
    SellerId, "sellerId");
numeric_id!(/// A product listing.
    ProductId, "productId");
numeric_id!(/// A purchasable variant of a product (one SKU).
    VariantId, "variantId");
numeric_id!(/// A product image.
    ImageId, "imageId");
numeric_id!(/// A warehouse that holds stock.
    WarehouseId, "warehouseId");
numeric_id!(/// A stock row: one (product, variant, warehouse).
    InventoryId, "inventoryId");
numeric_id!(/// A product review.
    ReviewId, "reviewId");
numeric_id!(/// An order.
    OrderId, "orderId");
numeric_id!(/// One line of an order.
    OrderItemId, "orderItemId");
numeric_id!(/// A payment attempt.
    PaymentId, "paymentId");
numeric_id!(/// A refund of a payment.
    RefundId, "refundId");
numeric_id!(/// A stock reservation.
    ReservationId, "reservationId");
numeric_id!(/// A return request.
    ReturnId, "returnId");
numeric_id!(/// A flash sale: units of one product at a sale price, sold through the waiting room.
    FlashSaleId, "flashSaleId");

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $label:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub uuid::Uuid);

        string_schema!($name, concat!("A ", $label, " (UUID)."), "0f8e4b1c-2d3a-4e5f-6071-8293a4b5c6d7");

        impl $name {
            pub fn parse(text: &str) -> Result<Self, ModelError> {
                uuid::Uuid::parse_str(text)
                    .map(Self)
                    .map_err(|_| ModelError::invalid($label, "must be a UUID"))
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = ModelError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::parse(s)
            }
        }
    };
}

uuid_id!(/// A checkout: one attempt to buy a cart's lines, with its reservation.
    CheckoutId, "checkoutId");
uuid_id!(/// The saga that carries a checkout through payment and order creation.
    SagaId, "sagaId");
uuid_id!(/// A domain event, for consumer dedupe.
    EventId, "eventId");
uuid_id!(/// A signed-in session; logging out revokes it.
    SessionId, "sessionId");

impl SagaId {
    /// The saga of a checkout is derived from it, so a retried checkout finds its own saga
    /// and never starts a second one: a hash in a namespace of our own. A time-ordered checkout
    /// id (UUIDv7) gives a saga id that keeps its 48-bit millisecond timestamp (a version-8,
    /// custom UUID), so sagas land at the right edge of every index keyed by them, as their
    /// checkouts do, instead of anywhere in it. Random checkout ids keep the all-hash saga id
    /// they were created with (a UUIDv5).
    pub fn for_checkout(checkout: CheckoutId) -> Self {
        const NAMESPACE: uuid::Uuid = uuid::Uuid::from_bytes([
            0x6f, 0x2b, 0x0e, 0x1c, 0x52, 0x8a, 0x4d, 0x71, 0x9b, 0x3e, 0x21, 0x57, 0xc4, 0x0d,
            0xa8, 0x19,
        ]);
        let hashed = uuid_v5(NAMESPACE, checkout.0.as_bytes());
        if checkout.0.get_version_num() != 7 {
            return SagaId(hashed);
        }
        let mut bytes = *hashed.as_bytes();
        bytes[..6].copy_from_slice(&checkout.0.as_bytes()[..6]);
        bytes[6] = (bytes[6] & 0x0f) | 0x80;
        SagaId(uuid::Uuid::from_bytes(bytes))
    }
}

/// RFC 4122 version-5 UUID built with SHA-256 truncated (we only need determinism and spread,
/// and `sha2` is already a dependency; the version nibble is set to 5 for readability).
fn uuid_v5(namespace: uuid::Uuid, name: &[u8]) -> uuid::Uuid {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    hasher.update(namespace.as_bytes());
    hasher.update(name);
    let digest = hasher.finalize();
    let mut bytes = [0u8; 16];
    bytes.copy_from_slice(&digest[..16]);
    bytes[6] = (bytes[6] & 0x0f) | 0x50;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    uuid::Uuid::from_bytes(bytes)
}

/// A cart id: `cart_` followed by 32 lowercase hex digits. Guests carry it in a cookie and the
/// `X-Cart-Id` header, so it is parsed strictly before it is used as a storage key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CartId(String);

string_schema!(
    CartId,
    "A cart id: cart_ and 32 lowercase hex digits.",
    "cart_0f8e4b1c2d3a4e5f60718293a4b5c6d7",
    "^cart_[0-9a-f]{32}$"
);

impl CartId {
    pub const PREFIX: &'static str = "cart_";

    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let hex = text
            .strip_prefix(Self::PREFIX)
            .ok_or_else(|| ModelError::invalid("cartId", "must start with cart_"))?;
        if hex.len() != 32 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ModelError::invalid(
                "cartId",
                "must be cart_ followed by 32 lowercase hex digits",
            ));
        }
        Ok(CartId(text.to_owned()))
    }

    /// Builds a fresh id from 16 random bytes supplied by the caller's randomness source.
    pub fn from_random(bytes: [u8; 16]) -> Self {
        let mut id = String::with_capacity(Self::PREFIX.len() + 32);
        id.push_str(Self::PREFIX);
        for b in bytes {
            id.push_str(&format!("{b:02x}"));
        }
        CartId(id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CartId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for CartId {
    type Error = ModelError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        CartId::parse(&value)
    }
}

impl From<CartId> for String {
    fn from(value: CartId) -> Self {
        value.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_ids_travel_as_strings_and_accept_numbers() {
        let id = ProductId::new(42);
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"42\"");
        assert_eq!(serde_json::from_str::<ProductId>("\"42\"").unwrap(), id);
        assert_eq!(serde_json::from_str::<ProductId>("42").unwrap(), id);
    }

    #[test]
    fn numeric_ids_refuse_zero_negative_and_junk() {
        for bad in [
            "0",
            "-1",
            "\"-1\"",
            "\"0\"",
            "\"12a\"",
            "\"\"",
            "1.5",
            "null",
            "\"99999999999999999999\"",
        ] {
            assert!(
                serde_json::from_str::<ProductId>(bad).is_err(),
                "{bad} was accepted"
            );
        }
        assert!(ProductId::parse("007x").is_err());
        assert_eq!(ProductId::parse("7").unwrap().get(), 7);
    }

    #[test]
    fn saga_id_is_a_function_of_the_checkout() {
        let checkout = CheckoutId(uuid::Uuid::from_u128(7));
        assert_eq!(
            SagaId::for_checkout(checkout),
            SagaId::for_checkout(checkout)
        );
        assert_ne!(
            SagaId::for_checkout(checkout),
            SagaId::for_checkout(CheckoutId(uuid::Uuid::from_u128(8)))
        );
        assert_eq!(SagaId::for_checkout(checkout).0.get_version_num(), 5);
    }

    #[test]
    fn a_random_checkout_keeps_the_saga_id_it_was_created_with() {
        // Checkouts made before ids were time-ordered must still find their sagas.
        let checkout = CheckoutId(uuid::Uuid::from_u128(
            0x0f8e4b1c_2d3a_4e5f_6071_8293a4b5c6d7,
        ));
        assert_eq!(
            SagaId::for_checkout(checkout).to_string(),
            "14989e36-da89-538d-a73f-97d4eb43deee"
        );
    }

    /// A UUIDv7 made at `millis` with `tail` in its other bits.
    fn time_ordered(millis: u64, tail: u8) -> CheckoutId {
        let mut bytes = [tail; 16];
        bytes[..6].copy_from_slice(&millis.to_be_bytes()[2..]);
        bytes[6] = (bytes[6] & 0x0f) | 0x70;
        bytes[8] = (bytes[8] & 0x3f) | 0x80;
        CheckoutId(uuid::Uuid::from_bytes(bytes))
    }

    #[test]
    fn a_time_ordered_checkout_has_a_saga_id_in_the_same_order() {
        let (earlier, later) = (
            time_ordered(1_700_000_000_000, 0xff),
            time_ordered(1_700_000_000_001, 0x00),
        );
        assert_eq!(earlier.0.get_version_num(), 7);
        let (first, second) = (SagaId::for_checkout(earlier), SagaId::for_checkout(later));
        assert!(first < second, "{first} then {second}");
        assert_eq!(first.0.as_bytes()[..6], earlier.0.as_bytes()[..6]);
        assert_eq!(first.0.get_version_num(), 8);
        assert_eq!(
            first,
            SagaId::for_checkout(earlier),
            "a function of the checkout"
        );
        // Two checkouts of the same millisecond still have two sagas.
        assert_ne!(
            SagaId::for_checkout(time_ordered(1_700_000_000_000, 0x01)),
            first
        );
    }

    #[test]
    fn cart_ids_are_parsed_strictly() {
        let id = CartId::from_random([0xab; 16]);
        assert_eq!(CartId::parse(id.as_str()).unwrap(), id);
        for bad in [
            "",
            "cart_",
            "cart_XYZ",
            "abc",
            "cart_0123456789abcdef0123456789ABCDEF",
        ] {
            assert!(CartId::parse(bad).is_err(), "{bad} was accepted");
        }
    }
}
