//! Cart math: add, update, remove, subtotal, the guest → user merge and the priced cart view.
//! Invariants: one line per (product, variant); every quantity is at least 1, at most its cap,
//! and never above ABSOLUTE_MAX_QUANTITY_PER_LINE; every price is in the cart's currency.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::ids::{ProductId, VariantId};
use crate::pricing::{PriceChange, price_change};
use crate::{Currency, ModelError, Money};

/// A line's quantity cap unless the product sets its own.
pub const DEFAULT_MAX_QUANTITY_PER_LINE: u32 = 10;
/// No product's cap may exceed this, whatever its catalog entry says.
pub const ABSOLUTE_MAX_QUANTITY_PER_LINE: u32 = 100;
/// A guest cart lives this long after its last change; a signed-in buyer's cart never expires.
pub const GUEST_CART_TTL_DAYS: i64 = 30;

/// When a guest cart last changed at `updated_at` expires.
pub fn guest_cart_expires_at(updated_at: DateTime<Utc>) -> DateTime<Utc> {
    updated_at
        .checked_add_signed(TimeDelta::days(GUEST_CART_TTL_DAYS))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

pub fn is_guest_cart_expired(updated_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now >= guest_cart_expires_at(updated_at)
}

/// The most of one line a buyer may hold: 1..=ABSOLUTE_MAX_QUANTITY_PER_LINE.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct QuantityCap(u32);

impl QuantityCap {
    pub const DEFAULT: QuantityCap = QuantityCap(DEFAULT_MAX_QUANTITY_PER_LINE);
    pub const MAX: QuantityCap = QuantityCap(ABSOLUTE_MAX_QUANTITY_PER_LINE);

    pub fn new(max: u32) -> Result<Self, ModelError> {
        if (1..=ABSOLUTE_MAX_QUANTITY_PER_LINE).contains(&max) {
            Ok(QuantityCap(max))
        } else {
            Err(ModelError::invalid(
                "maxQuantityPerOrder",
                format!("must be between 1 and {ABSOLUTE_MAX_QUANTITY_PER_LINE}"),
            ))
        }
    }

    /// The product's own cap if it has one (flash-sale items: 1), else the default.
    pub fn for_product(max_quantity: Option<u32>) -> Result<Self, ModelError> {
        max_quantity.map_or(Ok(QuantityCap::DEFAULT), QuantityCap::new)
    }

    pub const fn get(self) -> u32 {
        self.0
    }
}

impl Default for QuantityCap {
    fn default() -> Self {
        QuantityCap::DEFAULT
    }
}

impl TryFrom<i32> for QuantityCap {
    type Error = ModelError;
    /// From the database's `max_quantity_per_order INT`.
    fn try_from(value: i32) -> Result<Self, Self::Error> {
        u32::try_from(value)
            .map_err(|_| ModelError::invalid("maxQuantityPerOrder", "must be positive"))
            .and_then(QuantityCap::new)
    }
}

impl fmt::Display for QuantityCap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A cart line's stable id: `"12345"` for a product without variant, `"12345-678"` with one.
/// Only the canonical spelling parses (no leading zeros), so one line has exactly one id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct CartItemId {
    pub product_id: ProductId,
    pub variant_id: Option<VariantId>,
}

string_schema!(
    CartItemId,
    "A cart line: the product id, and -variantId when it has one.",
    "12345-678"
);

impl CartItemId {
    pub const fn new(product_id: ProductId, variant_id: Option<VariantId>) -> Self {
        CartItemId {
            product_id,
            variant_id,
        }
    }

    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let invalid = || {
            ModelError::invalid(
                "itemId",
                "must be a product id, optionally followed by - and a variant id",
            )
        };
        let (product, variant) = match text.split_once('-') {
            Some((p, v)) => (p, Some(v)),
            None => (text, None),
        };
        let product_id = ProductId::parse(product).map_err(|_| invalid())?;
        let variant_id = variant
            .map(|v| VariantId::parse(v).map_err(|_| invalid()))
            .transpose()?;
        let id = CartItemId::new(product_id, variant_id);
        if id.to_string() != text {
            return Err(invalid());
        }
        Ok(id)
    }
}

impl fmt::Display for CartItemId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.variant_id {
            Some(v) => write!(f, "{}-{}", self.product_id, v),
            None => write!(f, "{}", self.product_id),
        }
    }
}

impl FromStr for CartItemId {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        CartItemId::parse(s)
    }
}

