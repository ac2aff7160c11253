//! The group commit of new checkouts (`checkout::recording`): checkouts written together are
//! written exactly as one written alone, and a batch that fails is handed back so that each
//! checkout gets its own answer.

mod support;

use std::time::Duration;

use chrono::{SubsecRound, Utc};
use edgeshop_core::checkout::recording::Recorder;
use edgeshop_core::checkout::saga_log::NewSaga;
use edgeshop_core::checkout::store::{self, NewCheckout};
use edgeshop_core::error::ApiError;
use edgeshop_core::flash_sales::store::{self as claims, ClaimRecord};
use edgeshop_core::orders::store::{NewOrder, NewOrderItem};
use edgeshop_core::outbox::{self, Queued};
use futures_util::future::join_all;
use rust_decimal::Decimal;
use serde_json::{Value, json};
use shared_model::events::{CheckoutInitiated, CheckoutItem};
use shared_model::ids::{AddressId, CheckoutId, FlashSaleId, ProductId, SagaId, UserId};
use shared_model::order::OrderNumber;
use sqlx::PgPool;
use support::shop::{Shop, illinois};

async fn shop(db: PgPool) -> Shop {
    Shop::open(db, &[], Duration::from_secs(5), illinois()).await
}

/// A checkout of `quantity` drizzles and one blue aster (two lines, two events), as initiate
/// would hand it over.
async fn new_checkout(shop: &Shop, quantity: i32) -> NewCheckout {
    let c = &shop.catalog;
    let seller: i64 = sqlx::query_scalar("SELECT seller_id FROM products WHERE product_id = $1")
        .bind(c.drizzle)
        .fetch_one(&shop.app.db)
        .await
        .unwrap();
    let checkout = CheckoutId(uuid::Uuid::new_v4());
    let saga = SagaId::for_checkout(checkout);
    let user = UserId::new(shop.buyer.user_id);
    let address: i64 = shop.address.parse().unwrap();
    let expires_at = (Utc::now() + chrono::Duration::minutes(15)).trunc_subsecs(6);
    let price = Decimal::new(1999, 2);
    let line = |product_id, variant_id, quantity: i32| NewOrderItem {
        product_id,
        variant_id,
        seller_id: seller,
        warehouse_id: Some(c.warehouse_us),
        quantity,
        unit_price: price,
        discount: Decimal::ZERO,
        total: price * Decimal::from(quantity),
    };
    let items = vec![
        line(c.drizzle, None, quantity),
        line(c.aster, Some(c.aster_blue), 1),
    ];
    let subtotal: Decimal = items.iter().map(|i| i.total).sum();
    let initiated = CheckoutInitiated {
        user_id: user,
        cart_id: None,
        items: items
            .iter()
            .map(|i| CheckoutItem {
                product_id: ProductId::new(i.product_id),
                variant_id: None,
                quantity: i.quantity as u32,
                unit_price: i.unit_price,
            })
            .collect(),
        total_amount: subtotal,
        currency: "USD".parse().unwrap(),
        shipping_address_id: AddressId::new(address),
    };
    let events = vec![
        Queued::new(&outbox::envelope(initiated.clone(), Some(saga), "test")).unwrap(),
        Queued::new(&outbox::envelope(initiated, Some(saga), "test")).unwrap(),
    ];
    NewCheckout {
        order: NewOrder {
            order_number: OrderNumber::for_saga(saga, Utc::now()).as_str().to_owned(),
            user,
            saga,
            checkout,
            subtotal,
            discount: Decimal::ZERO,
            tax: Decimal::ZERO,
            shipping: Decimal::ZERO,
            total: subtotal,
            currency: "USD".into(),
            shipping_address_id: address,
            billing_address_id: address,
            shipping_address: illinois(),
            items,
        },
        saga: NewSaga {
            saga,
            checkout,
            user,
            payload: json!({ "cartId": null, "priceChanges": [] }),
            expires_at,
            reserved: json!({ "items": [{ "quantity": quantity }] }),
        },
        events,
        claim: None,
    }
}

