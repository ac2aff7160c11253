//! Domain events as they leave through the outbox to Kafka (seed 7.6): one envelope
//! (`eventType`, `eventId`, `sagaId`, `timestamp`, `payload`, `metadata`) around typed payloads.
//! Invariant: an envelope's `eventType` is derived from its payload's type, never stored beside
//! it, so no envelope can carry the wrong payload; reading one checks the two agree.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Currency;
use crate::ids::{
    AddressId, CartId, EventId, OrderId, PaymentId, ProductId, ReservationId, SagaId, SellerId,
    UserId, VariantId, WarehouseId,
};
use crate::order::{OrderNumber, OrderStatus, PaymentStatus, text_enum};

/// The envelope's schema version, written in every event's metadata.
pub const EVENT_SCHEMA_VERSION: &str = "1.0";

/// Kafka topics. A consumer that gives up on an event after its retries sends it to
/// [`topics::dead_letter`] of the topic it came from.
pub mod topics {
    pub const CHECKOUT: &str = "checkout.events";
    pub const INVENTORY: &str = "inventory.events";
    pub const PAYMENT: &str = "payment.events";
    pub const ORDER: &str = "order.events";
    /// Product changes: the search indexer and edge cache invalidation consume them.
    pub const CATALOG: &str = "catalog.events";
    /// Named by the seed for notification fan-out; no event type here is published to it.
    pub const NOTIFICATION: &str = "notification.events";

    pub const ALL: &[&str] = &[CHECKOUT, INVENTORY, PAYMENT, ORDER, CATALOG, NOTIFICATION];

    /// `<topic>.dlq`.
    pub fn dead_letter(topic: &str) -> String {
        format!("{topic}.dlq")
    }
}

text_enum! {
    /// Every event type; the payload struct of the same name carries its data.
    pub enum EventType, "eventType" {
        CheckoutInitiated => "CHECKOUT_INITIATED",
        InventoryReserved => "INVENTORY_RESERVED",
        InventoryReleased => "INVENTORY_RELEASED",
        InventoryConfirmed => "INVENTORY_CONFIRMED",
        InventoryLowStock => "INVENTORY_LOW_STOCK",
        PaymentCompleted => "PAYMENT_COMPLETED",
        PaymentFailed => "PAYMENT_FAILED",
        OrderCreated => "ORDER_CREATED",
        OrderStatusChanged => "ORDER_STATUS_CHANGED",
        ProductChanged => "PRODUCT_CHANGED",
    }
}

impl EventType {
    pub fn topic(self) -> &'static str {
        match self {
            EventType::CheckoutInitiated => topics::CHECKOUT,
            EventType::InventoryReserved
            | EventType::InventoryReleased
            | EventType::InventoryConfirmed
            | EventType::InventoryLowStock => topics::INVENTORY,
            EventType::PaymentCompleted | EventType::PaymentFailed => topics::PAYMENT,
            EventType::OrderCreated | EventType::OrderStatusChanged => topics::ORDER,
            EventType::ProductChanged => topics::CATALOG,
        }
    }
}

/// Who produced an event and in answer to what.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EventMetadata {
    /// Ties the event to the request that caused it (for tracing across services).
    pub correlation_id: String,
    /// The producing component, e.g. "checkout-saga".
    pub source: String,
    pub version: String,
}

impl EventMetadata {
    pub fn new(correlation_id: impl Into<String>, source: impl Into<String>) -> Self {
        EventMetadata {
            correlation_id: correlation_id.into(),
            source: source.into(),
            version: EVENT_SCHEMA_VERSION.to_owned(),
        }
    }
}

/// A payload that knows its event type. Implemented by every payload struct (each has exactly
/// one type) and by [`EventPayload`] (any of them, for consumers of a mixed topic).
pub trait DomainEvent: Serialize + Sized {
    fn event_type(&self) -> EventType;

    /// The partition key for an event outside any saga (the product for catalog events).
    fn partition_hint(&self) -> Option<String>;

    /// Reads the payload of an envelope whose `eventType` is `event_type`, refusing a payload
    /// that does not belong to that type.
    fn from_payload(
        event_type: EventType,
        payload: serde_json::Value,
    ) -> Result<Self, serde_json::Error>;
}

