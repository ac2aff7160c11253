//! The pricing pipeline (seed 8.1): base → dynamic → sale → coupon → member → tax and shipping.
//! Invariants: every amount is in the currency's minor units and never negative; no discount
//! exceeds what it discounts; the order's figures are exact sums of the lines' (not a cent
//! appears or vanishes), so `total = subtotal − discount + tax + shipping` holds exactly.

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::money::{MAX_AMOUNT, parse_amount};
use crate::{Currency, ModelError};

/// Dynamic pricing moves a price by at most this many percent either way.
pub const MAX_DYNAMIC_ADJUSTMENT_PERCENT: Decimal = Decimal::from_parts(50, 0, 0, false, 0);
/// A rise of at most this many percent is applied with a notice; more needs re-confirmation.
pub const PRICE_RISE_NOTICE_PERCENT: Decimal = Decimal::from_parts(5, 0, 0, false, 0);

/// Everything needed to price a cart or a checkout. Amounts are in `currency`, with no more
/// decimal places than its minor units.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PricingRequest {
    pub currency: Currency,
    pub lines: Vec<PriceLineInput>,
    #[serde(default)]
    pub coupon: Option<Coupon>,
    /// Percent off for members, 0-100, applied after the coupon.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "5"))]
    pub member_discount_percent: Option<Decimal>,
    pub tax: TaxRule,
    pub shipping: ShippingRule,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceLineInput {
    /// Names the line in the output (a cart item id, for instance).
    pub key: String,
    /// The product's base price plus the variant's modifier.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "99.99"))]
    pub unit_base_price: Decimal,
    #[serde(default)]
    pub dynamic: Option<DynamicAdjustment>,
    /// Applies only when lower than the dynamically adjusted price.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "89.99"))]
    pub sale_price: Option<Decimal>,
    pub quantity: u32,
}

/// A demand or time based move of the base price, in percent (−50 to +50).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DynamicAdjustment {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "-10"))]
    pub percent: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Coupon {
    pub code: String,
    pub kind: CouponKind,
    /// The order's subtotal must reach this for the coupon to apply.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "50.00"))]
    pub min_subtotal: Option<Decimal>,
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "20.00"))]
    pub max_discount: Option<Decimal>,
}

/// `{"type": "PERCENT_OFF", "percent": "10"}` or `{"type": "AMOUNT_OFF", "amount": "5.00"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum CouponKind {
    /// More than 0 and at most 100 percent off the subtotal.
    PercentOff {
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "10"))]
        percent: Decimal,
    },
    /// A fixed amount off the subtotal (never more than the subtotal).
    AmountOff {
        #[cfg_attr(feature = "openapi", schema(value_type = String, example = "5.00"))]
        amount: Decimal,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct TaxRule {
    /// A fraction, 0 to 1 (0.0825 is 8.25 %).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "0.0825"))]
    pub rate: Decimal,
    pub shipping_taxable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ShippingRule {
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "5.99"))]
    pub flat: Decimal,
    /// Shipping is free once the subtotal after discounts reaches this.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, example = "50.00"))]
    pub free_over: Option<Decimal>,
}

/// The priced order: what the buyer sees at checkout and what the order row stores.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PriceBreakdown {
    pub currency: Currency,
    pub lines: Vec<PricedLine>,
    /// Σ line subtotals (after dynamic and sale prices, before coupon and member discounts).
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "199.98"))]
    pub subtotal: Decimal,
    /// coupon + member discount.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "0.00"))]
    pub discount: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "0.00"))]
    pub coupon_discount: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "0.00"))]
    pub member_discount: Decimal,
    /// Σ line taxes + shipping tax.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "18.00"))]
    pub tax: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "0.00"))]
    pub shipping_tax: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "5.99"))]
    pub shipping: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "223.97"))]
    pub total: Decimal,
    /// The coupon's code when it was applied.
    pub applied_coupon: Option<String>,
    /// Why a coupon that was offered did not apply (not an error: the order is still priced).
    pub coupon_rejected_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PricedLine {
    pub key: String,
    pub quantity: u32,
    /// Base price plus variant modifier, before any adjustment.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "109.99"))]
    pub unit_list_price: Decimal,
    /// After dynamic pricing and the sale price.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "99.99"))]
    pub unit_price: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "199.98"))]
    pub line_subtotal: Decimal,
    /// This line's share of the order's coupon discount.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "0.00"))]
    pub coupon_discount: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "0.00"))]
    pub member_discount: Decimal,
    /// line subtotal − coupon − member discount; tax is charged on this.
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "199.98"))]
    pub line_total: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "18.00"))]
    pub tax: Decimal,
}