impl TryFrom<String> for CartItemId {
    type Error = ModelError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        CartItemId::parse(&value)
    }
}

impl From<CartItemId> for String {
    fn from(value: CartItemId) -> Self {
        value.to_string()
    }
}

/// One line of a cart, with the price the buyer saw when adding it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartLine {
    pub product_id: ProductId,
    #[serde(default)]
    pub variant_id: Option<VariantId>,
    pub quantity: u32,
    pub price_at_addition: Money,
    pub added_at: DateTime<Utc>,
}

impl CartLine {
    pub fn id(&self) -> CartItemId {
        CartItemId::new(self.product_id, self.variant_id)
    }

    /// Quantity × price at addition.
    pub fn line_total(&self) -> Result<Money, ModelError> {
        self.price_at_addition.times(self.quantity)
    }
}

/// What [`Cart::add`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AddOutcome {
    pub item_id: CartItemId,
    /// The line's quantity now.
    pub quantity: u32,
    /// What the line would hold without the cap.
    pub requested: u32,
    /// The cap cut the quantity down ("max quantity exceeded, capped").
    pub capped: bool,
    /// The product (and variant) was already in the cart and its quantities were summed.
    pub merged: bool,
}

/// A cart. Its fields are private so every way in (including deserialisation) keeps the
/// module's invariants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", try_from = "CartParts")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Cart {
    currency: Currency,
    lines: Vec<CartLine>,
}

/// A cart as read from storage, before its invariants are checked.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CartParts {
    currency: Currency,
    #[serde(default)]
    lines: Vec<CartLine>,
}

impl TryFrom<CartParts> for Cart {
    type Error = ModelError;
    fn try_from(parts: CartParts) -> Result<Self, Self::Error> {
        Cart::from_lines(parts.currency, parts.lines)
    }
}

impl Cart {
    pub fn new(currency: Currency) -> Self {
        Cart {
            currency,
            lines: Vec::new(),
        }
    }

    /// Rebuilds a cart from stored lines, refusing any that break the invariants (only the
    /// absolute cap is known here; per-product caps are applied on add, update and merge).
    pub fn from_lines(currency: Currency, lines: Vec<CartLine>) -> Result<Self, ModelError> {
        let mut cart = Cart::new(currency);
        for line in lines {
            cart.check_line(&line)?;
            if line.quantity > ABSOLUTE_MAX_QUANTITY_PER_LINE {
                return Err(ModelError::invalid(
                    "quantity",
                    format!("must be at most {ABSOLUTE_MAX_QUANTITY_PER_LINE}"),
                ));
            }
            if cart.line(line.id()).is_some() {
                return Err(ModelError::invalid(
                    "lines",
                    format!("item {} appears twice", line.id()),
                ));
            }
            cart.lines.push(line);
        }
        Ok(cart)
    }

    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Lines in the order they were first added.
    pub fn lines(&self) -> &[CartLine] {
        &self.lines
    }

