//! Order, payment, saga and checkout states, each with its allowed moves written as a table.
//! Invariant: a state changes only along a row of its table (never to itself); a delivered order
//! is returned only within the return window. Order numbers are a pure function of the saga.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, TimeDelta, Utc};
use serde::{Deserialize, Serialize};

use crate::ModelError;
use crate::ids::SagaId;

/// Declares a fieldless enum with its wire name (JSON and the database's TEXT column), `ALL`,
/// `as_str`, `Display` and `FromStr`. serde spells variants with `rename_all` (utoipa does not
/// read a `rename` passed through a macro), so each `$text` must be the variant in
/// SCREAMING_SNAKE_CASE; the tests check every enum declared this way.
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident, $label:literal {
            $( $(#[$vmeta:meta])* $variant:ident => $text:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "SCREAMING_SNAKE_CASE")]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The wire and database spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::ModelError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err($crate::ModelError::invalid(
                        $label,
                        format!("unknown value {s:?}"),
                    )),
                }
            }
        }
    };
}
pub(crate) use text_enum;

/// Days after delivery during which a buyer may return an order.
pub const RETURN_WINDOW_DAYS: i64 = 30;

text_enum! {
    /// Where an order is in its life (seed 7.3).
    pub enum OrderStatus, "status" {
        /// Created before payment, so the payment row can reference it.
        Pending => "PENDING",
        Confirmed => "CONFIRMED",
        Processing => "PROCESSING",
        Shipped => "SHIPPED",
        Delivered => "DELIVERED",
        Cancelled => "CANCELLED",
        Returned => "RETURNED",
        Refunded => "REFUNDED",
        Failed => "FAILED",
    }
}

/// Every move an order may make (seed 7.3, "VALID TRANSITIONS"). DELIVERED → RETURNED is
/// further limited to the return window by [`transition`].
pub const ALLOWED_TRANSITIONS: &[(OrderStatus, OrderStatus)] = {
    use OrderStatus::*;
    &[
        (Pending, Confirmed),
        (Pending, Failed),
        (Pending, Cancelled),
        (Confirmed, Processing),
        (Confirmed, Cancelled),
        (Processing, Shipped),
        (Processing, Cancelled),
        (Shipped, Delivered),
        (Shipped, Returned),
        (Delivered, Returned),
        (Returned, Refunded),
    ]
};

/// What a transition may need beyond the two states.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionContext {
    /// When the order was delivered; needed to return a delivered order.
    pub delivered_at: Option<DateTime<Utc>>,
    pub now: DateTime<Utc>,
}

impl TransitionContext {
    pub fn at(now: DateTime<Utc>) -> Self {
        TransitionContext {
            delivered_at: None,
            now,
        }
    }
}

/// Whether the table allows `from → to` (the return window is not checked here).
pub fn can_transition(from: OrderStatus, to: OrderStatus) -> bool {
    ALLOWED_TRANSITIONS.contains(&(from, to))
}

/// Moves an order from `from` to `to`, or says why it may not.
pub fn transition(
    from: OrderStatus,
    to: OrderStatus,
    ctx: &TransitionContext,
) -> Result<OrderStatus, ModelError> {
    if !can_transition(from, to) {
        return Err(illegal(from.as_str(), to.as_str()));
    }
    if (from, to) == (OrderStatus::Delivered, OrderStatus::Returned) {
        let delivered_at = ctx.delivered_at.ok_or_else(|| {
            ModelError::invalid("deliveredAt", "is needed to return a delivered order")
        })?;
        if !within_return_window(delivered_at, ctx.now) {
            return Err(ModelError::ReturnWindowClosed(
                return_window_closes_at(delivered_at).to_rfc3339(),
            ));
        }
    }
    Ok(to)
}