/// How a price moved since the buyer last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum PriceChange {
    Unchanged,
    /// Applied: the buyer pays less.
    Dropped,
    /// Up by at most 5 %: applied with a notice.
    RoseWithinNotice,
    /// Up by more than 5 %: the buyer must confirm again.
    RoseNeedsConfirmation,
}

impl PriceChange {
    pub fn is_changed(self) -> bool {
        self != PriceChange::Unchanged
    }

    pub fn needs_confirmation(self) -> bool {
        self == PriceChange::RoseNeedsConfirmation
    }
}

/// Classifies a move from `previous` to `current` (brief: ≤ 5 % rise is a notice, more needs
/// re-confirmation, a drop is applied). A rise from zero always needs confirmation.
pub fn price_change(previous: Decimal, current: Decimal) -> PriceChange {
    if current == previous {
        return PriceChange::Unchanged;
    }
    if current < previous {
        return PriceChange::Dropped;
    }
    // rise / previous <= 5 / 100, cross-multiplied so no division rounds.
    let within = (current - previous)
        .checked_mul(Decimal::ONE_HUNDRED)
        .zip(previous.checked_mul(PRICE_RISE_NOTICE_PERCENT))
        .is_some_and(|(rise, allowed)| rise <= allowed);
    if within {
        PriceChange::RoseWithinNotice
    } else {
        PriceChange::RoseNeedsConfirmation
    }
}

/// Prices a request. Invalid inputs are refused; a coupon whose conditions are not met is
/// simply not applied, with the reason in `coupon_rejected_reason`.
pub fn price(request: &PricingRequest) -> Result<PriceBreakdown, ModelError> {
    let currency = request.currency;
    let mu = currency.minor_units();
    let rules = Rules::parse(request)?;

    // Steps 1-3 per line: base, dynamic, sale.
    let mut lines = Vec::with_capacity(request.lines.len());
    let mut subtotal = Decimal::ZERO;
    for (i, input) in request.lines.iter().enumerate() {
        let field = |name: &str| format!("lines[{i}].{name}");
        if input.key.is_empty() {
            return Err(ModelError::invalid(field("key"), "must not be empty"));
        }
        if input.quantity == 0 {
            return Err(ModelError::invalid(field("quantity"), "must be at least 1"));
        }
        let list = parse_amount(&field("unitBasePrice"), input.unit_base_price, currency)?;
        let adjusted = match input.dynamic {
            None => list,
            Some(DynamicAdjustment { percent }) => {
                if percent.abs() > MAX_DYNAMIC_ADJUSTMENT_PERCENT {
                    return Err(ModelError::invalid(
                        field("dynamic.percent"),
                        "must be between -50 and 50",
                    ));
                }
                let factor = (Decimal::ONE_HUNDRED + percent) / Decimal::ONE_HUNDRED;
                round(mul(list, factor)?, mu)
            }
        };
        let unit_price = match input.sale_price {
            Some(sale) => {
                let sale = parse_amount(&field("salePrice"), sale, currency)?;
                sale.min(adjusted)
            }
            None => adjusted,
        };
        let line_subtotal = mul(unit_price, Decimal::from(input.quantity))?;
        subtotal = add(subtotal, line_subtotal)?;
        if subtotal > MAX_AMOUNT {
            return Err(ModelError::invalid(
                "subtotal",
                "is larger than 9999999999.99",
            ));
        }
        lines.push(PricedLine {
            key: input.key.clone(),
            quantity: input.quantity,
            unit_list_price: fixed(list, mu),
            unit_price: fixed(unit_price, mu),
            line_subtotal: fixed(line_subtotal, mu),
            coupon_discount: Decimal::ZERO,
            member_discount: Decimal::ZERO,
            line_total: Decimal::ZERO,
            tax: Decimal::ZERO,
        });
    }

    // Step 4: the coupon is an order-level amount, spread over the lines to the cent.
    let (coupon_discount, applied_coupon, coupon_rejected_reason) =
        match coupon_discount(rules.coupon.as_ref(), subtotal, mu) {
            Ok(Some((code, amount))) => (amount, Some(code), None),
            Ok(None) => (Decimal::ZERO, None, None),
            Err(reason) => (Decimal::ZERO, None, Some(reason)),
        };
    let weights = lines
        .iter()
        .map(|l| to_units(l.line_subtotal, mu))
        .collect::<Result<Vec<_>, _>>()?;
    let shares = allocate(to_units(coupon_discount, mu)?, &weights);

    // Steps 5-6 and tax, per line, each rounded on its own line.
    let (mut member_total, mut line_tax_total) = (Decimal::ZERO, Decimal::ZERO);
    for (line, share) in lines.iter_mut().zip(shares) {
        line.coupon_discount = from_units(share, mu)?;
        let remaining = line.line_subtotal - line.coupon_discount;
        line.member_discount = match rules.member_rate {
            Some(rate) => round(mul(remaining, rate)?, mu),
            None => Decimal::ZERO,
        };
        line.line_total = remaining - line.member_discount;
        line.tax = round(mul(line.line_total, request.tax.rate)?, mu);
        member_total += line.member_discount;
        line_tax_total += line.tax;
        line.coupon_discount = fixed(line.coupon_discount, mu);
        line.member_discount = fixed(line.member_discount, mu);
        line.line_total = fixed(line.line_total, mu);
        line.tax = fixed(line.tax, mu);
    }

    let discount = coupon_discount + member_total;
    let discounted = subtotal - discount;
    let shipping = match rules.free_over {
        _ if lines.is_empty() => Decimal::ZERO,
        Some(threshold) if discounted >= threshold => Decimal::ZERO,
        _ => rules.flat_shipping,
    };
    let shipping_tax = if request.tax.shipping_taxable {
        round(mul(shipping, request.tax.rate)?, mu)
    } else {
        Decimal::ZERO
    };
    let tax = line_tax_total + shipping_tax;
    let total = discounted + tax + shipping;
    if total > MAX_AMOUNT {
        return Err(ModelError::invalid("total", "is larger than 9999999999.99"));
    }

    Ok(PriceBreakdown {
        currency,
        lines,
        subtotal: fixed(subtotal, mu),
        discount: fixed(discount, mu),
        coupon_discount: fixed(coupon_discount, mu),
        member_discount: fixed(member_total, mu),
        tax: fixed(tax, mu),
        shipping_tax: fixed(shipping_tax, mu),
        shipping: fixed(shipping, mu),
        total: fixed(total, mu),
        applied_coupon,
        coupon_rejected_reason,
    })
}