    pub fn line(&self, item_id: CartItemId) -> Option<&CartLine> {
        self.lines.iter().find(|l| l.id() == item_id)
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    fn check_line(&self, line: &CartLine) -> Result<(), ModelError> {
        if line.quantity == 0 {
            return Err(ModelError::invalid("quantity", "must be at least 1"));
        }
        if line.price_at_addition.currency != self.currency {
            return Err(ModelError::CurrencyMismatch {
                left: self.currency.to_string(),
                right: line.price_at_addition.currency.to_string(),
            });
        }
        if line.price_at_addition.is_negative() {
            return Err(ModelError::invalid(
                "priceAtAddition",
                "must not be negative",
            ));
        }
        Ok(())
    }

    /// Adds a line, or more of a line already in the cart, never beyond `cap`. A repeated add
    /// takes the new line's price (the buyer has just seen it) and keeps the first `added_at`.
    pub fn add(&mut self, line: CartLine, cap: QuantityCap) -> Result<AddOutcome, ModelError> {
        self.check_line(&line)?;
        let item_id = line.id();
        let (requested, quantity, merged) = match self.lines.iter_mut().find(|l| l.id() == item_id)
        {
            Some(existing) => {
                let requested = existing.quantity.saturating_add(line.quantity);
                existing.quantity = requested.min(cap.get());
                existing.price_at_addition = line.price_at_addition;
                (requested, existing.quantity, true)
            }
            None => {
                let requested = line.quantity;
                let quantity = requested.min(cap.get());
                self.lines.push(CartLine { quantity, ..line });
                (requested, quantity, false)
            }
        };
        Ok(AddOutcome {
            item_id,
            quantity,
            requested,
            capped: quantity < requested,
            merged,
        })
    }

    /// Sets a line's quantity; it must be within 1..=cap (removing is a separate operation).
    pub fn update_quantity(
        &mut self,
        item_id: CartItemId,
        quantity: u32,
        cap: QuantityCap,
    ) -> Result<&CartLine, ModelError> {
        if quantity == 0 || quantity > cap.get() {
            return Err(ModelError::invalid(
                "quantity",
                format!("must be between 1 and {cap}"),
            ));
        }
        let line = self
            .lines
            .iter_mut()
            .find(|l| l.id() == item_id)
            .ok_or_else(|| ModelError::UnknownCartLine(item_id.to_string()))?;
        line.quantity = quantity;
        Ok(line)
    }

    /// Removes a line and hands it back.
    pub fn remove(&mut self, item_id: CartItemId) -> Result<CartLine, ModelError> {
        let at = self
            .lines
            .iter()
            .position(|l| l.id() == item_id)
            .ok_or_else(|| ModelError::UnknownCartLine(item_id.to_string()))?;
        Ok(self.lines.remove(at))
    }

    /// Σ quantity × price at addition (the seed's cart "subtotal").
    pub fn subtotal(&self) -> Result<Money, ModelError> {
        self.lines
            .iter()
            .try_fold(Money::zero(self.currency), |sum, l| {
                sum.checked_add(l.line_total()?)
            })
    }

    /// Units in the cart (the badge's "Cart (3)"), not lines.
    pub fn item_count(&self) -> u32 {
        self.lines
            .iter()
            .fold(0u32, |n, l| n.saturating_add(l.quantity))
    }

    /// The cart at today's prices: each line flagged when its price changed since it was added
    /// or it can no longer be bought. Unavailable lines count toward neither subtotal nor count.
    pub fn view(
        &self,
        catalog: impl Fn(ProductId, Option<VariantId>) -> LineAvailability,
    ) -> Result<CartView, ModelError> {
        let mut lines = Vec::with_capacity(self.lines.len());
        let mut subtotal = Money::zero(self.currency);
        let mut item_count = 0u32;
        for line in &self.lines {
            let view = match catalog(line.product_id, line.variant_id) {
                LineAvailability::Unavailable => CartViewLine {
                    item_id: line.id(),
                    product_id: line.product_id,
                    variant_id: line.variant_id,
                    quantity: line.quantity,
                    price_at_addition: line.price_at_addition,
                    available: false,
                    current_price: None,
                    price_change: None,
                    price_changed: false,
                    max_quantity: None,
                    over_cap: false,
                    line_total: None,
                },
                LineAvailability::Available { cap, current_price } => {
                    self.check_price(current_price)?;
                    let change = price_change(line.price_at_addition.amount, current_price.amount);
                    let line_total = current_price.times(line.quantity)?;
                    subtotal = subtotal.checked_add(line_total)?;
                    item_count = item_count.saturating_add(line.quantity);
                    CartViewLine {
                        item_id: line.id(),
                        product_id: line.product_id,
                        variant_id: line.variant_id,
                        quantity: line.quantity,
                        price_at_addition: line.price_at_addition,
                        available: true,
                        current_price: Some(current_price),
                        price_change: Some(change),
                        price_changed: change.is_changed(),
                        max_quantity: Some(cap.get()),
                        over_cap: line.quantity > cap.get(),
                        line_total: Some(line_total),
                    }
                }
            };
            lines.push(view);
        }
        Ok(CartView {
            currency: self.currency,
            has_price_changes: lines.iter().any(|l| l.price_changed),
            has_unavailable_lines: lines.iter().any(|l| !l.available),
            lines,
            subtotal,
            item_count,
        })
    }

    fn check_price(&self, price: Money) -> Result<(), ModelError> {
        if price.currency != self.currency {
            return Err(ModelError::CurrencyMismatch {
                left: self.currency.to_string(),
                right: price.currency.to_string(),
            });
        }
        if price.is_negative() {
            return Err(ModelError::invalid("currentPrice", "must not be negative"));
        }
        Ok(())
    }
}

/// What the catalog says about a (product, variant) right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineAvailability {
    /// Gone, inactive or out of stock: the line is dropped on merge.
    Unavailable,
    Available {
        cap: QuantityCap,
        current_price: Money,
    },
}