/// The last instant at which a delivered order may still be returned.
pub fn return_window_closes_at(delivered_at: DateTime<Utc>) -> DateTime<Utc> {
    delivered_at
        .checked_add_signed(TimeDelta::days(RETURN_WINDOW_DAYS))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// True from delivery up to and including the 30th day after it.
pub fn within_return_window(delivered_at: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now <= return_window_closes_at(delivered_at)
}

impl OrderStatus {
    /// No move leads out of this state.
    pub fn is_terminal(self) -> bool {
        !ALLOWED_TRANSITIONS.iter().any(|&(from, _)| from == self)
    }

    /// The buyer may still cancel: the order has not been shipped.
    pub fn is_cancellable(self) -> bool {
        can_transition(self, OrderStatus::Cancelled)
    }

    /// The states this one may move to, in table order.
    pub fn next_states(self) -> impl Iterator<Item = OrderStatus> {
        ALLOWED_TRANSITIONS
            .iter()
            .filter(move |&&(from, _)| from == self)
            .map(|&(_, to)| to)
    }
}

fn illegal(from: &str, to: &str) -> ModelError {
    ModelError::IllegalTransition {
        from: from.to_owned(),
        to: to.to_owned(),
    }
}

text_enum! {
    /// A payment attempt's state (seed, `payments.status`).
    pub enum PaymentStatus, "paymentStatus" {
        Initiated => "INITIATED",
        /// Outcome unknown (e.g. the gateway timed out); reconciliation asks the gateway.
        Pending => "PENDING",
        Authorized => "AUTHORIZED",
        Captured => "CAPTURED",
        Failed => "FAILED",
        Refunded => "REFUNDED",
        PartiallyRefunded => "PARTIALLY_REFUNDED",
    }
}

text_enum! {
    /// The checkout saga's steps, one set for the orchestrator and the recovery job.
    pub enum SagaStep, "stepName" {
        ReserveInventory => "RESERVE_INVENTORY",
        ProcessPayment => "PROCESS_PAYMENT",
        CreateOrder => "CREATE_ORDER",
        ConfirmInventory => "CONFIRM_INVENTORY",
    }
}

impl SagaStep {
    /// The step after this one in the forward order, if any; compensation walks back.
    pub fn next(self) -> Option<SagaStep> {
        let at = SagaStep::ALL.iter().position(|&s| s == self)?;
        SagaStep::ALL.get(at + 1).copied()
    }
}

text_enum! {
    /// A saga's overall state (`saga_state.status`, with the COMPENSATED the seed lacks).
    pub enum SagaStatus, "sagaStatus" {
        Started => "STARTED",
        InProgress => "IN_PROGRESS",
        Completed => "COMPLETED",
        Compensating => "COMPENSATING",
        Compensated => "COMPENSATED",
        Failed => "FAILED",
    }
}

impl SagaStatus {
    /// The saga needs no more work from the orchestrator or the recovery job.
    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            SagaStatus::Completed | SagaStatus::Compensated | SagaStatus::Failed
        )
    }
}

text_enum! {
    /// One step's state in `saga_step_log`.
    pub enum SagaStepStatus, "stepStatus" {
        Started => "STARTED",
        Completed => "COMPLETED",
        Failed => "FAILED",
        Compensated => "COMPENSATED",
    }
}

text_enum! {
    /// Where a checkout is (seed 7.1). The seed's CART state is the cart itself, not a checkout.
    pub enum CheckoutStatus, "checkoutStatus" {
        Validating => "VALIDATING",
        /// Stock is held (15 minutes).
        Reserved => "RESERVED",
        Paying => "PAYING",
        Confirmed => "CONFIRMED",
        /// Declined; the reservation is kept so the buyer can retry with another card.
        PaymentFailed => "PAYMENT_FAILED",
        /// The gateway did not answer in time; the outcome is reconciled later.
        Timeout => "TIMEOUT",
        Released => "RELEASED",
        /// Out of stock (or another business refusal) while validating.
        Failed => "FAILED",
        /// An unexpected error while validating.
        Error => "ERROR",
    }
}

/// Every move a checkout may make: the seed's diagram plus the design's decisions (a declined
/// buyer may retry, a reservation is released on expiry or cancel before paying, and a timed-out
/// payment is settled by what the gateway later reports).
pub const CHECKOUT_TRANSITIONS: &[(CheckoutStatus, CheckoutStatus)] = {
    use CheckoutStatus::*;
    &[
        (Validating, Reserved),
        (Validating, Failed),
        (Validating, Error),
        (Reserved, Paying),
        (Reserved, Released),
        (Paying, Confirmed),
        (Paying, PaymentFailed),
        (Paying, Timeout),
        (PaymentFailed, Paying),
        (PaymentFailed, Released),
        (Timeout, Confirmed),
        (Timeout, PaymentFailed),
        (Timeout, Released),
    ]
};

impl CheckoutStatus {
    pub fn can_transition(self, to: CheckoutStatus) -> bool {
        CHECKOUT_TRANSITIONS.contains(&(self, to))
    }

    pub fn transition(self, to: CheckoutStatus) -> Result<CheckoutStatus, ModelError> {
        if self.can_transition(to) {
            Ok(to)
        } else {
            Err(illegal(self.as_str(), to.as_str()))
        }
    }

    pub fn is_terminal(self) -> bool {
        !CHECKOUT_TRANSITIONS.iter().any(|&(from, _)| from == self)
    }

