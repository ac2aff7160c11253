//! The group commit of pay requests' first step (`checkout::opening`): attempts opened
//! together are opened as one alone would be, in one transaction, and whatever is not the
//! common case is left to the careful path.

mod support;

use std::time::Duration;

use edgeshop_core::checkout::opening::Opener;
use edgeshop_core::checkout::store::PayRequestFor;
use futures_util::future::join_all;
use serde_json::Value;
use shared_model::ids::{CheckoutId, UserId};
use sqlx::PgPool;
use support::shop::{Shop, illinois};

fn request(shop: &Shop, checkout: &str) -> PayRequestFor {
    PayRequestFor {
        checkout: CheckoutId(checkout.parse().unwrap()),
        user: UserId::new(shop.buyer.user_id),
        method: "CARD".into(),
    }
}

/// The checkout's payments and its saga's state and last log line, with ids taken out; and
/// when its payments were written (a transaction's start).
async fn attempts(db: &PgPool, checkout: &str) -> (Value, Vec<chrono::DateTime<chrono::Utc>>) {
    let (record, started): (Value, Vec<chrono::DateTime<chrono::Utc>>) = sqlx::query_as(
        "SELECT jsonb_build_object(
                    'payments', (SELECT jsonb_agg(jsonb_build_array(p.status, p.idempotency_key = 'pay-' || s.checkout_id || '-1',
                                                                   p.amount = o.total_amount, p.payment_method) ORDER BY p.payment_id)
                                   FROM payments p WHERE p.order_id = o.order_id),
                    'saga', jsonb_build_array(s.status, s.current_step, s.completed_steps),
                    'lastStep', (SELECT jsonb_build_array(step_name, step_status, step_data->'attempt')
                                   FROM saga_step_log l WHERE l.saga_id = s.saga_id ORDER BY log_id DESC LIMIT 1)),
                ARRAY(SELECT created_at FROM payments p WHERE p.order_id = o.order_id)
           FROM saga_state s JOIN orders o ON o.order_id = s.order_id
          WHERE s.checkout_id = $1::uuid",
    )
    .bind(checkout)
    .fetch_one(db)
    .await
    .unwrap();
    (record, started)
}

#[sqlx::test(migrations = "../migrations")]
async fn attempts_opened_together_are_each_opened_as_one_alone(db: PgPool) {
    let shop = Shop::open(db.clone(), &[], Duration::from_secs(5), illinois()).await;
    let opener = Opener::spawn(db.clone());
    let alone = shop.start_checkout().await;
    let opened = opener.open(request(&shop, &alone)).await.unwrap();
    assert!(opened.is_some(), "a fresh checkout is the common case");
    let (expected, _) = attempts(&db, &alone).await;
    assert_eq!(expected["payments"][0][0], "INITIATED", "{expected:#}");
    assert_eq!(expected["lastStep"][0], "PROCESS_PAYMENT", "{expected:#}");

    let mut checkouts = Vec::new();
    // Five checkouts in all: the small catalog's blue asters.
    for _ in 0..4 {
        checkouts.push(shop.start_checkout().await);
    }
    // Handed over at once, before the opener's task runs (the test's runtime has one thread):
    // every fresh checkout, the first one again, one already opened, and one that is not the
    // buyer's.
    let mut requests: Vec<PayRequestFor> = checkouts.iter().map(|c| request(&shop, c)).collect();
    requests.push(request(&shop, &checkouts[0]));
    requests.push(request(&shop, &alone));
    let mut strangers = request(&shop, &checkouts[1]);
    strangers.user = UserId::new(shop.buyer.user_id + 1_000);
    requests.push(strangers);
    let answers = join_all(requests.into_iter().map(|r| opener.open(r))).await;
    let answers: Vec<Option<String>> = answers
        .into_iter()
        .map(|a| a.unwrap().map(|o| o.record.checkout().to_string()))
        .collect();

    let mut started = Vec::new();
    for (n, checkout) in checkouts.iter().enumerate() {
        assert_eq!(
            answers[n].as_deref(),
            Some(checkout.as_str()),
            "checkout {n}"
        );
        let (record, at) = attempts(&db, checkout).await;
        assert_eq!(record, expected, "checkout {n}: one attempt, as one alone");
        started.extend(at);
    }
    assert_eq!(
        answers[4], None,
        "the first checkout asked for again has an attempt open"
    );
    assert_eq!(
        answers[5], None,
        "an opened checkout is for the careful path"
    );
    assert_eq!(answers[6], None, "another buyer's checkout is not opened");
    started.dedup();
    assert_eq!(started.len(), 1, "one transaction opened them all");
}