/// A line the merge cut down to its cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CappedLine {
    pub item_id: CartItemId,
    pub requested: u32,
    pub kept: u32,
}

/// A line the merge re-priced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceChangedLine {
    pub item_id: CartItemId,
    pub previous: Money,
    pub current: Money,
    pub change: PriceChange,
}

/// The merged cart plus what the buyer must be told ("We updated some items in your cart").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MergeOutcome {
    pub cart: Cart,
    pub capped: Vec<CappedLine>,
    /// Lines removed because they can no longer be bought.
    pub dropped: Vec<CartItemId>,
    pub price_changed: Vec<PriceChangedLine>,
}

impl MergeOutcome {
    pub fn has_changes(&self) -> bool {
        !(self.capped.is_empty() && self.dropped.is_empty() && self.price_changed.is_empty())
    }
}

/// Merges a guest cart into a signed-in buyer's cart (seed 5.3). The same (product, variant)
/// in both sums its quantities; every line is capped, re-priced at the current price and
/// dropped when unavailable. The buyer's own lines come first, then the guest's new ones.
/// An empty user cart takes the guest cart's currency; two non-empty carts must agree.
pub fn merge(
    guest: &Cart,
    user: &Cart,
    catalog: impl Fn(ProductId, Option<VariantId>) -> LineAvailability,
) -> Result<MergeOutcome, ModelError> {
    let currency = if user.is_empty() {
        guest.currency
    } else {
        if !guest.is_empty() && guest.currency != user.currency {
            return Err(ModelError::CurrencyMismatch {
                left: user.currency.to_string(),
                right: guest.currency.to_string(),
            });
        }
        user.currency
    };

    // (user line, guest line) per item, in first-seen order.
    let mut order: Vec<CartItemId> = Vec::new();
    let mut pairs: HashMap<CartItemId, (Option<&CartLine>, Option<&CartLine>)> = HashMap::new();
    for line in &user.lines {
        order.push(line.id());
        pairs.insert(line.id(), (Some(line), None));
    }
    for line in &guest.lines {
        pairs
            .entry(line.id())
            .and_modify(|pair| pair.1 = Some(line))
            .or_insert_with(|| {
                order.push(line.id());
                (None, Some(line))
            });
    }

    let mut merged = Cart::new(currency);
    let (mut capped, mut dropped, mut price_changed) = (Vec::new(), Vec::new(), Vec::new());
    for item_id in order {
        let Some(&(user_line, guest_line)) = pairs.get(&item_id) else {
            continue;
        };
        let (cap, current_price) = match catalog(item_id.product_id, item_id.variant_id) {
            LineAvailability::Unavailable => {
                dropped.push(item_id);
                continue;
            }
            LineAvailability::Available { cap, current_price } => (cap, current_price),
        };
        merged.check_price(current_price)?;
        let present: Vec<&CartLine> = [user_line, guest_line].into_iter().flatten().collect();
        let requested = present
            .iter()
            .fold(0u32, |n, l| n.saturating_add(l.quantity));
        let quantity = requested.min(cap.get());
        if quantity < requested {
            capped.push(CappedLine {
                item_id,
                requested,
                kept: quantity,
            });
        }
        // The price the buyer saw last is the one on the most recently added line; on a tie the
        // buyer's own cart wins (it comes first and max_by_key keeps the last maximum, so
        // search in reverse). `present` holds at least one line: every id came from a cart.
        let (Some(seen), Some(added_at)) = (
            present.iter().rev().max_by_key(|l| l.added_at),
            present.iter().map(|l| l.added_at).min(),
        ) else {
            continue;
        };
        if seen.price_at_addition != current_price {
            price_changed.push(PriceChangedLine {
                item_id,
                previous: seen.price_at_addition,
                current: current_price,
                change: price_change(seen.price_at_addition.amount, current_price.amount),
            });
        }
        merged.lines.push(CartLine {
            product_id: item_id.product_id,
            variant_id: item_id.variant_id,
            quantity,
            price_at_addition: current_price,
            added_at,
        });
    }
    Ok(MergeOutcome {
        cart: merged,
        capped,
        dropped,
        price_changed,
    })
}