/// An event as written to the outbox and Kafka.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventEnvelope<P> {
    /// Consumers dedupe on it (`processed_events`).
    pub event_id: EventId,
    /// None for events outside a checkout (catalog, stock levels, later order changes).
    pub saga_id: Option<SagaId>,
    pub timestamp: DateTime<Utc>,
    pub payload: P,
    pub metadata: EventMetadata,
}

impl<P: DomainEvent> EventEnvelope<P> {
    /// Ids and time come from the caller: this crate has no randomness and no clock.
    pub fn new(
        payload: P,
        event_id: EventId,
        saga_id: Option<SagaId>,
        now: DateTime<Utc>,
        metadata: EventMetadata,
    ) -> Self {
        EventEnvelope {
            event_id,
            saga_id,
            timestamp: now,
            payload,
            metadata,
        }
    }

    pub fn event_type(&self) -> EventType {
        self.payload.event_type()
    }

    pub fn topic(&self) -> &'static str {
        self.event_type().topic()
    }

    /// Events of one saga share a partition, so they are consumed in order; other events are
    /// keyed by what they are about, and as a last resort by their own id.
    pub fn partition_key(&self) -> String {
        match (self.saga_id, self.payload.partition_hint()) {
            (Some(saga), _) => saga.to_string(),
            (None, Some(hint)) => hint,
            (None, None) => self.event_id.to_string(),
        }
    }

    /// The same envelope with its payload widened to [`EventPayload`].
    pub fn into_any(self) -> EventEnvelope<EventPayload>
    where
        P: Into<EventPayload>,
    {
        EventEnvelope {
            event_id: self.event_id,
            saga_id: self.saga_id,
            timestamp: self.timestamp,
            payload: self.payload.into(),
            metadata: self.metadata,
        }
    }
}

/// The field order of the seed's examples.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct WireRef<'a, P> {
    event_type: EventType,
    event_id: &'a EventId,
    #[serde(skip_serializing_if = "Option::is_none")]
    saga_id: Option<&'a SagaId>,
    timestamp: &'a DateTime<Utc>,
    payload: &'a P,
    metadata: &'a EventMetadata,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireOwned {
    event_type: EventType,
    event_id: EventId,
    #[serde(default)]
    saga_id: Option<SagaId>,
    timestamp: DateTime<Utc>,
    payload: serde_json::Value,
    metadata: EventMetadata,
}

impl<P: DomainEvent> Serialize for EventEnvelope<P> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        WireRef {
            event_type: self.payload.event_type(),
            event_id: &self.event_id,
            saga_id: self.saga_id.as_ref(),
            timestamp: &self.timestamp,
            payload: &self.payload,
            metadata: &self.metadata,
        }
        .serialize(serializer)
    }
}

impl<'de, P: DomainEvent> Deserialize<'de> for EventEnvelope<P> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let wire = WireOwned::deserialize(deserializer)?;
        let payload = P::from_payload(wire.event_type, wire.payload).map_err(D::Error::custom)?;
        Ok(EventEnvelope {
            event_id: wire.event_id,
            saga_id: wire.saga_id,
            timestamp: wire.timestamp,
            payload,
            metadata: wire.metadata,
        })
    }
}

// ---- payloads ----

/// One cart line as the checkout saw it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckoutItem {
    pub product_id: ProductId,
    #[serde(default)]
    pub variant_id: Option<VariantId>,
    pub quantity: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "99.99"))]
    pub unit_price: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CheckoutInitiated {
    pub user_id: UserId,
    /// The edge cart the lines came from, when the checkout started from one.
    #[serde(default)]
    pub cart_id: Option<CartId>,
    pub items: Vec<CheckoutItem>,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "199.98"))]
    pub total_amount: Decimal,
    pub currency: Currency,
    pub shipping_address_id: AddressId,
}