/// The order-level inputs after validation.
struct Rules {
    coupon: Option<ValidCoupon>,
    /// The member percent as a fraction.
    member_rate: Option<Decimal>,
    flat_shipping: Decimal,
    free_over: Option<Decimal>,
}

struct ValidCoupon {
    code: String,
    kind: CouponKind,
    min_subtotal: Option<Decimal>,
    max_discount: Option<Decimal>,
}

impl Rules {
    fn parse(request: &PricingRequest) -> Result<Rules, ModelError> {
        let currency = request.currency;
        let coupon = match &request.coupon {
            None => None,
            Some(c) => {
                if c.code.trim().is_empty() {
                    return Err(ModelError::invalid("coupon.code", "must not be empty"));
                }
                let kind = match c.kind {
                    CouponKind::PercentOff { percent } => {
                        if percent <= Decimal::ZERO || percent > Decimal::ONE_HUNDRED {
                            return Err(ModelError::invalid(
                                "coupon.kind.percent",
                                "must be more than 0 and at most 100",
                            ));
                        }
                        CouponKind::PercentOff { percent }
                    }
                    CouponKind::AmountOff { amount } => {
                        let amount = parse_amount("coupon.kind.amount", amount, currency)?;
                        if amount.is_zero() {
                            return Err(ModelError::invalid(
                                "coupon.kind.amount",
                                "must be more than 0",
                            ));
                        }
                        CouponKind::AmountOff { amount }
                    }
                };
                let min_subtotal = c
                    .min_subtotal
                    .map(|v| parse_amount("coupon.minSubtotal", v, currency))
                    .transpose()?;
                let max_discount = c
                    .max_discount
                    .map(|v| parse_amount("coupon.maxDiscount", v, currency))
                    .transpose()?;
                Some(ValidCoupon {
                    code: c.code.clone(),
                    kind,
                    min_subtotal,
                    max_discount,
                })
            }
        };
        let member_rate = match request.member_discount_percent {
            None => None,
            Some(p) if p < Decimal::ZERO || p > Decimal::ONE_HUNDRED => {
                return Err(ModelError::invalid(
                    "memberDiscountPercent",
                    "must be between 0 and 100",
                ));
            }
            Some(p) => Some(p / Decimal::ONE_HUNDRED),
        };
        let rate = request.tax.rate;
        if rate < Decimal::ZERO || rate > Decimal::ONE {
            return Err(ModelError::invalid(
                "tax.rate",
                "must be a fraction between 0 and 1",
            ));
        }
        let flat_shipping = parse_amount("shipping.flat", request.shipping.flat, currency)?;
        let free_over = request
            .shipping
            .free_over
            .map(|v| parse_amount("shipping.freeOver", v, currency))
            .transpose()?;
        Ok(Rules {
            coupon,
            member_rate,
            flat_shipping,
            free_over,
        })
    }
}