    /// Stock is held for this checkout and must eventually be confirmed or released.
    pub fn holds_reservation(self) -> bool {
        matches!(
            self,
            CheckoutStatus::Reserved
                | CheckoutStatus::Paying
                | CheckoutStatus::PaymentFailed
                | CheckoutStatus::Timeout
        )
    }
}

/// A human-readable order number, `ORD-<year>-<12 Crockford base-32 characters>`, derived from
/// the saga so a retried saga names its order the same way. 60 bits of a hash keep collisions
/// negligible (the database's UNIQUE constraint is the backstop).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[cfg_attr(feature = "openapi", schema(value_type = String, example = "ORD-2024-7K3M9QX2HB4T"))]
pub struct OrderNumber(String);

/// Crockford's alphabet: no I, L, O or U, so a number read aloud or retyped is not misread.
const CROCKFORD: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const ORDER_CODE_LEN: usize = 12;

impl OrderNumber {
    pub const PREFIX: &'static str = "ORD-";

    /// The order number of the order created by `saga` at `created_at`. Years outside four
    /// digits cannot occur for a real order and are clamped to stay parseable.
    pub fn for_saga(saga: SagaId, created_at: DateTime<Utc>) -> Self {
        use sha2::{Digest, Sha256};
        // Hashing (rather than slicing the UUID) gives uniform bits whatever the UUID's version.
        let mut hasher = Sha256::new();
        hasher.update(b"edgeshop:order-number:");
        hasher.update(saga.0.as_bytes());
        let digest = hasher.finalize();
        let mut bits = u64::from_be_bytes([
            digest[0], digest[1], digest[2], digest[3], digest[4], digest[5], digest[6], digest[7],
        ]);
        let mut code = [0u8; ORDER_CODE_LEN];
        for slot in code.iter_mut().rev() {
            *slot = CROCKFORD[(bits & 31) as usize];
            bits >>= 5;
        }
        let year = created_at.year().clamp(0, 9999);
        let code = code.iter().map(|&b| char::from(b)).collect::<String>();
        OrderNumber(format!("{}{year:04}-{code}", Self::PREFIX))
    }

    pub fn parse(text: &str) -> Result<Self, ModelError> {
        let invalid = || {
            ModelError::invalid(
                "orderNumber",
                "must look like ORD-2024-7K3M9QX2HB4T (a year and 12 characters)",
            )
        };
        let rest = text.strip_prefix(Self::PREFIX).ok_or_else(invalid)?;
        let (year, code) = rest.split_once('-').ok_or_else(invalid)?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(invalid());
        }
        if code.len() != ORDER_CODE_LEN || !code.bytes().all(|b| CROCKFORD.contains(&b)) {
            return Err(invalid());
        }
        Ok(OrderNumber(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for OrderNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for OrderNumber {
    type Err = ModelError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OrderNumber::parse(s)
    }
}

impl TryFrom<String> for OrderNumber {
    type Error = ModelError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        OrderNumber::parse(&value)
    }
}

impl From<OrderNumber> for String {
    fn from(value: OrderNumber) -> Self {
        value.0
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(y: i32, m: u32, d: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, 12, 0, 0).unwrap()
    }

    /// The seed's list (7.3), written out independently of the table under test.
    const SEED_TRANSITIONS: &[(&str, &str)] = &[
        ("PENDING", "CONFIRMED"),
        ("PENDING", "FAILED"),
        ("PENDING", "CANCELLED"),
        ("CONFIRMED", "PROCESSING"),
        ("CONFIRMED", "CANCELLED"),
        ("PROCESSING", "SHIPPED"),
        ("PROCESSING", "CANCELLED"),
        ("SHIPPED", "DELIVERED"),
        ("SHIPPED", "RETURNED"),
        ("DELIVERED", "RETURNED"),
        ("RETURNED", "REFUNDED"),
    ];

    #[test]
    fn every_order_transition_is_allowed_exactly_when_the_seed_lists_it() {
        let now = at(2024, 12, 19);
        let ctx = TransitionContext {
            delivered_at: Some(at(2024, 12, 10)),
            now,
        };
        assert_eq!(OrderStatus::ALL.len(), 9);
        for &from in OrderStatus::ALL {
            for &to in OrderStatus::ALL {
                let expected = SEED_TRANSITIONS.contains(&(from.as_str(), to.as_str()));
                let got = transition(from, to, &ctx);
                assert_eq!(got.is_ok(), expected, "{from} -> {to}: {got:?}");
                assert_eq!(can_transition(from, to), expected, "{from} -> {to}");
                if !expected {
                    assert_eq!(
                        got,
                        Err(ModelError::IllegalTransition {
                            from: from.as_str().into(),
                            to: to.as_str().into()
                        })
                    );
                }
            }
        }
    }