/// The cart as the buyer sees it: current prices, with changed and unavailable lines flagged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartView {
    pub currency: Currency,
    pub lines: Vec<CartViewLine>,
    /// Σ current price × quantity over the available lines.
    pub subtotal: Money,
    pub item_count: u32,
    pub has_price_changes: bool,
    pub has_unavailable_lines: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CartViewLine {
    pub item_id: CartItemId,
    pub product_id: ProductId,
    pub variant_id: Option<VariantId>,
    pub quantity: u32,
    pub price_at_addition: Money,
    pub available: bool,
    /// None when the line is unavailable.
    pub current_price: Option<Money>,
    pub price_change: Option<PriceChange>,
    pub price_changed: bool,
    pub max_quantity: Option<u32>,
    /// The product's cap fell below this line's quantity since it was added.
    pub over_cap: bool,
    /// At the current price; None when unavailable.
    pub line_total: Option<Money>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use rust_decimal_macros::dec;
    use std::collections::HashSet;

    fn t(minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 12, 19, 10, minute, 0).unwrap()
    }

    fn usd(amount: Decimal) -> Money {
        Money::new(amount, Currency::USD)
    }

    fn line(product: i64, variant: Option<i64>, quantity: u32, price: Decimal) -> CartLine {
        CartLine {
            product_id: ProductId::new(product),
            variant_id: variant.map(VariantId::new),
            quantity,
            price_at_addition: usd(price),
            added_at: t(0),
        }
    }

    fn id(product: i64, variant: Option<i64>) -> CartItemId {
        CartItemId::new(ProductId::new(product), variant.map(VariantId::new))
    }

    fn cap(n: u32) -> QuantityCap {
        QuantityCap::new(n).unwrap()
    }

    #[test]
    fn item_ids_are_product_or_product_dash_variant() {
        assert_eq!(id(12345, None).to_string(), "12345");
        assert_eq!(id(12345, Some(678)).to_string(), "12345-678");
        assert_eq!(CartItemId::parse("12345-678"), Ok(id(12345, Some(678))));
        assert_eq!("12345".parse::<CartItemId>(), Ok(id(12345, None)));
        for bad in [
            "",
            "-",
            "12345-",
            "-678",
            "0",
            "12345-0",
            "012345",
            "12345-0678",
            "1-2-3",
            "abc",
            "12 34",
            "+5",
            "12345-v001",
            "99999999999999999999",
        ] {
            assert!(CartItemId::parse(bad).is_err(), "{bad} was accepted");
        }
        let json = serde_json::to_string(&id(1, Some(2))).unwrap();
        assert_eq!(json, "\"1-2\"");
        assert_eq!(
            serde_json::from_str::<CartItemId>(&json).unwrap(),
            id(1, Some(2))
        );
    }

    #[test]
    fn caps_are_bounded() {
        assert_eq!(QuantityCap::default().get(), 10);
        assert!(QuantityCap::new(0).is_err());
        assert!(QuantityCap::new(101).is_err());
        assert_eq!(QuantityCap::for_product(Some(1)).unwrap().get(), 1);
        assert_eq!(
            QuantityCap::for_product(None).unwrap(),
            QuantityCap::DEFAULT
        );
        assert!(QuantityCap::try_from(-1).is_err());
        assert_eq!(QuantityCap::try_from(5).unwrap().get(), 5);
    }

    #[test]
    fn guest_carts_expire_after_thirty_days() {
        let updated = t(0);
        assert_eq!(
            guest_cart_expires_at(updated),
            updated + TimeDelta::days(30)
        );
        assert!(!is_guest_cart_expired(
            updated,
            updated + TimeDelta::days(29)
        ));
        assert!(is_guest_cart_expired(
            updated,
            updated + TimeDelta::days(30)
        ));
    }

    #[test]
    fn adding_the_same_item_twice_sums_up_to_the_cap() {
        let mut cart = Cart::new(Currency::USD);
        let first = cart
            .add(line(1, Some(2), 6, dec!(10.00)), QuantityCap::DEFAULT)
            .unwrap();
        assert_eq!(
            (first.quantity, first.capped, first.merged),
            (6, false, false)
        );
        let mut again = line(1, Some(2), 6, dec!(11.00));
        again.added_at = t(5);
        let second = cart.add(again, QuantityCap::DEFAULT).unwrap();
        assert_eq!(
            (second.quantity, second.requested, second.capped),
            (10, 12, true)
        );
        assert!(second.merged);
        assert_eq!(cart.lines().len(), 1);
        // The new price replaces the old one; the line keeps its first added_at.
        assert_eq!(cart.lines()[0].price_at_addition, usd(dec!(11.00)));
        assert_eq!(cart.lines()[0].added_at, t(0));
        // A flash-sale item: one per buyer.
        let sale = cart.add(line(9, None, 3, dec!(1.00)), cap(1)).unwrap();
        assert_eq!((sale.quantity, sale.capped), (1, true));
        // A different variant is a different line.
        cart.add(line(1, Some(3), 1, dec!(10.00)), QuantityCap::DEFAULT)
            .unwrap();
        assert_eq!(cart.lines().len(), 3);
        assert_eq!(cart.item_count(), 12);
    }

    #[test]
    fn add_refuses_zero_quantities_and_foreign_currencies() {
        let mut cart = Cart::new(Currency::USD);
        assert!(matches!(
            cart.add(line(1, None, 0, dec!(1)), QuantityCap::DEFAULT),
            Err(ModelError::Invalid { .. })
        ));
        let mut eur = line(1, None, 1, dec!(1));
        eur.price_at_addition.currency = Currency::EUR;
        assert!(matches!(
            cart.add(eur, QuantityCap::DEFAULT),
            Err(ModelError::CurrencyMismatch { .. })
        ));
        assert!(cart.is_empty());
    }

    #[test]
    fn update_and_remove_follow_the_seed_api() {
        let mut cart = Cart::new(Currency::USD);
        cart.add(line(1, None, 1, dec!(99.99)), QuantityCap::DEFAULT)
            .unwrap();
        assert_eq!(
            cart.update_quantity(id(1, None), 2, QuantityCap::DEFAULT)
                .unwrap()
                .quantity,
            2
        );
        assert_eq!(cart.subtotal().unwrap(), usd(dec!(199.98)));
        assert!(matches!(
            cart.update_quantity(id(1, None), 0, QuantityCap::DEFAULT),
            Err(ModelError::Invalid { .. })
        ));
        assert!(matches!(
            cart.update_quantity(id(1, None), 11, QuantityCap::DEFAULT),
            Err(ModelError::Invalid { .. })
        ));
        assert_eq!(
            cart.update_quantity(id(2, None), 1, QuantityCap::DEFAULT),
            Err(ModelError::UnknownCartLine("2".into()))
        );
        assert_eq!(cart.remove(id(1, None)).unwrap().quantity, 2);
        assert_eq!(
            cart.remove(id(1, None)),
            Err(ModelError::UnknownCartLine("1".into()))
        );
        assert_eq!(cart.subtotal().unwrap(), usd(dec!(0)));
    }

    #[test]
    fn a_stored_cart_is_checked_when_read_back() {
        let mut cart = Cart::new(Currency::USD);
        cart.add(line(1, Some(2), 2, dec!(99.99)), QuantityCap::DEFAULT)
            .unwrap();
        let json = serde_json::to_value(&cart).unwrap();
        assert_eq!(json["lines"][0]["priceAtAddition"]["amount"], "99.99");
        assert_eq!(json["lines"][0]["productId"], "1");
        assert_eq!(json["lines"][0]["variantId"], "2");
        assert!(json["lines"][0]["addedAt"].is_string());
        assert_eq!(serde_json::from_value::<Cart>(json.clone()).unwrap(), cart);

        let mut twice = json.clone();
        let first = twice["lines"][0].clone();
        twice["lines"].as_array_mut().unwrap().push(first);
        assert!(serde_json::from_value::<Cart>(twice).is_err());
        let mut zero = json.clone();
        zero["lines"][0]["quantity"] = 0.into();
        assert!(serde_json::from_value::<Cart>(zero).is_err());
        let mut eur = json;
        eur["currency"] = "EUR".into();
        assert!(serde_json::from_value::<Cart>(eur).is_err());
    }

    #[test]
    fn merging_follows_the_seeds_edge_cases() {
        let user = Cart::from_lines(
            Currency::USD,
            vec![line(1, None, 4, dec!(10.00)), line(2, None, 1, dec!(20.00))],
        )
        .unwrap();
        let mut late = line(1, None, 8, dec!(12.00));
        late.added_at = t(30);
        let guest = Cart::from_lines(
            Currency::USD,
            vec![
                late,
                line(3, Some(7), 2, dec!(5.00)),
                line(4, None, 1, dec!(1.00)),
            ],
        )
        .unwrap();
        let out = merge(&guest, &user, |p, _| match p.get() {
            1 => LineAvailability::Available {
                cap: cap(10),
                current_price: usd(dec!(12.00)),
            },
            2 => LineAvailability::Available {
                cap: cap(10),
                current_price: usd(dec!(22.00)),
            },
            3 => LineAvailability::Available {
                cap: cap(1),
                current_price: usd(dec!(5.00)),
            },
            _ => LineAvailability::Unavailable,
        })
        .unwrap();
        let lines: Vec<_> = out
            .cart
            .lines()
            .iter()
            .map(|l| (l.id(), l.quantity))
            .collect();
        assert_eq!(
            lines,
            vec![(id(1, None), 10), (id(2, None), 1), (id(3, Some(7)), 1)]
        );
        assert_eq!(
            out.capped,
            vec![
                CappedLine {
                    item_id: id(1, None),
                    requested: 12,
                    kept: 10
                },
                CappedLine {
                    item_id: id(3, Some(7)),
                    requested: 2,
                    kept: 1
                },
            ]
        );
        assert_eq!(out.dropped, vec![id(4, None)]);
        // Product 1: the guest's later addition showed 12.00, which is still the price.
        assert_eq!(out.price_changed.len(), 1);
        assert_eq!(out.price_changed[0].item_id, id(2, None));
        assert_eq!(
            out.price_changed[0].change,
            PriceChange::RoseNeedsConfirmation
        );
        assert_eq!(out.cart.lines()[1].price_at_addition, usd(dec!(22.00)));
        assert_eq!(out.cart.lines()[0].added_at, t(0));
        assert!(out.has_changes());
    }

    #[test]
    fn an_empty_user_cart_takes_the_guest_cart() {
        let guest = Cart::from_lines(Currency::EUR, vec![]).unwrap();
        let out = merge(&guest, &Cart::new(Currency::USD), |_, _| {
            LineAvailability::Unavailable
        })
        .unwrap();
        assert_eq!(out.cart.currency(), Currency::EUR);
        assert!(!out.has_changes());

        let mut l = line(1, None, 1, dec!(1));
        l.price_at_addition.currency = Currency::EUR;
        let guest = Cart::from_lines(Currency::EUR, vec![l]).unwrap();
        let user = Cart::from_lines(Currency::USD, vec![line(2, None, 1, dec!(1))]).unwrap();
        assert!(matches!(
            merge(&guest, &user, |_, _| LineAvailability::Unavailable),
            Err(ModelError::CurrencyMismatch { .. })
        ));
    }

    #[test]
    fn the_view_shows_current_prices_and_flags_changes() {
        let cart = Cart::from_lines(
            Currency::USD,
            vec![
                line(1, None, 2, dec!(100.00)),
                line(2, None, 2, dec!(100.00)),
                line(3, None, 3, dec!(10.00)),
            ],
        )
        .unwrap();
        let view = cart
            .view(|p, _| match p.get() {
                1 => LineAvailability::Available {
                    cap: cap(10),
                    current_price: usd(dec!(104.00)),
                },
                2 => LineAvailability::Available {
                    cap: cap(1),
                    current_price: usd(dec!(100.00)),
                },
                _ => LineAvailability::Unavailable,
            })
            .unwrap();
        assert_eq!(
            view.lines[0].price_change,
            Some(PriceChange::RoseWithinNotice)
        );
        assert!(view.lines[0].price_changed);
        assert!(!view.lines[1].price_changed);
        assert!(view.lines[1].over_cap);
        assert!(!view.lines[2].available);
        assert_eq!(view.subtotal, usd(dec!(408.00)));
        assert_eq!(view.item_count, 4);
        assert!(view.has_price_changes && view.has_unavailable_lines);
        let json = serde_json::to_value(&view).unwrap();
        assert_eq!(json["lines"][0]["itemId"], "1");
        assert_eq!(json["lines"][0]["priceChange"], "ROSE_WITHIN_NOTICE");
        assert_eq!(json["hasPriceChanges"], true);
    }

    // ---- property tests ----

    /// Small id spaces so the two carts overlap often.
    fn key() -> impl Strategy<Value = (i64, Option<i64>)> {
        (1i64..6, proptest::option::of(1i64..3))
    }

    fn cart_strategy() -> impl Strategy<Value = Cart> {
        proptest::collection::btree_map(key(), (1u32..=100, 0i64..100_000, 0u32..60), 0..8)
            .prop_map(|lines| {
                let lines = lines
                    .into_iter()
                    .map(|((p, v), (q, cents, minute))| {
                        let mut l = line(p, v, q, Decimal::new(cents, 2));
                        l.added_at = t(minute % 60);
                        l
                    })
                    .collect();
                Cart::from_lines(Currency::USD, lines).unwrap()
            })
    }

    /// The catalog: for each of the 15 possible items, unavailable or (cap, price in cents).
    type Catalog = Vec<Option<(u32, i64)>>;

    fn catalog_strategy() -> impl Strategy<Value = Catalog> {
        proptest::collection::vec(
            prop_oneof![1 => Just(None), 4 => (1u32..=100, 0i64..100_000).prop_map(Some)],
            15,
        )
    }

    fn lookup(catalog: &Catalog, p: ProductId, v: Option<VariantId>) -> LineAvailability {
        let index = (p.get() - 1) * 3 + v.map_or(0, VariantId::get);
        match usize::try_from(index).ok().and_then(|i| catalog.get(i)) {
            Some(Some((c, cents))) => LineAvailability::Available {
                cap: cap(*c),
                current_price: usd(Decimal::new(*cents, 2)),
            },
            _ => LineAvailability::Unavailable,
        }
    }

    proptest! {
        #[test]
        fn merge_keeps_every_line_within_its_cap_and_loses_nothing(
            guest in cart_strategy(),
            user in cart_strategy(),
            catalog in catalog_strategy(),
        ) {
            let out = merge(&guest, &user, |p, v| lookup(&catalog, p, v)).unwrap();
            let merged: Vec<CartItemId> = out.cart.lines().iter().map(CartLine::id).collect();
            let unique: HashSet<_> = merged.iter().copied().collect();
            prop_assert_eq!(unique.len(), merged.len(), "duplicate lines");

            let dropped: HashSet<_> = out.dropped.iter().copied().collect();
            let inputs: HashSet<CartItemId> =
                guest.lines().iter().chain(user.lines()).map(CartLine::id).collect();
            for item in &inputs {
                let available = matches!(
                    lookup(&catalog, item.product_id, item.variant_id),
                    LineAvailability::Available { .. }
                );
                prop_assert_eq!(unique.contains(item), available, "{} lost or kept wrongly", item);
                prop_assert_eq!(dropped.contains(item), !available);
            }
            prop_assert!(unique.iter().all(|i| inputs.contains(i)), "a line appeared from nowhere");

            for l in out.cart.lines() {
                let LineAvailability::Available { cap, current_price } =
                    lookup(&catalog, l.product_id, l.variant_id) else {
                    unreachable!("an unavailable line was kept");
                };
                prop_assert!(l.quantity >= 1 && l.quantity <= cap.get());
                prop_assert_eq!(l.price_at_addition, current_price);
                let sum: u32 = guest.line(l.id()).map_or(0, |g| g.quantity)
                    + user.line(l.id()).map_or(0, |u| u.quantity);
                prop_assert_eq!(l.quantity, sum.min(cap.get()));
                let was_capped = out.capped.iter().any(|c| c.item_id == l.id());
                prop_assert_eq!(was_capped, sum > cap.get());
            }
        }

        #[test]
        fn add_never_exceeds_the_cap(
            adds in proptest::collection::vec((key(), 1u32..=200, 1u32..=100), 1..30),
        ) {
            let mut cart = Cart::new(Currency::USD);
            for ((p, v), q, c) in adds {
                let out = cart.add(line(p, v, q, dec!(1.00)), cap(c)).unwrap();
                prop_assert!(out.quantity <= c);
                prop_assert_eq!(cart.line(out.item_id).map(|l| l.quantity), Some(out.quantity));
                prop_assert!(cart.lines().iter().all(|l| l.quantity >= 1 && l.quantity <= 100));
            }
            let ids: HashSet<_> = cart.lines().iter().map(CartLine::id).collect();
            prop_assert_eq!(ids.len(), cart.lines().len());
        }

        #[test]
        fn subtotal_is_the_sum_of_line_totals(cart in cart_strategy()) {
            let expected: Decimal = cart
                .lines()
                .iter()
                .map(|l| l.price_at_addition.amount * Decimal::from(l.quantity))
                .sum();
            prop_assert_eq!(cart.subtotal().unwrap(), usd(expected));
            prop_assert_eq!(
                cart.item_count(),
                cart.lines().iter().map(|l| l.quantity).sum::<u32>()
            );
        }
    }
}