/// `Ok(Some((code, amount)))` when the coupon applies, `Ok(None)` without a coupon, and
/// `Err(reason)` when it was offered but does not apply.
fn coupon_discount(
    coupon: Option<&ValidCoupon>,
    subtotal: Decimal,
    mu: u32,
) -> Result<Option<(String, Decimal)>, String> {
    let Some(coupon) = coupon else {
        return Ok(None);
    };
    if let Some(min) = coupon.min_subtotal
        && subtotal < min
    {
        return Err(format!(
            "coupon {} needs a subtotal of at least {}",
            coupon.code,
            fixed(min, mu)
        ));
    }
    let raw = match coupon.kind {
        // Percent ≤ 100 and subtotal ≤ MAX_AMOUNT, so this product cannot overflow.
        CouponKind::PercentOff { percent } => round(subtotal * percent / Decimal::ONE_HUNDRED, mu),
        CouponKind::AmountOff { amount } => amount,
    };
    let capped = match coupon.max_discount {
        Some(max) => raw.min(max),
        None => raw,
    };
    Ok(Some((coupon.code.clone(), capped.min(subtotal))))
}

/// Splits `total` minor units over lines in proportion to `weights` (largest-remainder method):
/// each line gets the floor of its exact share, and the units left over go one each to the
/// lines with the largest remainders (earlier lines first on ties). The shares sum to `total`
/// exactly and, when `total` ≤ Σ weights, no share exceeds its weight.
fn allocate(total: i128, weights: &[i128]) -> Vec<i128> {
    let sum: i128 = weights.iter().sum();
    if total <= 0 || sum <= 0 {
        return vec![0; weights.len()];
    }
    // total and each weight are at most ~10^13 minor units (MAX_AMOUNT), so products fit i128.
    let mut shares: Vec<i128> = weights.iter().map(|w| total * w / sum).collect();
    let mut remainders: Vec<(i128, usize)> = weights
        .iter()
        .enumerate()
        .map(|(i, w)| (total * w % sum, i))
        .collect();
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let left = total - shares.iter().sum::<i128>();
    for &(_, i) in remainders.iter().take(usize::try_from(left).unwrap_or(0)) {
        shares[i] += 1;
    }
    shares
}

fn round(amount: Decimal, mu: u32) -> Decimal {
    amount.round_dp_with_strategy(mu, RoundingStrategy::MidpointAwayFromZero)
}

/// Rounded and written with exactly `mu` decimal places ("5.00", not "5"), never "-0.00".
fn fixed(amount: Decimal, mu: u32) -> Decimal {
    let mut a = round(amount, mu);
    if a.is_zero() {
        a = Decimal::ZERO;
    }
    a.rescale(mu);
    a
}

fn mul(a: Decimal, b: Decimal) -> Result<Decimal, ModelError> {
    a.checked_mul(b).ok_or(ModelError::Overflow("pricing"))
}

fn add(a: Decimal, b: Decimal) -> Result<Decimal, ModelError> {
    a.checked_add(b).ok_or(ModelError::Overflow("pricing"))
}

/// An amount already at `mu` decimal places as a count of minor units.
fn to_units(amount: Decimal, mu: u32) -> Result<i128, ModelError> {
    let mut a = round(amount, mu);
    a.rescale(mu);
    if a.scale() == mu {
        Ok(a.mantissa())
    } else {
        Err(ModelError::Overflow("pricing"))
    }
}