    #[test]
    fn a_delivered_order_is_returnable_for_thirty_days_only() {
        let delivered = at(2024, 12, 1);
        let ctx = |now| TransitionContext {
            delivered_at: Some(delivered),
            now,
        };
        let d = OrderStatus::Delivered;
        let r = OrderStatus::Returned;
        assert_eq!(transition(d, r, &ctx(delivered)), Ok(r));
        assert_eq!(transition(d, r, &ctx(at(2024, 12, 31))), Ok(r));
        // The 30th day's last instant is still inside the window; one second later is not.
        let closes = return_window_closes_at(delivered);
        assert_eq!(transition(d, r, &ctx(closes)), Ok(r));
        let late = transition(d, r, &ctx(closes + TimeDelta::seconds(1)));
        assert!(
            matches!(late, Err(ModelError::ReturnWindowClosed(_))),
            "{late:?}"
        );
        assert!(matches!(
            transition(d, r, &ctx(at(2025, 3, 1))),
            Err(ModelError::ReturnWindowClosed(_))
        ));
        // Without a delivery date the window cannot be checked.
        assert!(matches!(
            transition(d, r, &TransitionContext::at(delivered)),
            Err(ModelError::Invalid { .. })
        ));
        // A shipped (not yet delivered) order can be returned without a delivery date.
        assert_eq!(
            transition(OrderStatus::Shipped, r, &TransitionContext::at(delivered)),
            Ok(r)
        );
    }

    proptest! {
        #[test]
        fn returns_succeed_iff_within_thirty_days(offset_secs in 0i64..(60 * 86_400)) {
            let delivered = at(2024, 6, 1);
            let now = delivered + TimeDelta::seconds(offset_secs);
            let ctx = TransitionContext { delivered_at: Some(delivered), now };
            let ok = transition(OrderStatus::Delivered, OrderStatus::Returned, &ctx).is_ok();
            prop_assert_eq!(ok, offset_secs <= 30 * 86_400);
        }
    }

    #[test]
    fn terminal_and_cancellable_states_follow_the_table() {
        use OrderStatus::*;
        let terminal: Vec<_> = OrderStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(terminal, vec![Cancelled, Refunded, Failed]);
        let cancellable: Vec<_> = OrderStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_cancellable())
            .collect();
        assert_eq!(cancellable, vec![Pending, Confirmed, Processing]);
        assert_eq!(
            Shipped.next_states().collect::<Vec<_>>(),
            vec![Delivered, Returned]
        );
    }

    /// serde, `as_str` and `FromStr` agree on every value of a `text_enum!`.
    pub(crate) fn assert_text_enum<T>(all: &[T])
    where
        T: Copy + PartialEq + fmt::Debug + fmt::Display + FromStr + Serialize,
        T: serde::de::DeserializeOwned,
        <T as FromStr>::Err: fmt::Debug,
    {
        for &v in all {
            let text = v.to_string();
            assert_eq!(serde_json::to_string(&v).unwrap(), format!("\"{text}\""));
            assert_eq!(
                serde_json::from_str::<T>(&format!("\"{text}\"")).unwrap(),
                v
            );
            assert_eq!(text.parse::<T>().unwrap(), v);
        }
    }

    #[cfg(feature = "openapi")]
    #[test]
    fn openapi_schemas_use_the_wire_names() {
        use utoipa::PartialSchema;
        let schema = serde_json::to_value(PaymentStatus::schema()).unwrap();
        let names: Vec<&str> = PaymentStatus::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(schema["enum"], serde_json::json!(names));
        let schema = serde_json::to_value(OrderNumber::schema()).unwrap();
        assert_eq!(schema["type"], "string");
    }

    #[test]
    fn statuses_read_and_write_their_database_text() {
        assert_text_enum(OrderStatus::ALL);
        assert_text_enum(PaymentStatus::ALL);
        assert_text_enum(SagaStep::ALL);
        assert_text_enum(SagaStatus::ALL);
        assert_text_enum(SagaStepStatus::ALL);
        assert_text_enum(CheckoutStatus::ALL);
        assert_eq!(
            PaymentStatus::PartiallyRefunded.as_str(),
            "PARTIALLY_REFUNDED"
        );
        assert!("pending".parse::<OrderStatus>().is_err());
        assert!("".parse::<OrderStatus>().is_err());
        assert!(serde_json::from_str::<OrderStatus>("\"Pending\"").is_err());
    }