/// One reservation row: stock of one (product, variant) held in one warehouse. Multi-item
/// reservations have one row (and id) per item, so the id travels with the item.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ReservedItem {
    pub reservation_id: ReservationId,
    pub product_id: ProductId,
    #[serde(default)]
    pub variant_id: Option<VariantId>,
    pub warehouse_id: WarehouseId,
    pub quantity_reserved: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryReserved {
    pub items: Vec<ReservedItem>,
    pub expires_at: DateTime<Utc>,
}

text_enum! {
    /// Why held stock went back on sale.
    pub enum ReleaseReason, "reason" {
        /// The checkout's 15 minutes ran out (the sweeper).
        Expired => "EXPIRED",
        /// The buyer cancelled the checkout.
        Cancelled => "CANCELLED",
        /// A payment failure that cannot be retried.
        PaymentFailed => "PAYMENT_FAILED",
        /// The saga compensated after a later step failed.
        Compensated => "COMPENSATED",
        /// Reconciliation found a reservation without a live checkout.
        Orphaned => "ORPHANED",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryReleased {
    pub items: Vec<ReservedItem>,
    pub reason: ReleaseReason,
}

/// Held stock became sold stock for an order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryConfirmed {
    pub order_id: OrderId,
    pub items: Vec<ReservedItem>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct InventoryLowStock {
    pub product_id: ProductId,
    #[serde(default)]
    pub variant_id: Option<VariantId>,
    pub warehouse_id: WarehouseId,
    pub quantity_available: u32,
    pub threshold: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentCompleted {
    pub payment_id: PaymentId,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "199.98"))]
    pub amount: Decimal,
    pub currency: Currency,
    /// "CARD", "PAYPAL", "UPI".
    pub payment_method: String,
    pub gateway_transaction_id: String,
    pub status: PaymentStatus,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PaymentFailed {
    pub payment_id: PaymentId,
    /// e.g. "INSUFFICIENT_FUNDS".
    pub failure_reason: String,
    /// The gateway's code, e.g. "card_declined".
    pub failure_code: String,
    /// The buyer may try again (with another card) while the reservation lasts.
    pub retryable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderCreatedItem {
    pub product_id: ProductId,
    #[serde(default)]
    pub variant_id: Option<VariantId>,
    pub seller_id: SellerId,
    pub quantity: u32,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "99.99"))]
    pub unit_price: Decimal,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "199.98"))]
    pub total_price: Decimal,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderCreated {
    pub order_id: OrderId,
    pub order_number: OrderNumber,
    pub user_id: UserId,
    pub status: OrderStatus,
    #[cfg_attr(feature = "openapi", schema(value_type = String, example = "223.97"))]
    pub total_amount: Decimal,
    pub currency: Currency,
    pub items: Vec<OrderCreatedItem>,
    pub shipping_address_id: AddressId,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct OrderStatusChanged {
    pub order_id: OrderId,
    pub from: OrderStatus,
    pub to: OrderStatus,
}

impl OrderStatusChanged {
    /// Only a move the order state machine allows can be announced.
    pub fn new(
        order_id: OrderId,
        from: OrderStatus,
        to: OrderStatus,
    ) -> Result<Self, crate::ModelError> {
        if crate::order::can_transition(from, to) {
            Ok(OrderStatusChanged { order_id, from, to })
        } else {
            Err(crate::ModelError::IllegalTransition {
                from: from.as_str().to_owned(),
                to: to.as_str().to_owned(),
            })
        }
    }
}

text_enum! {
    /// What happened to a product, for the search indexer and cache invalidation.
    pub enum ProductChange, "change" {
        Created => "CREATED",
        Updated => "UPDATED",
        StockChanged => "STOCK_CHANGED",
        Deleted => "DELETED",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProductChanged {
    pub product_id: ProductId,
    /// The product row's version after the change; consumers ignore older versions.
    pub version: i64,
    pub change: ProductChange,
}

/// Partition keys for payloads that may travel without a saga.
trait PartitionHint {
    fn hint(&self) -> Option<String> {
        None
    }
}

impl PartitionHint for CheckoutInitiated {}
impl PartitionHint for InventoryReserved {}
impl PartitionHint for InventoryReleased {}
impl PartitionHint for InventoryConfirmed {}
impl PartitionHint for PaymentCompleted {}
impl PartitionHint for PaymentFailed {}
impl PartitionHint for OrderCreated {}

impl PartitionHint for InventoryLowStock {
    fn hint(&self) -> Option<String> {
        Some(self.product_id.to_string())
    }
}

impl PartitionHint for OrderStatusChanged {
    fn hint(&self) -> Option<String> {
        Some(self.order_id.to_string())
    }
}

impl PartitionHint for ProductChanged {
    fn hint(&self) -> Option<String> {
        Some(self.product_id.to_string())
    }
}

/// Ties each payload struct to the event type of the same name, and builds [`EventPayload`].
macro_rules! event_payloads {
    ($($name:ident),+ $(,)?) => {
        /// Any event's payload, for a consumer reading a topic that carries several types.
        /// Serialises as the bare payload; the envelope carries the type.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize)]
        #[serde(untagged)]
        pub enum EventPayload {
            $($name($name)),+
        }

        impl DomainEvent for EventPayload {
            fn event_type(&self) -> EventType {
                match self {
                    $(EventPayload::$name(_) => EventType::$name),+
                }
            }

            fn partition_hint(&self) -> Option<String> {
                match self {
                    $(EventPayload::$name(p) => p.hint()),+
                }
            }

            fn from_payload(
                event_type: EventType,
                payload: serde_json::Value,
            ) -> Result<Self, serde_json::Error> {
                match event_type {
                    $(EventType::$name => serde_json::from_value(payload).map(EventPayload::$name)),+
                }
            }
        }

        $(
            impl $name {
                pub const EVENT_TYPE: EventType = EventType::$name;
            }

            impl DomainEvent for $name {
                fn event_type(&self) -> EventType {
                    EventType::$name
                }

                fn partition_hint(&self) -> Option<String> {
                    self.hint()
                }

                fn from_payload(
                    event_type: EventType,
                    payload: serde_json::Value,
                ) -> Result<Self, serde_json::Error> {
                    if event_type != EventType::$name {
                        return Err(serde_json::Error::custom(format!(
                            "expected a {} event, found {}",
                            EventType::$name,
                            event_type
                        )));
                    }
                    serde_json::from_value(payload)
                }
            }

            impl From<$name> for EventPayload {
                fn from(payload: $name) -> Self {
                    EventPayload::$name(payload)
                }
            }
        )+
    };
}

event_payloads!(
    CheckoutInitiated,
    InventoryReserved,
    InventoryReleased,
    InventoryConfirmed,
    InventoryLowStock,
    PaymentCompleted,
    PaymentFailed,
    OrderCreated,
    OrderStatusChanged,
    ProductChanged,
);

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use rust_decimal_macros::dec;
    use serde_json::{Value, json};

    const SAGA: &str = "7a1c3e5f-2b4d-4f60-8a9b-0c1d2e3f4a5b";
    const EVENT: &str = "0b6f3a2e-9c1d-4e8f-a7b6-5d4c3b2a1f0e";
    const CART: &str = "cart_0123456789abcdef0123456789abcdef";

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 12, 19, 10, 30, 0).unwrap()
    }

    fn saga() -> SagaId {
        SagaId::parse(SAGA).unwrap()
    }

    fn envelope<P: DomainEvent>(payload: P, saga_id: Option<SagaId>) -> EventEnvelope<P> {
        EventEnvelope::new(
            payload,
            EventId::parse(EVENT).unwrap(),
            saga_id,
            now(),
            EventMetadata::new("corr_123", "cart-service"),
        )
    }

    fn reserved_item() -> ReservedItem {
        ReservedItem {
            reservation_id: ReservationId::new(789),
            product_id: ProductId::new(123),
            variant_id: Some(VariantId::new(1)),
            warehouse_id: WarehouseId::new(1),
            quantity_reserved: 2,
        }
    }

    fn every_payload() -> Vec<EventPayload> {
        vec![
            CheckoutInitiated {
                user_id: UserId::new(456),
                cart_id: Some(CartId::parse(CART).unwrap()),
                items: vec![CheckoutItem {
                    product_id: ProductId::new(123),
                    variant_id: None,
                    quantity: 2,
                    unit_price: dec!(99.99),
                }],
                total_amount: dec!(199.98),
                currency: Currency::USD,
                shipping_address_id: AddressId::new(1),
            }
            .into(),
            InventoryReserved {
                items: vec![reserved_item()],
                expires_at: now() + chrono::TimeDelta::minutes(15),
            }
            .into(),
            InventoryReleased {
                items: vec![reserved_item()],
                reason: ReleaseReason::Expired,
            }
            .into(),
            InventoryConfirmed {
                order_id: OrderId::new(12345),
                items: vec![reserved_item()],
            }
            .into(),
            InventoryLowStock {
                product_id: ProductId::new(123),
                variant_id: None,
                warehouse_id: WarehouseId::new(2),
                quantity_available: 3,
                threshold: 5,
            }
            .into(),
            PaymentCompleted {
                payment_id: PaymentId::new(123),
                amount: dec!(199.98),
                currency: Currency::USD,
                payment_method: "CARD".into(),
                gateway_transaction_id: "ch_stripe_abc".into(),
                status: PaymentStatus::Captured,
            }
            .into(),
            PaymentFailed {
                payment_id: PaymentId::new(123),
                failure_reason: "INSUFFICIENT_FUNDS".into(),
                failure_code: "card_declined".into(),
                retryable: true,
            }
            .into(),
            OrderCreated {
                order_id: OrderId::new(12345),
                order_number: OrderNumber::for_saga(saga(), now()),
                user_id: UserId::new(456),
                status: OrderStatus::Confirmed,
                total_amount: dec!(199.98),
                currency: Currency::USD,
                items: vec![OrderCreatedItem {
                    product_id: ProductId::new(123),
                    variant_id: Some(VariantId::new(1)),
                    seller_id: SellerId::new(9),
                    quantity: 2,
                    unit_price: dec!(99.99),
                    total_price: dec!(199.98),
                }],
                shipping_address_id: AddressId::new(1),
            }
            .into(),
            OrderStatusChanged::new(
                OrderId::new(12345),
                OrderStatus::Confirmed,
                OrderStatus::Processing,
            )
            .unwrap()
            .into(),
            ProductChanged {
                product_id: ProductId::new(123),
                version: 7,
                change: ProductChange::StockChanged,
            }
            .into(),
        ]
    }

    #[test]
    fn every_event_type_has_a_payload_and_round_trips() {
        let payloads = every_payload();
        let types: Vec<_> = payloads.iter().map(DomainEvent::event_type).collect();
        assert_eq!(
            types,
            EventType::ALL,
            "one payload per event type, in order"
        );
        for payload in payloads {
            let env = envelope(payload, Some(saga()));
            let text = serde_json::to_string(&env).unwrap();
            let back: EventEnvelope<EventPayload> = serde_json::from_str(&text).unwrap();
            assert_eq!(back, env, "{text}");
        }
    }

    #[test]
    fn typed_envelopes_round_trip() {
        fn check<P: DomainEvent + Clone + PartialEq + std::fmt::Debug>(p: P) {
            let env = envelope(p, Some(saga()));
            let text = serde_json::to_string(&env).unwrap();
            assert_eq!(
                serde_json::from_str::<EventEnvelope<P>>(&text).unwrap(),
                env
            );
        }
        for payload in every_payload() {
            match payload {
                EventPayload::CheckoutInitiated(p) => check(p),
                EventPayload::InventoryReserved(p) => check(p),
                EventPayload::InventoryReleased(p) => check(p),
                EventPayload::InventoryConfirmed(p) => check(p),
                EventPayload::InventoryLowStock(p) => check(p),
                EventPayload::PaymentCompleted(p) => check(p),
                EventPayload::PaymentFailed(p) => check(p),
                EventPayload::OrderCreated(p) => check(p),
                EventPayload::OrderStatusChanged(p) => check(p),
                EventPayload::ProductChanged(p) => check(p),
            }
        }
    }

    /// Parses `expected` as an envelope and writes it back: the two must be identical, so every
    /// field name (and the amounts-as-strings rule) matches the seed's example.
    fn assert_same_json<P: DomainEvent>(expected: Value) {
        let env: EventEnvelope<P> = serde_json::from_value(expected.clone()).unwrap();
        assert_eq!(serde_json::to_value(&env).unwrap(), expected);
    }

    #[test]
    fn field_names_match_the_seeds_checkout_initiated_example() {
        // Seed 7.6, with our id formats and the currency the design adds.
        let seed = json!({
            "eventType": "CHECKOUT_INITIATED",
            "eventId": EVENT,
            "sagaId": SAGA,
            "timestamp": "2024-12-19T10:30:00Z",
            "payload": {
                "userId": "456",
                "cartId": CART,
                "items": [
                    { "productId": "123", "variantId": "1", "quantity": 2, "unitPrice": "99.99" }
                ],
                "totalAmount": "199.98",
                "currency": "USD",
                "shippingAddressId": "1"
            },
            "metadata": { "correlationId": "corr_123", "source": "cart-service", "version": "1.0" }
        });
        assert_same_json::<CheckoutInitiated>(seed.clone());
        let env: EventEnvelope<CheckoutInitiated> = serde_json::from_value(seed).unwrap();
        let text = serde_json::to_string(&env).unwrap();
        // The seed's key order, too.
        let order = [
            "eventType",
            "eventId",
            "sagaId",
            "timestamp",
            "payload",
            "metadata",
        ];
        let positions: Vec<_> = order
            .iter()
            .map(|k| text.find(&format!("\"{k}\"")).unwrap())
            .collect();
        assert!(positions.windows(2).all(|w| w[0] < w[1]), "{text}");
    }

    #[test]
    fn field_names_match_the_seeds_other_examples() {
        let head = |event_type: &str, payload: Value| {
            json!({
                "eventType": event_type,
                "eventId": EVENT,
                "sagaId": SAGA,
                "timestamp": "2024-12-19T10:32:00Z",
                "payload": payload,
                "metadata": { "correlationId": "corr_123", "source": "payment-service", "version": "1.0" }
            })
        };
        assert_same_json::<PaymentCompleted>(head(
            "PAYMENT_COMPLETED",
            json!({
                "paymentId": "123", "amount": "199.98", "currency": "USD",
                "paymentMethod": "CARD", "gatewayTransactionId": "ch_stripe_abc",
                "status": "CAPTURED"
            }),
        ));
        assert_same_json::<PaymentFailed>(head(
            "PAYMENT_FAILED",
            json!({
                "paymentId": "123", "failureReason": "INSUFFICIENT_FUNDS",
                "failureCode": "card_declined", "retryable": true
            }),
        ));
        assert_same_json::<InventoryReserved>(head(
            "INVENTORY_RESERVED",
            json!({
                "items": [{
                    "reservationId": "789", "productId": "123", "variantId": null,
                    "warehouseId": "1", "quantityReserved": 2
                }],
                "expiresAt": "2024-12-19T10:45:01Z"
            }),
        ));
        assert_same_json::<OrderCreated>(head(
            "ORDER_CREATED",
            json!({
                "orderId": "12345", "orderNumber": "ORD-2024-7K3M9QX2HB4T", "userId": "456",
                "status": "CONFIRMED", "totalAmount": "199.98", "currency": "USD",
                "items": [{
                    "productId": "123", "variantId": "1", "sellerId": "9", "quantity": 2,
                    "unitPrice": "99.99", "totalPrice": "199.98"
                }],
                "shippingAddressId": "1"
            }),
        ));
        assert_same_json::<InventoryReleased>(head(
            "INVENTORY_RELEASED",
            json!({
                "items": [{
                    "reservationId": "789", "productId": "123", "variantId": "1",
                    "warehouseId": "1", "quantityReserved": 2
                }],
                "reason": "PAYMENT_FAILED"
            }),
        ));
        assert_same_json::<OrderStatusChanged>(head(
            "ORDER_STATUS_CHANGED",
            json!({ "orderId": "12345", "from": "SHIPPED", "to": "DELIVERED" }),
        ));
    }

    #[test]
    fn an_envelope_cannot_carry_the_wrong_payload() {
        let failed = envelope(
            PaymentFailed {
                payment_id: PaymentId::new(1),
                failure_reason: "X".into(),
                failure_code: "y".into(),
                retryable: false,
            },
            Some(saga()),
        );
        let mut json = serde_json::to_value(&failed).unwrap();
        assert_eq!(json["eventType"], "PAYMENT_FAILED");
        assert!(serde_json::from_value::<EventEnvelope<PaymentCompleted>>(json.clone()).is_err());
        // Relabelled as a completed payment, the fields no longer fit either reader.
        json["eventType"] = "PAYMENT_COMPLETED".into();
        assert!(serde_json::from_value::<EventEnvelope<PaymentFailed>>(json.clone()).is_err());
        assert!(serde_json::from_value::<EventEnvelope<EventPayload>>(json.clone()).is_err());
        json["eventType"] = "NO_SUCH_EVENT".into();
        assert!(serde_json::from_value::<EventEnvelope<EventPayload>>(json).is_err());
        // The generic reader picks the payload type from eventType.
        let text = serde_json::to_string(&failed).unwrap();
        let any: EventEnvelope<EventPayload> = serde_json::from_str(&text).unwrap();
        assert!(matches!(any.payload, EventPayload::PaymentFailed(_)));
        assert_eq!(any, failed.into_any());
    }

    #[test]
    fn event_types_map_to_their_topics() {
        let expected = [
            ("CHECKOUT_INITIATED", "checkout.events"),
            ("INVENTORY_RESERVED", "inventory.events"),
            ("INVENTORY_RELEASED", "inventory.events"),
            ("INVENTORY_CONFIRMED", "inventory.events"),
            ("INVENTORY_LOW_STOCK", "inventory.events"),
            ("PAYMENT_COMPLETED", "payment.events"),
            ("PAYMENT_FAILED", "payment.events"),
            ("ORDER_CREATED", "order.events"),
            ("ORDER_STATUS_CHANGED", "order.events"),
            ("PRODUCT_CHANGED", "catalog.events"),
        ];
        assert_eq!(EventType::ALL.len(), expected.len());
        for (name, topic) in expected {
            let t: EventType = name.parse().unwrap();
            assert_eq!(t.topic(), topic);
            assert!(topics::ALL.contains(&topic));
        }
        assert_eq!(topics::dead_letter(topics::ORDER), "order.events.dlq");
        crate::order::tests::assert_text_enum(EventType::ALL);
        crate::order::tests::assert_text_enum(ReleaseReason::ALL);
        crate::order::tests::assert_text_enum(ProductChange::ALL);
        assert_eq!(ProductChanged::EVENT_TYPE, EventType::ProductChanged);
    }

    #[test]
    fn partition_keys_follow_the_saga_else_the_subject() {
        let checkout = envelope(every_payload().remove(0), Some(saga()));
        assert_eq!(checkout.partition_key(), SAGA);
        let product = envelope(
            ProductChanged {
                product_id: ProductId::new(42),
                version: 3,
                change: ProductChange::Updated,
            },
            None,
        );
        assert_eq!(product.partition_key(), "42");
        assert_eq!(product.topic(), "catalog.events");
        // A catalog event has no saga, and says so by leaving the field out.
        let json = serde_json::to_value(&product).unwrap();
        assert!(json.get("sagaId").is_none());
        assert_eq!(json["payload"]["change"], "UPDATED");
        assert_eq!(json["payload"]["version"], 3);
        let back: EventEnvelope<ProductChanged> = serde_json::from_value(json).unwrap();
        assert_eq!(back, product);
        let orphan = envelope(
            PaymentFailed {
                payment_id: PaymentId::new(1),
                failure_reason: "X".into(),
                failure_code: "y".into(),
                retryable: false,
            },
            None,
        );
        assert_eq!(orphan.partition_key(), EVENT);
    }

    #[test]
    fn only_allowed_status_changes_are_announced() {
        assert!(
            OrderStatusChanged::new(
                OrderId::new(1),
                OrderStatus::Delivered,
                OrderStatus::Pending
            )
            .is_err()
        );
    }
}