/// Everything recording `saga`'s checkout wrote, with ids and times taken out; and when its
/// order was written (the transaction's start: one for every order written together).
async fn written(db: &PgPool, saga: SagaId) -> (Value, chrono::DateTime<Utc>) {
    sqlx::query_as(
        "SELECT jsonb_build_object(
                    'saga', jsonb_build_array(s.status, s.current_step, s.completed_steps, s.payload,
                                              s.order_id = o.order_id, s.user_id = o.user_id),
                    'steps', (SELECT jsonb_agg(jsonb_build_array(step_name, step_status, step_data) ORDER BY log_id)
                                FROM saga_step_log l WHERE l.saga_id = s.saga_id),
                    'order', jsonb_build_array(o.status, o.payment_status, o.subtotal, o.total_amount,
                                               o.currency, o.shipping_address, o.checkout_id = s.checkout_id),
                    'items', (SELECT jsonb_agg(jsonb_build_array(product_id, variant_id, quantity, unit_price,
                                                                 total_price, status) ORDER BY order_item_id)
                                FROM order_items i WHERE i.order_id = o.order_id),
                    'history', (SELECT jsonb_agg(jsonb_build_array(from_status, to_status, reason,
                                                                   actor = o.user_id::text) ORDER BY history_id)
                                  FROM order_status_history h WHERE h.order_id = o.order_id),
                    'events', (SELECT jsonb_agg(jsonb_build_array(event_type, envelope->'payload'->'items')
                                                ORDER BY outbox_id)
                                 FROM outbox_events e WHERE e.partition_key = s.saga_id::text)),
                o.created_at
           FROM saga_state s JOIN orders o ON o.saga_id = s.saga_id
          WHERE s.saga_id = $1",
    )
    .bind(saga.0)
    .fetch_one(db)
    .await
    .unwrap()
}