fn from_units(units: i128, mu: u32) -> Result<Decimal, ModelError> {
    Decimal::try_from_i128_with_scale(units, mu).map_err(|_| ModelError::Overflow("pricing"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal_macros::dec;

    fn line(key: &str, base: Decimal, quantity: u32) -> PriceLineInput {
        PriceLineInput {
            key: key.into(),
            unit_base_price: base,
            dynamic: None,
            sale_price: None,
            quantity,
        }
    }

    fn request(lines: Vec<PriceLineInput>) -> PricingRequest {
        PricingRequest {
            currency: Currency::USD,
            lines,
            coupon: None,
            member_discount_percent: None,
            tax: TaxRule {
                rate: dec!(0.09),
                shipping_taxable: false,
            },
            shipping: ShippingRule {
                flat: dec!(5.99),
                free_over: None,
            },
        }
    }

    fn coupon(kind: CouponKind) -> Coupon {
        Coupon {
            code: "SAVE".into(),
            kind,
            min_subtotal: None,
            max_discount: None,
        }
    }

    #[test]
    fn the_seeds_checkout_example_adds_up() {
        // Seed 2.2: 2 × 99.99 = 199.98, shipping 5.99, tax 18.00, total 223.97.
        let b = price(&request(vec![line("12345", dec!(99.99), 2)])).unwrap();
        assert_eq!(b.subtotal, dec!(199.98));
        assert_eq!(b.shipping, dec!(5.99));
        assert_eq!(b.tax, dec!(18.00));
        assert_eq!(b.total, dec!(223.97));
        assert_eq!(b.total.to_string(), "223.97");
        assert_eq!(b.discount.to_string(), "0.00");
        assert_eq!(b.lines[0].line_total, dec!(199.98));
    }

    #[test]
    fn the_pipeline_runs_base_dynamic_sale_coupon_member_in_order() {
        let mut r = request(vec![
            PriceLineInput {
                key: "a".into(),
                unit_base_price: dec!(100.00),
                // +10 % → 110.00, and the sale price 105.00 is lower, so it applies.
                dynamic: Some(DynamicAdjustment { percent: dec!(10) }),
                sale_price: Some(dec!(105.00)),
                quantity: 1,
            },
            PriceLineInput {
                key: "b".into(),
                unit_base_price: dec!(50.00),
                // −10 % → 45.00; the sale price 48.00 is higher, so it does not apply.
                dynamic: Some(DynamicAdjustment { percent: dec!(-10) }),
                sale_price: Some(dec!(48.00)),
                quantity: 2,
            },
        ]);
        r.coupon = Some(coupon(CouponKind::AmountOff {
            amount: dec!(19.50),
        }));
        r.member_discount_percent = Some(dec!(10));
        r.shipping.free_over = Some(dec!(150.00));
        let b = price(&r).unwrap();
        let (a, bl) = (&b.lines[0], &b.lines[1]);
        assert_eq!(
            (a.unit_list_price, a.unit_price),
            (dec!(100.00), dec!(105.00))
        );
        assert_eq!(
            (bl.unit_list_price, bl.unit_price),
            (dec!(50.00), dec!(45.00))
        );
        assert_eq!(b.subtotal, dec!(195.00));
        // 19.50 split 105:90 → 10.50 and 9.00.
        assert_eq!(
            (a.coupon_discount, bl.coupon_discount),
            (dec!(10.50), dec!(9.00))
        );
        // Member 10 % of what is left: 9.45 and 8.10.
        assert_eq!(
            (a.member_discount, bl.member_discount),
            (dec!(9.45), dec!(8.10))
        );
        assert_eq!((a.line_total, bl.line_total), (dec!(85.05), dec!(72.90)));
        assert_eq!(b.discount, dec!(37.05));
        // 157.95 after discounts ≥ 150: free shipping.
        assert_eq!(b.shipping, dec!(0.00));
        // Tax 9 %: 7.6545 → 7.65, 6.561 → 6.56.
        assert_eq!((a.tax, bl.tax), (dec!(7.65), dec!(6.56)));
        assert_eq!(b.tax, dec!(14.21));
        assert_eq!(b.total, dec!(172.16));
        assert_eq!(b.applied_coupon.as_deref(), Some("SAVE"));
    }

    #[test]
    fn a_coupon_spread_over_three_equal_lines_keeps_every_cent() {
        let mut r = request(vec![
            line("a", dec!(10.00), 1),
            line("b", dec!(10.00), 1),
            line("c", dec!(10.00), 1),
        ]);
        r.coupon = Some(coupon(CouponKind::AmountOff {
            amount: dec!(10.00),
        }));
        let b = price(&r).unwrap();
        let shares: Vec<_> = b.lines.iter().map(|l| l.coupon_discount).collect();
        // 3.333… each; the leftover cent goes to the first line on the tie.
        assert_eq!(shares, vec![dec!(3.34), dec!(3.33), dec!(3.33)]);
        assert_eq!(b.coupon_discount, dec!(10.00));
    }

    #[test]
    fn coupon_limits_are_respected() {
        let mut r = request(vec![line("a", dec!(40.00), 1)]);
        r.coupon = Some(Coupon {
            min_subtotal: Some(dec!(50.00)),
            ..coupon(CouponKind::PercentOff { percent: dec!(10) })
        });
        let b = price(&r).unwrap();
        assert_eq!(b.coupon_discount, dec!(0.00));
        assert_eq!(b.applied_coupon, None);
        assert!(
            b.coupon_rejected_reason
                .as_deref()
                .unwrap()
                .contains("50.00")
        );

        r.coupon = Some(Coupon {
            max_discount: Some(dec!(3.00)),
            ..coupon(CouponKind::PercentOff { percent: dec!(50) })
        });
        assert_eq!(price(&r).unwrap().coupon_discount, dec!(3.00));

        // An amount-off coupon larger than the order makes it free, not negative.
        r.coupon = Some(coupon(CouponKind::AmountOff {
            amount: dec!(100.00),
        }));
        let b = price(&r).unwrap();
        assert_eq!(b.coupon_discount, dec!(40.00));
        assert_eq!(b.lines[0].line_total, dec!(0.00));
        assert_eq!(b.total, dec!(5.99));
    }

    #[test]
    fn shipping_tax_is_charged_only_when_taxable() {
        let mut r = request(vec![line("a", dec!(10.00), 1)]);
        r.tax = TaxRule {
            rate: dec!(0.0825),
            shipping_taxable: true,
        };
        let b = price(&r).unwrap();
        // 10.00 × 0.0825 = 0.825 → 0.83; 5.99 × 0.0825 = 0.494175 → 0.49.
        assert_eq!(b.lines[0].tax, dec!(0.83));
        assert_eq!(b.shipping_tax, dec!(0.49));
        assert_eq!(b.tax, dec!(1.32));
        assert_eq!(b.total, dec!(17.31));
    }

    #[test]
    fn zero_decimal_currencies_round_to_whole_units() {
        let mut r = request(vec![line("a", dec!(1000), 3)]);
        r.currency = Currency::parse("JPY").unwrap();
        r.shipping.flat = dec!(500);
        r.tax.rate = dec!(0.1);
        r.member_discount_percent = Some(dec!(3.5));
        let b = price(&r).unwrap();
        assert_eq!(b.member_discount, dec!(105));
        assert_eq!(b.tax, dec!(290));
        assert_eq!(b.total.to_string(), "3685");
        // A JPY price with decimals is refused.
        r.lines[0].unit_base_price = dec!(10.5);
        assert!(price(&r).is_err());
    }

    #[test]
    fn an_empty_request_costs_nothing() {
        let b = price(&request(vec![])).unwrap();
        assert_eq!(
            (b.subtotal, b.shipping, b.total),
            (dec!(0), dec!(0), dec!(0))
        );
    }

    #[test]
    fn invalid_inputs_are_refused() {
        let ok = request(vec![line("a", dec!(10.00), 1)]);
        let mut cases: Vec<PricingRequest> = Vec::new();
        let mut r = ok.clone();
        r.lines[0].quantity = 0;
        cases.push(r);
        let mut r = ok.clone();
        r.lines[0].unit_base_price = dec!(-1);
        cases.push(r);
        let mut r = ok.clone();
        r.lines[0].unit_base_price = dec!(1.001);
        cases.push(r);
        let mut r = ok.clone();
        r.lines[0].dynamic = Some(DynamicAdjustment {
            percent: dec!(50.01),
        });
        cases.push(r);
        let mut r = ok.clone();
        r.lines[0].key = String::new();
        cases.push(r);
        let mut r = ok.clone();
        r.coupon = Some(coupon(CouponKind::PercentOff { percent: dec!(0) }));
        cases.push(r);
        let mut r = ok.clone();
        r.coupon = Some(coupon(CouponKind::PercentOff { percent: dec!(101) }));
        cases.push(r);
        let mut r = ok.clone();
        r.coupon = Some(coupon(CouponKind::AmountOff { amount: dec!(0) }));
        cases.push(r);
        let mut r = ok.clone();
        r.member_discount_percent = Some(dec!(-1));
        cases.push(r);
        let mut r = ok.clone();
        r.tax.rate = dec!(1.5);
        cases.push(r);
        let mut r = ok.clone();
        r.shipping.flat = dec!(-5);
        cases.push(r);
        let mut r = ok.clone();
        r.lines[0] = line("a", dec!(9999999999.99), 2);
        cases.push(r);
        for (i, case) in cases.iter().enumerate() {
            assert!(
                matches!(price(case), Err(ModelError::Invalid { .. })),
                "case {i} was accepted"
            );
        }
        assert!(price(&ok).is_ok());
    }

    #[test]
    fn price_changes_are_classified_by_the_five_percent_rule() {
        assert_eq!(
            price_change(dec!(100), dec!(100.00)),
            PriceChange::Unchanged
        );
        assert_eq!(price_change(dec!(100), dec!(90)), PriceChange::Dropped);
        assert_eq!(
            price_change(dec!(100), dec!(105)),
            PriceChange::RoseWithinNotice
        );
        assert_eq!(
            price_change(dec!(100), dec!(105.01)),
            PriceChange::RoseNeedsConfirmation
        );
        assert_eq!(
            price_change(dec!(0), dec!(0.01)),
            PriceChange::RoseNeedsConfirmation
        );
        assert!(PriceChange::RoseNeedsConfirmation.needs_confirmation());
        assert!(!PriceChange::Dropped.needs_confirmation());
        assert_eq!(
            serde_json::to_string(&PriceChange::RoseWithinNotice).unwrap(),
            "\"ROSE_WITHIN_NOTICE\""
        );
    }

    #[test]
    fn the_request_and_breakdown_travel_as_camel_case_with_string_amounts() {
        let mut r = request(vec![line("12345-678", dec!(99.99), 2)]);
        r.coupon = Some(coupon(CouponKind::PercentOff { percent: dec!(10) }));
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["lines"][0]["unitBasePrice"], "99.99");
        assert_eq!(json["coupon"]["kind"]["type"], "PERCENT_OFF");
        assert_eq!(json["coupon"]["kind"]["percent"], "10");
        assert_eq!(json["tax"]["shippingTaxable"], false);
        let back: PricingRequest = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
        let b = price(&r).unwrap();
        let json = serde_json::to_value(&b).unwrap();
        for key in [
            "currency",
            "lines",
            "subtotal",
            "discount",
            "couponDiscount",
            "memberDiscount",
            "tax",
            "shippingTax",
            "shipping",
            "total",
            "appliedCoupon",
            "couponRejectedReason",
        ] {
            assert!(json.get(key).is_some(), "{key} missing");
        }
        assert_eq!(json["lines"][0]["lineSubtotal"], "199.98");
        assert_eq!(serde_json::from_value::<PriceBreakdown>(json).unwrap(), b);
    }

    #[test]
    fn allocation_is_exact_and_bounded() {
        assert_eq!(allocate(0, &[5, 5]), vec![0, 0]);
        assert_eq!(allocate(5, &[0, 0]), vec![0, 0]);
        assert_eq!(allocate(10, &[10, 0]), vec![10, 0]);
        assert_eq!(allocate(2, &[1, 1, 1]), vec![1, 1, 0]);
        assert_eq!(allocate(7, &[1, 2, 4]), vec![1, 2, 4]);
    }

    // ---- property tests: money never gains or loses a cent ----

    fn currency() -> impl Strategy<Value = Currency> {
        prop_oneof![
            Just(Currency::USD),
            Just(Currency::parse("JPY").unwrap()),
            Just(Currency::parse("KWD").unwrap()),
        ]
    }

    /// A non-negative amount with exactly the currency's decimal places.
    fn amount(units: u64, c: Currency) -> Decimal {
        Decimal::new(units as i64, c.minor_units())
    }

    fn percent() -> impl Strategy<Value = Decimal> {
        // 0.01 .. 100.00 with two decimals.
        (1i64..=10_000).prop_map(|h| Decimal::new(h, 2))
    }

    prop_compose! {
        fn line_input(c: Currency)(
            key in "[0-9]{1,6}",
            base in 0u64..2_000_000,
            dynamic in proptest::option::of(-5000i64..=5000),
            sale in proptest::option::of(0u64..2_000_000),
            quantity in 1u32..=10,
        ) -> PriceLineInput {
            PriceLineInput {
                key,
                unit_base_price: amount(base, c),
                dynamic: dynamic.map(|p| DynamicAdjustment { percent: Decimal::new(p, 2) }),
                sale_price: sale.map(|s| amount(s, c)),
                quantity,
            }
        }
    }

    fn coupon_strategy(c: Currency) -> impl Strategy<Value = Option<Coupon>> {
        let kind = prop_oneof![
            percent().prop_map(|percent| CouponKind::PercentOff { percent }),
            (1u64..5_000_000).prop_map(move |u| CouponKind::AmountOff {
                amount: amount(u, c)
            }),
        ];
        proptest::option::of(
            (
                kind,
                proptest::option::of(0u64..5_000_000),
                proptest::option::of(0u64..5_000_000),
            )
                .prop_map(move |(kind, min, max)| Coupon {
                    code: "PROP".into(),
                    kind,
                    min_subtotal: min.map(|u| amount(u, c)),
                    max_discount: max.map(|u| amount(u, c)),
                }),
        )
    }

    fn request_strategy() -> impl Strategy<Value = PricingRequest> {
        currency().prop_flat_map(|c| {
            (
                proptest::collection::vec(line_input(c), 0..8),
                coupon_strategy(c),
                proptest::option::of(prop_oneof![Just(Decimal::ZERO), percent()]),
                0i64..=3000,
                any::<bool>(),
                0u64..5_000,
                proptest::option::of(0u64..5_000_000),
            )
                .prop_map(move |(lines, coupon, member, rate, taxable, flat, free)| {
                    PricingRequest {
                        currency: c,
                        lines,
                        coupon,
                        member_discount_percent: member,
                        tax: TaxRule {
                            rate: Decimal::new(rate, 4),
                            shipping_taxable: taxable,
                        },
                        shipping: ShippingRule {
                            flat: amount(flat, c),
                            free_over: free.map(|u| amount(u, c)),
                        },
                    }
                })
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn money_never_gains_or_loses_a_cent(r in request_strategy()) {
            let b = price(&r).unwrap();
            let mu = r.currency.minor_units();
            let sum = |f: fn(&PricedLine) -> Decimal| b.lines.iter().map(f).sum::<Decimal>();

            prop_assert_eq!(b.subtotal, sum(|l| l.line_subtotal));
            prop_assert_eq!(b.coupon_discount, sum(|l| l.coupon_discount));
            prop_assert_eq!(b.member_discount, sum(|l| l.member_discount));
            prop_assert_eq!(b.discount, b.coupon_discount + b.member_discount);
            prop_assert_eq!(b.tax, sum(|l| l.tax) + b.shipping_tax);
            prop_assert_eq!(b.total, b.subtotal - b.discount + b.tax + b.shipping);
            prop_assert!(b.discount <= b.subtotal);

            for l in &b.lines {
                prop_assert_eq!(l.line_subtotal, l.unit_price * Decimal::from(l.quantity));
                prop_assert_eq!(l.line_total, l.line_subtotal - l.coupon_discount - l.member_discount);
                prop_assert!(l.coupon_discount + l.member_discount <= l.line_subtotal);
            }

            let mut amounts = vec![
                b.subtotal, b.discount, b.coupon_discount, b.member_discount,
                b.tax, b.shipping_tax, b.shipping, b.total,
            ];
            for l in &b.lines {
                amounts.extend([
                    l.unit_list_price, l.unit_price, l.line_subtotal, l.coupon_discount,
                    l.member_discount, l.line_total, l.tax,
                ]);
            }
            for a in amounts {
                prop_assert!(!a.is_sign_negative(), "negative amount {}", a);
                prop_assert_eq!(a.scale(), mu, "amount {} not at {} places", a, mu);
            }
            if b.applied_coupon.is_some() {
                prop_assert!(b.coupon_rejected_reason.is_none());
            }
        }

        #[test]
        fn allocation_sums_exactly_and_never_exceeds_a_weight(
            weights in proptest::collection::vec(0i128..1_000_000, 1..10),
            per_mille in 0i128..=1000,
        ) {
            let sum: i128 = weights.iter().sum();
            let total = sum * per_mille / 1000;
            let shares = allocate(total, &weights);
            prop_assert_eq!(shares.iter().sum::<i128>(), if sum > 0 { total } else { 0 });
            for (s, w) in shares.iter().zip(&weights) {
                prop_assert!(*s >= 0 && s <= w);
            }
        }
    }
}