    #[test]
    fn saga_steps_have_one_set_of_names_in_forward_order() {
        let names: Vec<_> = SagaStep::ALL.iter().map(|s| s.as_str()).collect();
        assert_eq!(
            names,
            [
                "RESERVE_INVENTORY",
                "PROCESS_PAYMENT",
                "CREATE_ORDER",
                "CONFIRM_INVENTORY"
            ]
        );
        assert_eq!(
            SagaStep::ReserveInventory.next(),
            Some(SagaStep::ProcessPayment)
        );
        assert_eq!(SagaStep::ConfirmInventory.next(), None);
        assert_eq!(
            serde_json::to_string(&SagaStep::CreateOrder).unwrap(),
            "\"CREATE_ORDER\""
        );
        assert!(SagaStatus::Compensated.is_terminal());
        assert!(!SagaStatus::Compensating.is_terminal());
    }

    #[test]
    fn checkout_moves_follow_the_seed_and_the_design() {
        use CheckoutStatus::*;
        let expected: &[(&str, &str)] = &[
            ("VALIDATING", "RESERVED"),
            ("VALIDATING", "FAILED"),
            ("VALIDATING", "ERROR"),
            ("RESERVED", "PAYING"),
            ("RESERVED", "RELEASED"),
            ("PAYING", "CONFIRMED"),
            ("PAYING", "PAYMENT_FAILED"),
            ("PAYING", "TIMEOUT"),
            ("PAYMENT_FAILED", "PAYING"),
            ("PAYMENT_FAILED", "RELEASED"),
            ("TIMEOUT", "CONFIRMED"),
            ("TIMEOUT", "PAYMENT_FAILED"),
            ("TIMEOUT", "RELEASED"),
        ];
        for &from in CheckoutStatus::ALL {
            for &to in CheckoutStatus::ALL {
                let allowed = expected.contains(&(from.as_str(), to.as_str()));
                assert_eq!(from.transition(to).is_ok(), allowed, "{from} -> {to}");
            }
        }
        let terminal: Vec<_> = CheckoutStatus::ALL
            .iter()
            .copied()
            .filter(|s| s.is_terminal())
            .collect();
        assert_eq!(terminal, vec![Confirmed, Released, Failed, Error]);
        assert!(PaymentFailed.holds_reservation());
        assert!(!Released.holds_reservation());
    }

    #[test]
    fn order_numbers_are_derived_from_the_saga_and_year() {
        let saga = SagaId(uuid::Uuid::from_u128(
            0x1234_5678_9abc_def0_1234_5678_9abc_def0,
        ));
        let a = OrderNumber::for_saga(saga, at(2024, 12, 19));
        assert_eq!(a, OrderNumber::for_saga(saga, at(2024, 1, 1)));
        assert!(a.as_str().starts_with("ORD-2024-"));
        assert_eq!(a.as_str().len(), "ORD-2024-".len() + 12);
        assert_eq!(OrderNumber::parse(a.as_str()), Ok(a.clone()));
        assert_eq!(a.to_string().parse::<OrderNumber>(), Ok(a.clone()));
        let other = OrderNumber::for_saga(SagaId(uuid::Uuid::from_u128(1)), at(2024, 12, 19));
        assert_ne!(a, other);
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<OrderNumber>(&json).unwrap(), a);
    }

    #[test]
    fn malformed_order_numbers_are_refused() {
        for bad in [
            "",
            "ORD-2024-",
            "ORD-2024-ABC123",
            "ord-2024-7K3M9QX2HB4T",
            "ORD-24-7K3M9QX2HB4T",
            "ORD-2024-7K3M9QX2HB4I",
            "ORD-2024-7k3m9qx2hb4t",
            "ORD-2024-7K3M9QX2HB4TX",
            "ORD-2024_7K3M9QX2HB4T",
            "XYZ-2024-7K3M9QX2HB4T",
        ] {
            assert!(OrderNumber::parse(bad).is_err(), "{bad} was accepted");
            assert!(serde_json::from_str::<OrderNumber>(&format!("\"{bad}\"")).is_err());
        }
    }

    proptest! {
        #[test]
        fn every_derived_order_number_parses(raw in any::<u128>(), year in 2000i32..2100) {
            let n = OrderNumber::for_saga(SagaId(uuid::Uuid::from_u128(raw)), at(year, 3, 1));
            prop_assert_eq!(OrderNumber::parse(n.as_str()), Ok(n.clone()));
            let year_prefix = format!("ORD-{year}-");
            prop_assert!(n.as_str().starts_with(&year_prefix));
        }
    }
}