/// How many orders `saga` has (one once written, none if refused).
async fn orders_of(db: &PgPool, saga: SagaId) -> i64 {
    sqlx::query_scalar("SELECT count(*) FROM orders WHERE saga_id = $1")
        .bind(saga.0)
        .fetch_one(db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn checkouts_recorded_together_are_each_recorded_as_one_alone(db: PgPool) {
    let shop = shop(db.clone()).await;
    let alone = new_checkout(&shop, 2).await;
    let alone_saga = alone.saga.saga;
    store::record_new(&db, &[&alone]).await.unwrap();
    let (expected, _) = written(&db, alone_saga).await;

    // Handed over at once, before the recorder's task runs (the test's runtime has one
    // thread), so they are written in one batch.
    let recorder = Recorder::spawn(db.clone());
    let mut together = Vec::new();
    for _ in 0..12 {
        together.push(new_checkout(&shop, 2).await);
    }
    let sagas: Vec<SagaId> = together.iter().map(|c| c.saga.saga).collect();
    let orders = join_all(together.into_iter().map(|c| recorder.record(c))).await;

    let mut started = Vec::new();
    for (saga, order) in sagas.iter().zip(orders) {
        let order = order.expect("recorded");
        let (record, created_at) = written(&db, *saga).await;
        assert_eq!(record, expected, "{saga} recorded together");
        let owner: SagaId = SagaId(
            sqlx::query_scalar("SELECT saga_id FROM orders WHERE order_id = $1")
                .bind(order.get())
                .fetch_one(&db)
                .await
                .unwrap(),
        );
        assert_eq!(owner, *saga, "each caller is answered its own order");
        started.push(created_at);
    }
    started.dedup();
    assert_eq!(started.len(), 1, "one transaction wrote them all");
    let events: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox_events")
        .fetch_one(&db)
        .await
        .unwrap();
    assert_eq!(events, 2 * 13);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_batch_that_fails_is_written_one_checkout_at_a_time(db: PgPool) {
    let shop = shop(db.clone()).await;
    let recorder = Recorder::spawn(db.clone());
    let existing = new_checkout(&shop, 1).await;
    store::record_new(&db, &[&existing]).await.unwrap();
    let mut checkouts = Vec::new();
    for _ in 0..6 {
        checkouts.push(new_checkout(&shop, 1).await);
    }
    // The fourth reuses an order's number: it cannot be written, the others can.
    checkouts[3].order.order_number = existing.order.order_number.clone();
    let sagas: Vec<SagaId> = checkouts.iter().map(|c| c.saga.saga).collect();
    let answers = join_all(checkouts.into_iter().map(|c| recorder.record(c))).await;

    let mut started = Vec::new();
    for (n, (saga, answer)) in sagas.iter().zip(&answers).enumerate() {
        let orders = orders_of(&db, *saga).await;
        if n == 3 {
            assert!(answer.is_err(), "the duplicate order number is refused");
            assert_eq!(orders, 0);
            let sagas: i64 =
                sqlx::query_scalar("SELECT count(*) FROM saga_state WHERE saga_id = $1")
                    .bind(saga.0)
                    .fetch_one(&db)
                    .await
                    .unwrap();
            assert_eq!(sagas, 0, "nothing of the refused checkout is left");
        } else {
            assert!(answer.is_ok(), "checkout {n}: {answer:?}");
            assert_eq!(orders, 1);
            started.push(written(&db, *saga).await.1);
        }
    }
    started.sort();
    started.dedup();
    assert_eq!(started.len(), 5, "each was written in its own transaction");
}

/// A flash sale of drizzles, for claims to name.
async fn drizzle_sale(shop: &Shop) -> FlashSaleId {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO flash_sales (product_id, units, sale_price, starts_at)
         VALUES ($1, 10, 9.99, now()) RETURNING flash_sale_id",
    )
    .bind(shop.catalog.drizzle)
    .fetch_one(&shop.app.db)
    .await
    .unwrap();
    FlashSaleId::new(id)
}

/// A flash-sale checkout holding `token`.
async fn claiming(shop: &Shop, sale: FlashSaleId, token: i32) -> NewCheckout {
    let mut checkout = new_checkout(shop, 1).await;
    checkout.claim = Some(ClaimRecord {
        sale,
        tokens: vec![token],
        saga: checkout.saga.saga,
        checkout: checkout.saga.checkout.0,
        user: shop.buyer.user_id,
        admission: uuid::Uuid::new_v4(),
        expires_at: checkout.saga.expires_at,
        per_buyer_limit: 100,
    });
    checkout
}

/// When the claim of `saga`'s checkout was written, if it was.
async fn claimed_at(db: &PgPool, saga: SagaId) -> Option<chrono::DateTime<Utc>> {
    sqlx::query_scalar("SELECT created_at FROM flash_sale_tokens WHERE saga_id = $1")
        .bind(saga.0)
        .fetch_optional(db)
        .await
        .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn flash_sale_claims_are_written_with_their_checkouts_in_one_transaction(db: PgPool) {
    let shop = shop(db.clone()).await;
    let sale = drizzle_sale(&shop).await;
    let recorder = Recorder::spawn(db.clone());
    let mut checkouts = vec![new_checkout(&shop, 1).await];
    for token in 0..5 {
        checkouts.push(claiming(&shop, sale, token).await);
    }
    let sagas: Vec<SagaId> = checkouts.iter().map(|c| c.saga.saga).collect();
    let answers = join_all(checkouts.into_iter().map(|c| recorder.record(c))).await;

    let mut started = Vec::new();
    for (n, (saga, answer)) in sagas.iter().zip(&answers).enumerate() {
        assert!(answer.is_ok(), "checkout {n}: {answer:?}");
        let (_, order_written) = written(&db, *saga).await;
        started.push(order_written);
        let claim_written = claimed_at(&db, *saga).await;
        if n == 0 {
            assert_eq!(claim_written, None, "a checkout of no sale claims nothing");
        } else {
            assert_eq!(
                claim_written,
                Some(order_written),
                "claim {n} with its order"
            );
        }
    }
    started.dedup();
    assert_eq!(started.len(), 1, "one transaction wrote them all");
}

#[sqlx::test(migrations = "../migrations")]
async fn a_claim_the_record_refuses_fails_its_checkout_alone(db: PgPool) {
    let shop = shop(db.clone()).await;
    let sale = drizzle_sale(&shop).await;
    let recorder = Recorder::spawn(db.clone());
    // Token 3 is already held, as when Redis lost a claim and granted its token again.
    let holder = claiming(&shop, sale, 3).await;
    let mut conn = db.acquire().await.unwrap();
    claims::record_claims(&mut conn, &[holder.claim.as_ref().unwrap()])
        .await
        .unwrap();
    drop(conn);
    let mut checkouts = Vec::new();
    for token in 1..=5 {
        checkouts.push(claiming(&shop, sale, token).await);
    }
    let sagas: Vec<SagaId> = checkouts.iter().map(|c| c.saga.saga).collect();
    let answers = join_all(checkouts.into_iter().map(|c| recorder.record(c))).await;

    for (saga, (token, answer)) in sagas.iter().zip((1..=5).zip(answers)) {
        let orders = orders_of(&db, *saga).await;
        if token == 3 {
            match answer {
                Err(ApiError::Detailed { code, .. }) => assert_eq!(code, "sold_out"),
                other => panic!("the held token is refused as sold out: {other:?}"),
            }
            assert_eq!(orders, 0, "nothing of the refused checkout is written");
            assert_eq!(claimed_at(&db, *saga).await, None);
        } else {
            assert!(answer.is_ok(), "token {token}: {answer:?}");
            assert_eq!(orders, 1);
            assert!(
                claimed_at(&db, *saga).await.is_some(),
                "token {token} claimed"
            );
        }
    }
}
