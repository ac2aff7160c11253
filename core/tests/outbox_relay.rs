//! The outbox relay end to end on a real PostgreSQL: order per saga with several relaying
//! processes and a leader that dies, exactly-once effects under redelivery, retries and dead
//! letters, commit-only delivery, and the notification consumer. Each test has a fresh
//! database; test consumers record what they saw in a table of their own, inside the delivery
//! transaction, so a recorded row is an applied effect.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use edgeshop_core::notifications::NotificationConsumer;
use edgeshop_core::outbox::{self, Consumer, ConsumerError, HandleFuture, Relay, RelayConfig};
use edgeshop_core::outbox::{RelayError, RetryPolicy};
use rust_decimal_macros::dec;
use shared_model::Currency;
use shared_model::events::{
    EventEnvelope, EventPayload, OrderCreated, PaymentCompleted, PaymentFailed, topics,
};
use shared_model::ids::{AddressId, OrderId, PaymentId, SagaId, UserId};
use shared_model::order::{OrderNumber, OrderStatus, PaymentStatus};
use sqlx::postgres::PgPoolOptions;
use sqlx::{PgConnection, PgPool};
use tokio::task::JoinHandle;
use tokio::time::Instant;
use uuid::Uuid;

// ---- helpers ----

/// Fast enough that retries and take-overs happen within a test's patience.
fn fast() -> RelayConfig {
    RelayConfig {
        batch_size: 16,
        poll_interval: Duration::from_millis(50),
        standby_interval: Duration::from_millis(20),
        reconnect_delay: Duration::from_millis(50),
        retry: RetryPolicy {
            base: Duration::from_millis(5),
            cap: Duration::from_millis(40),
            attempts: 5,
        },
        ..RelayConfig::default()
    }
}

/// A pool of its own, as another core process would have.
fn own_pool(pool: &PgPool) -> PgPool {
    PgPoolOptions::new()
        .max_connections(2)
        .connect_lazy_with(pool.connect_options().as_ref().clone())
}

async fn create_recording_table(pool: &PgPool) {
    sqlx::query(
        "CREATE TABLE test_deliveries (
             seq       BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
             consumer  TEXT NOT NULL,
             event_id  UUID NOT NULL,
             saga_id   UUID,
             step      BIGINT NOT NULL,
             -- The session that applied the effect: the relay's leader connection.
             relay_pid INT NOT NULL DEFAULT pg_backend_pid()
         )",
    )
    .execute(pool)
    .await
    .unwrap();
}

#[derive(Default)]
enum Misbehaviour {
    #[default]
    None,
    /// Fails every event whose failure code is this.
    FailsOn(&'static str),
    /// Fails this many times on events with this failure code, then succeeds.
    FailsTimes(&'static str, u32),
    /// Panics on events with this failure code.
    PanicsOn(&'static str),
}

/// Records each `PaymentFailed` it handles (its payment id is the step) in `test_deliveries`.
#[derive(Default)]
struct Recorder {
    name: &'static str,
    misbehaviour: Misbehaviour,
    /// Calls of `handle` (attempts, successful or not).
    calls: AtomicU32,
}

impl Recorder {
    fn new(name: &'static str) -> Arc<Self> {
        Arc::new(Recorder {
            name,
            ..Recorder::default()
        })
    }

    fn misbehaving(name: &'static str, misbehaviour: Misbehaviour) -> Arc<Self> {
        Arc::new(Recorder {
            name,
            misbehaviour,
            ..Recorder::default()
        })
    }
}

impl Consumer for Recorder {
    fn name(&self) -> &'static str {
        self.name
    }

    fn topics(&self) -> &'static [&'static str] {
        &[topics::PAYMENT]
    }

    fn handle<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a EventEnvelope<EventPayload>,
    ) -> HandleFuture<'a> {
        Box::pin(async move {
            let call = self.calls.fetch_add(1, Ordering::SeqCst);
            let EventPayload::PaymentFailed(step) = &event.payload else {
                return Ok(());
            };
            // The effect first, so a failure after it proves the rollback.
            sqlx::query(
                "INSERT INTO test_deliveries (consumer, event_id, saga_id, step)
                 VALUES ($1, $2, $3, $4)",
            )
            .bind(self.name)
            .bind(event.event_id.0)
            .bind(event.saga_id.map(|s| s.0))
            .bind(step.payment_id.get())
            .execute(&mut *conn)
            .await?;
            let code = step.failure_code.as_str();
            match self.misbehaviour {
                Misbehaviour::FailsOn(bad) if bad == code => {
                    Err(ConsumerError::retryable(format!("cannot digest {code}")))
                }
                Misbehaviour::FailsTimes(bad, times) if bad == code && call < times => {
                    Err(ConsumerError::retryable("not yet"))
                }
                Misbehaviour::PanicsOn(bad) if bad == code => panic!("consumer bug on {code}"),
                _ => Ok(()),
            }
        })
    }
}

fn step_event(saga: Option<SagaId>, step: i64, code: &str) -> EventEnvelope<PaymentFailed> {
    outbox::envelope(
        PaymentFailed {
            payment_id: PaymentId::new(step),
            failure_reason: "TEST".into(),
            failure_code: code.into(),
            retryable: true,
        },
        saga,
        "test",
    )
}

async fn emit<P>(pool: &PgPool, event: &EventEnvelope<P>)
where
    P: shared_model::events::DomainEvent,
{
    let mut tx = pool.begin().await.unwrap();
    outbox::enqueue(&mut tx, event).await.unwrap();
    tx.commit().await.unwrap();
}

fn new_saga() -> SagaId {
    SagaId(Uuid::new_v4())
}

/// Waits for `check` to hold, polling; panics with `what` after `patience`.
async fn eventually(what: &str, patience: Duration, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + patience;
    loop {
        if check().await {
            return;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

async fn scalar(pool: &PgPool, sql: &str) -> i64 {
    sqlx::query_scalar(sql).fetch_one(pool).await.unwrap()
}

/// How many transactions wrote the recorded deliveries: rows written by one transaction share
/// its id (xmin).
async fn delivery_transactions(pool: &PgPool) -> i64 {
    scalar(
        pool,
        "SELECT count(DISTINCT xmin::text) FROM test_deliveries",
    )
    .await
}

/// The backend holding the relay's leader lock, if any.
async fn leader_pid(pool: &PgPool) -> Option<i32> {
    sqlx::query_scalar(
        "SELECT pid FROM pg_locks
         WHERE locktype = 'advisory' AND granted
           AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
    )
    .fetch_optional(pool)
    .await
    .unwrap()
}

async fn wait_for_leader_other_than(pool: &PgPool, previous: Option<i32>) -> i32 {
    let mut found = None;
    eventually("a relay to lead", Duration::from_secs(20), async || {
        found = leader_pid(pool).await.filter(|pid| Some(*pid) != previous);
        found.is_some()
    })
    .await;
    found.unwrap()
}

/// Stops relays and waits until their sessions are gone, so the database can be dropped.
async fn stop(pool: &PgPool, relays: Vec<JoinHandle<()>>) {
    for relay in &relays {
        relay.abort();
    }
    for relay in relays {
        let _ = relay.await;
    }
    eventually(
        "relay sessions to end",
        Duration::from_secs(10),
        async || {
            scalar(
                pool,
                "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND application_name = 'edgeshop-outbox-relay'",
            )
            .await
                == 0
        },
    )
    .await;
}

/// (consumer, saga) → the steps it saw, in the order its effects committed.
async fn seen_by_saga(pool: &PgPool) -> HashMap<(String, Option<Uuid>), Vec<i64>> {
    let rows: Vec<(String, Option<Uuid>, i64)> =
        sqlx::query_as("SELECT consumer, saga_id, step FROM test_deliveries ORDER BY seq")
            .fetch_all(pool)
            .await
            .unwrap();
    let mut seen: HashMap<(String, Option<Uuid>), Vec<i64>> = HashMap::new();
    for (consumer, saga, step) in rows {
        seen.entry((consumer, saga)).or_default().push(step);
    }
    seen
}

async fn unpublished(pool: &PgPool) -> i64 {
    scalar(
        pool,
        "SELECT count(*) FROM outbox_events WHERE published_at IS NULL",
    )
    .await
}

// ---- the relay ----

#[sqlx::test(migrations = "../migrations")]
async fn events_of_one_saga_arrive_in_order(pool: PgPool) {
    create_recording_table(&pool).await;
    const SAGAS: usize = 24;
    const STEPS: i64 = 12;
    let consumers = || -> Vec<Arc<dyn Consumer>> {
        vec![Recorder::new("recorder-a"), Recorder::new("recorder-b")]
    };
    let relay = || Relay::new(own_pool(&pool), consumers()).with_config(fast());

    // Four core processes; the first to start leads, so killing it forces a take-over.
    let first = relay().spawn();
    let first_leader = wait_for_leader_other_than(&pool, None).await;
    let relays: Vec<JoinHandle<()>> = (0..3).map(|_| relay().spawn()).collect();

    let sagas: Vec<SagaId> = (0..SAGAS).map(|_| new_saga()).collect();
    // Four writers, each advancing its own sagas step by step, so sagas interleave.
    let produce = |steps: std::ops::RangeInclusive<i64>| {
        let writers: Vec<JoinHandle<()>> = sagas
            .chunks(SAGAS / 4)
            .map(|chunk| {
                let pool = pool.clone();
                let chunk = chunk.to_vec();
                let steps = steps.clone();
                tokio::spawn(async move {
                    for step in steps {
                        for saga in &chunk {
                            emit(&pool, &step_event(Some(*saga), step, "ok")).await;
                        }
                    }
                })
            })
            .collect();
        async move {
            for writer in writers {
                writer.await.unwrap();
            }
        }
    };

    produce(1..=STEPS / 2).await;
    // The leader dies mid-stream (its session ends, its lock with it); a stand-by takes over.
    first.abort();
    let _ = first.await;
    let second_leader = wait_for_leader_other_than(&pool, Some(first_leader)).await;
    assert_ne!(first_leader, second_leader);
    produce(STEPS / 2 + 1..=STEPS).await;

    let expected = 2 * SAGAS as i64 * STEPS;
    eventually(
        "every event delivered",
        Duration::from_secs(60),
        async || {
            scalar(&pool, "SELECT count(*) FROM test_deliveries").await >= expected
                && unpublished(&pool).await == 0
        },
    )
    .await;

    // Exactly once per consumer...
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM test_deliveries").await,
        expected
    );
    assert_eq!(
        scalar(
            &pool,
            "SELECT count(*) FROM (SELECT DISTINCT consumer, event_id FROM test_deliveries) d"
        )
        .await,
        expected
    );
    // ... by one relay at a time: the first leader until it died, then its successor.
    let pids: Vec<i32> = sqlx::query_scalar("SELECT relay_pid FROM test_deliveries ORDER BY seq")
        .fetch_all(&pool)
        .await
        .unwrap();
    let handover = pids
        .iter()
        .position(|pid| *pid != first_leader)
        .unwrap_or(pids.len());
    assert!(
        pids[..handover].iter().all(|pid| *pid == first_leader)
            && pids[handover..].iter().all(|pid| *pid == second_leader),
        "deliveries from other sessions than the two leaders, or interleaved"
    );
    // ... and in order per saga.
    let seen = seen_by_saga(&pool).await;
    for consumer in ["recorder-a", "recorder-b"] {
        for saga in &sagas {
            let steps = &seen[&(consumer.to_owned(), Some(saga.0))];
            assert_eq!(
                steps,
                &(1..=STEPS).collect::<Vec<_>>(),
                "{consumer} saw saga {saga} out of order"
            );
        }
    }
    stop(&pool, relays).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_redelivered_event_has_one_effect(pool: PgPool) {
    create_recording_table(&pool).await;
    let relay = Relay::new(pool.clone(), vec![Recorder::new("recorder")]).with_config(fast());
    emit(&pool, &step_event(Some(new_saga()), 1, "ok")).await;

    assert_eq!(relay.deliver_pending().await.unwrap(), 1);
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM test_deliveries").await,
        1
    );
    assert_eq!(relay.deliver_pending().await.unwrap(), 0, "nothing left");

    // As if the relay crashed after the consumer committed but before marking it published.
    sqlx::query("UPDATE outbox_events SET published_at = NULL")
        .execute(&pool)
        .await
        .unwrap();
    assert_eq!(
        relay.deliver_pending().await.unwrap(),
        1,
        "handed over again"
    );
    assert_eq!(unpublished(&pool).await, 0);
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM test_deliveries").await,
        1,
        "the redelivery changed nothing"
    );
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM processed_events").await,
        1
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn only_the_leader_delivers(pool: PgPool) {
    create_recording_table(&pool).await;
    let running = Relay::new(own_pool(&pool), vec![Recorder::new("recorder")])
        .with_config(fast())
        .spawn();
    wait_for_leader_other_than(&pool, None).await;
    let manual = Relay::new(pool.clone(), vec![Recorder::new("recorder")]);
    assert!(matches!(
        manual.deliver_pending().await,
        Err(RelayError::AnotherRelayIsActive)
    ));
    stop(&pool, vec![running]).await;
    emit(&pool, &step_event(None, 1, "ok")).await;
    assert_eq!(manual.deliver_pending().await.unwrap(), 1);
}

#[sqlx::test(migrations = "../migrations")]
async fn a_failing_consumer_is_retried_then_dead_lettered(pool: PgPool) {
    create_recording_table(&pool).await;
    let fussy = Recorder::misbehaving("fussy", Misbehaviour::FailsOn("poison"));
    let steady = Recorder::new("steady");
    let running = Relay::new(own_pool(&pool), vec![fussy.clone(), steady.clone()])
        .with_config(fast())
        .spawn();

    let (a, b) = (new_saga(), new_saga());
    emit(&pool, &step_event(Some(a), 1, "ok")).await;
    let poison = step_event(Some(a), 2, "poison");
    emit(&pool, &poison).await;
    emit(&pool, &step_event(Some(a), 3, "ok")).await;
    for step in 1..=3 {
        emit(&pool, &step_event(Some(b), step, "ok")).await;
    }

    eventually(
        "the poison to be dead-lettered and the rest delivered",
        Duration::from_secs(20),
        async || unpublished(&pool).await == 0,
    )
    .await;

    let (consumer, topic, reason, error, attempts, envelope): (
        String,
        String,
        String,
        String,
        i32,
        serde_json::Value,
    ) = sqlx::query_as(
        "SELECT consumer, topic, reason, error, attempts, envelope FROM outbox_dead_letters",
    )
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(consumer, "fussy");
    assert_eq!(topic, topics::dead_letter(topics::PAYMENT));
    assert_eq!(reason, "HANDLER_FAILED");
    assert!(error.contains("poison"), "{error}");
    assert_eq!(attempts, 5);
    assert_eq!(envelope["eventId"], poison.event_id.to_string());

    // Five attempts, each counted on the event; no retry state is left behind.
    let (event_attempts, last_error): (i32, String) =
        sqlx::query_as("SELECT attempts, last_error FROM outbox_events WHERE event_id = $1")
            .bind(poison.event_id.0)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(event_attempts, 5);
    assert!(last_error.starts_with("fussy: "), "{last_error}");
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM outbox_delivery_attempts").await,
        0
    );

    // Failed attempts left no effect; later events of the same saga and the other saga flowed;
    // the healthy consumer got the poison exactly once despite the retries.
    let seen = seen_by_saga(&pool).await;
    assert_eq!(seen[&("fussy".to_owned(), Some(a.0))], vec![1, 3]);
    assert_eq!(seen[&("fussy".to_owned(), Some(b.0))], vec![1, 2, 3]);
    assert_eq!(seen[&("steady".to_owned(), Some(a.0))], vec![1, 2, 3]);
    assert_eq!(seen[&("steady".to_owned(), Some(b.0))], vec![1, 2, 3]);
    // Five counted attempts at the poison and five deliveries, plus any batch the poison
    // spoiled (rolled back, then retried event by event, so it left no effect above).
    assert!(fussy.calls.load(Ordering::SeqCst) >= 5 + 5);
    assert_eq!(steady.calls.load(Ordering::SeqCst), 6);

    stop(&pool, vec![running]).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn a_consumer_that_recovers_gets_the_event_once(pool: PgPool) {
    create_recording_table(&pool).await;
    let flaky = Recorder::misbehaving("flaky", Misbehaviour::FailsTimes("wobbly", 3));
    let relay = Relay::new(pool.clone(), vec![flaky.clone()]).with_config(fast());
    let saga = new_saga();
    emit(&pool, &step_event(Some(saga), 1, "wobbly")).await;
    emit(&pool, &step_event(Some(saga), 2, "ok")).await;

    // The first pass tries both at once, fails, goes event by event, fails the first event
    // again and holds the second behind it.
    assert_eq!(relay.deliver_pending().await.unwrap(), 0);
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM test_deliveries").await,
        0
    );
    let mut published = 0;
    eventually(
        "the retries to succeed",
        Duration::from_secs(10),
        async || {
            published += relay.deliver_pending().await.unwrap();
            published == 2
        },
    )
    .await;

    assert_eq!(
        seen_by_saga(&pool).await[&("flaky".to_owned(), Some(saga.0))],
        vec![1, 2]
    );
    // The batch, three attempts at the first event, one at the second.
    assert_eq!(flaky.calls.load(Ordering::SeqCst), 1 + 3 + 1);
    assert_eq!(
        scalar(&pool, "SELECT max(attempts)::bigint FROM outbox_events").await,
        2
    );
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM outbox_dead_letters").await,
        0
    );
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM outbox_delivery_attempts").await,
        0
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_panicking_consumer_is_dead_lettered_and_the_relay_lives_on(pool: PgPool) {
    create_recording_table(&pool).await;
    let buggy = Recorder::misbehaving("buggy", Misbehaviour::PanicsOn("boom"));
    let running = Relay::new(own_pool(&pool), vec![buggy.clone()])
        .with_config(fast())
        .spawn();
    emit(&pool, &step_event(None, 1, "boom")).await;
    emit(&pool, &step_event(None, 2, "ok")).await;
    eventually(
        "both events handed over",
        Duration::from_secs(20),
        async || unpublished(&pool).await == 0,
    )
    .await;
    let error: String = sqlx::query_scalar("SELECT error FROM outbox_dead_letters")
        .fetch_one(&pool)
        .await
        .unwrap();
    assert!(error.contains("panicked: consumer bug on boom"), "{error}");
    let steps: Vec<i64> = sqlx::query_scalar("SELECT step FROM test_deliveries")
        .fetch_all(&pool)
        .await
        .unwrap();
    assert_eq!(steps, vec![2]);
    stop(&pool, vec![running]).await;
}

#[sqlx::test(migrations = "../migrations")]
async fn an_event_is_delivered_only_if_its_transaction_commits(pool: PgPool) {
    create_recording_table(&pool).await;
    // Polling so slow that only the commit's NOTIFY can bring events within the test's patience.
    let config = RelayConfig {
        poll_interval: Duration::from_secs(120),
        ..fast()
    };
    let running = Relay::new(own_pool(&pool), vec![Recorder::new("recorder")])
        .with_config(config)
        .spawn();
    wait_for_leader_other_than(&pool, None).await;
    eventually("the relay to LISTEN", Duration::from_secs(10), async || {
        scalar(
            &pool,
            "SELECT count(*) FROM pg_stat_activity
             WHERE datname = current_database() AND query LIKE 'LISTEN%'",
        )
        .await
            == 1
    })
    .await;

    let rolled_back = step_event(None, 1, "ok");
    let mut open = pool.begin().await.unwrap();
    outbox::enqueue(&mut open, &rolled_back).await.unwrap();
    let committed = step_event(None, 2, "ok");
    emit(&pool, &committed).await;
    eventually("the committed event", Duration::from_secs(20), async || {
        scalar(&pool, "SELECT count(*) FROM test_deliveries").await == 1
    })
    .await;
    open.rollback().await.unwrap();
    let after = step_event(None, 3, "ok");
    emit(&pool, &after).await;
    eventually(
        "the event after the rollback",
        Duration::from_secs(20),
        async || scalar(&pool, "SELECT count(*) FROM test_deliveries").await == 2,
    )
    .await;

    let delivered: Vec<Uuid> =
        sqlx::query_scalar("SELECT event_id FROM test_deliveries ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
    assert_eq!(delivered, vec![committed.event_id.0, after.event_id.0]);
    let traces: i64 = sqlx::query_scalar(
        "SELECT (SELECT count(*) FROM outbox_events WHERE event_id = $1)
              + (SELECT count(*) FROM processed_events WHERE event_id = $1)",
    )
    .bind(rolled_back.event_id.0)
    .fetch_one(&pool)
    .await
    .unwrap();
    assert_eq!(traces, 0, "a rolled-back event leaves no trace");
    stop(&pool, vec![running]).await;
}

// ---- the notification consumer ----

async fn buyer(pool: &PgPool) -> UserId {
    UserId::new(
        sqlx::query_scalar(
            "INSERT INTO users (email, password_hash, first_name)
             VALUES ('buyer@example.com', 'x', 'Bea') RETURNING user_id",
        )
        .fetch_one(pool)
        .await
        .unwrap(),
    )
}

async fn notifications(
    pool: &PgPool,
) -> Vec<(
    i64,
    String,
    String,
    String,
    Option<Uuid>,
    Option<i64>,
    serde_json::Value,
)> {
    sqlx::query_as(
        "SELECT user_id, channel, notification_type, status, saga_id, order_id, payload
         FROM notifications ORDER BY notification_id",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

/// A confirmed order of `user` for `total`, and the ORDER_CREATED event its saga would emit.
async fn confirmed_order(
    pool: &PgPool,
    user: UserId,
    total: rust_decimal::Decimal,
) -> (SagaId, OrderCreated) {
    let saga = new_saga();
    let number = OrderNumber::for_saga(saga, chrono::Utc::now());
    let order = OrderId::new(
        sqlx::query_scalar(
            "INSERT INTO orders (order_number, user_id, saga_id, checkout_id, subtotal,
                                 total_amount, shipping_address)
             VALUES ($1, $2, $3, $4, $5, $5, '{}') RETURNING order_id",
        )
        .bind(number.as_str())
        .bind(user.get())
        .bind(saga.0)
        .bind(Uuid::new_v4())
        .bind(total)
        .fetch_one(pool)
        .await
        .unwrap(),
    );
    let created = OrderCreated {
        order_id: order,
        order_number: number,
        user_id: user,
        status: OrderStatus::Confirmed,
        total_amount: total,
        currency: Currency::USD,
        items: vec![],
        shipping_address_id: AddressId::new(1),
    };
    (saga, created)
}

#[sqlx::test(migrations = "../migrations")]
async fn order_created_notifies_the_buyer_once(pool: PgPool) {
    let user = buyer(&pool).await;
    let (saga, created) = confirmed_order(&pool, user, dec!(223.97)).await;
    let (order, number) = (created.order_id, created.order_number.clone());
    let relay = Relay::new(pool.clone(), vec![Arc::new(NotificationConsumer)]);
    emit(
        &pool,
        &outbox::envelope(created.clone(), Some(saga), "test"),
    )
    .await;
    assert_eq!(relay.deliver_pending().await.unwrap(), 1);

    let rows = notifications(&pool).await;
    assert_eq!(rows.len(), 1);
    let (user_id, channel, kind, status, saga_id, order_id, payload) = &rows[0];
    assert_eq!(*user_id, user.get());
    assert_eq!(
        (channel.as_str(), kind.as_str(), status.as_str()),
        ("EMAIL", "ORDER_CONFIRMED", "PENDING")
    );
    assert_eq!(*saga_id, Some(saga.0));
    assert_eq!(*order_id, Some(order.get()));
    assert_eq!(payload["orderNumber"], number.as_str());
    assert_eq!(payload["totalAmount"], "223.97");
    assert_eq!(payload["currency"], "USD");

    // A redelivery past processed_events (say its rows were purged) and the same fact
    // re-emitted under a new event id: still one email.
    sqlx::query("DELETE FROM processed_events")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::query("UPDATE outbox_events SET published_at = NULL")
        .execute(&pool)
        .await
        .unwrap();
    emit(&pool, &outbox::envelope(created, Some(saga), "test")).await;
    assert_eq!(relay.deliver_pending().await.unwrap(), 2);
    assert_eq!(notifications(&pool).await.len(), 1);
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM outbox_dead_letters").await,
        0
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn one_pass_of_many_orders_records_each_buyers_own_email(pool: PgPool) {
    // The consumer writes a pass's emails in one statement: each must still carry its own
    // buyer, saga, order and payload.
    let mut created = Vec::new();
    for n in 0..6 {
        let user = UserId::new(
            sqlx::query_scalar(
                "INSERT INTO users (email, password_hash, first_name)
                 VALUES ($1, 'x', 'Bea') RETURNING user_id",
            )
            .bind(format!("buyer{n}@example.com"))
            .fetch_one(&pool)
            .await
            .unwrap(),
        );
        let (saga, event) = confirmed_order(&pool, user, rust_decimal::Decimal::from(10 + n)).await;
        emit(&pool, &outbox::envelope(event.clone(), Some(saga), "test")).await;
        created.push((saga, event));
    }
    let relay = Relay::new(pool.clone(), vec![Arc::new(NotificationConsumer)]);
    assert_eq!(relay.deliver_pending().await.unwrap(), created.len());
    let rows = notifications(&pool).await;
    assert_eq!(rows.len(), created.len());
    for (saga, event) in &created {
        let row = rows
            .iter()
            .find(|row| row.4 == Some(saga.0))
            .unwrap_or_else(|| panic!("no email for saga {saga}"));
        assert_eq!(row.0, event.user_id.get());
        assert_eq!(row.5, Some(event.order_id.get()));
        assert_eq!(row.6["orderNumber"], event.order_number.as_str());
        assert_eq!(row.6["totalAmount"], event.total_amount.to_string());
    }
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM processed_events").await,
        created.len() as i64
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn payment_failed_notifies_the_buyer_of_its_saga(pool: PgPool) {
    let user = buyer(&pool).await;
    let saga = new_saga();
    sqlx::query(
        "INSERT INTO saga_state (saga_id, user_id, checkout_id, expires_at)
         VALUES ($1, $2, $3, now() + interval '15 minutes')",
    )
    .bind(saga.0)
    .bind(user.get())
    .bind(Uuid::new_v4())
    .execute(&pool)
    .await
    .unwrap();
    let declined = |code: &str| PaymentFailed {
        payment_id: PaymentId::new(7),
        failure_reason: "INSUFFICIENT_FUNDS".into(),
        failure_code: code.into(),
        retryable: true,
    };
    emit(
        &pool,
        &outbox::envelope(declined("card_declined"), Some(saga), "test"),
    )
    .await;
    // The buyer tries another card, declined again: one email per checkout.
    emit(
        &pool,
        &outbox::envelope(declined("insufficient_funds"), Some(saga), "test"),
    )
    .await;
    // A saga nobody knows: skipped with a warning, not retried or dead-lettered.
    emit(
        &pool,
        &outbox::envelope(declined("card_declined"), Some(new_saga()), "test"),
    )
    .await;

    let relay = Relay::new(pool.clone(), vec![Arc::new(NotificationConsumer)]);
    assert_eq!(relay.deliver_pending().await.unwrap(), 3);
    let rows = notifications(&pool).await;
    assert_eq!(rows.len(), 1);
    let (user_id, channel, kind, status, saga_id, order_id, payload) = &rows[0];
    assert_eq!(*user_id, user.get());
    assert_eq!(
        (channel.as_str(), kind.as_str(), status.as_str()),
        ("EMAIL", "PAYMENT_FAILED", "PENDING")
    );
    assert_eq!(*saga_id, Some(saga.0));
    assert_eq!(*order_id, None);
    assert_eq!(payload["failureCode"], "card_declined");
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM outbox_dead_letters").await,
        0
    );
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM processed_events").await,
        3
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn events_a_consumer_ignores_are_published_without_reaching_it(pool: PgPool) {
    // PAYMENT_COMPLETED is on a topic the notification consumer reads, but it sends no email
    // for it: the event is published, and costs that consumer no transaction or dedupe row.
    let completed = PaymentCompleted {
        payment_id: PaymentId::new(7),
        amount: dec!(223.97),
        currency: Currency::USD,
        payment_method: "CARD".into(),
        gateway_transaction_id: "ch_1".into(),
        status: PaymentStatus::Captured,
    };
    emit(
        &pool,
        &outbox::envelope(completed, Some(new_saga()), "test"),
    )
    .await;
    let relay = Relay::new(pool.clone(), vec![Arc::new(NotificationConsumer)]);
    assert_eq!(relay.deliver_pending().await.unwrap(), 1);
    assert_eq!(unpublished(&pool).await, 0);
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM processed_events").await,
        0
    );
    assert!(notifications(&pool).await.is_empty());
}

#[sqlx::test(migrations = "../migrations")]
async fn first_attempts_reach_a_consumer_in_one_transaction_in_order(pool: PgPool) {
    create_recording_table(&pool).await;
    let recorder = Recorder::new("batched");
    let relay = Relay::new(pool.clone(), vec![recorder.clone()]);
    let (a, b) = (new_saga(), new_saga());
    for step in 1..=20 {
        emit(&pool, &step_event(Some(a), step, "ok")).await;
        emit(&pool, &step_event(Some(b), step, "ok")).await;
    }
    assert_eq!(relay.deliver_pending().await.unwrap(), 40);
    let seen = seen_by_saga(&pool).await;
    let all: Vec<i64> = (1..=20).collect();
    assert_eq!(seen[&("batched".to_owned(), Some(a.0))], all);
    assert_eq!(seen[&("batched".to_owned(), Some(b.0))], all);
    assert_eq!(delivery_transactions(&pool).await, 1);
    assert_eq!(recorder.calls.load(Ordering::SeqCst), 40);
    assert_eq!(
        scalar(&pool, "SELECT count(*) FROM processed_events").await,
        40
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn a_backlog_larger_than_a_batch_goes_out_in_one_pass_one_transaction_a_batch(pool: PgPool) {
    create_recording_table(&pool).await;
    let relay = Relay::new(
        pool.clone(),
        vec![Recorder::new("first"), Recorder::new("second")],
    )
    .with_config(fast());
    let saga = new_saga();
    for step in 1..=40 {
        emit(&pool, &step_event(Some(saga), step, "ok")).await;
    }
    // Batches of 16: 16, 16 and 8, each delivered to both consumers in one transaction.
    assert_eq!(relay.deliver_pending().await.unwrap(), 40);
    let seen = seen_by_saga(&pool).await;
    let all: Vec<i64> = (1..=40).collect();
    assert_eq!(seen[&("first".to_owned(), Some(saga.0))], all);
    assert_eq!(seen[&("second".to_owned(), Some(saga.0))], all);
    assert_eq!(delivery_transactions(&pool).await, 3);
    assert_eq!(relay.deliver_pending().await.unwrap(), 0, "nothing left");
}

#[sqlx::test(migrations = "../migrations")]
async fn events_committed_in_quick_succession_go_out_in_one_pass(pool: PgPool) {
    create_recording_table(&pool).await;
    let config = RelayConfig {
        min_pass_interval: Duration::from_secs(1),
        ..fast()
    };
    let running = Relay::new(own_pool(&pool), vec![Recorder::new("recorder")])
        .with_config(config)
        .spawn();
    let saga = new_saga();
    emit(&pool, &step_event(Some(saga), 1, "ok")).await;
    eventually("the first event", Duration::from_secs(10), async || {
        unpublished(&pool).await == 0
    })
    .await;
    // A pass just ran: these five commits (five notifications) wait for the next one.
    for step in 2..=6 {
        emit(&pool, &step_event(Some(saga), step, "ok")).await;
    }
    eventually("the other five", Duration::from_secs(10), async || {
        unpublished(&pool).await == 0
    })
    .await;
    assert_eq!(
        seen_by_saga(&pool).await[&("recorder".to_owned(), Some(saga.0))],
        (1..=6).collect::<Vec<i64>>()
    );
    // One transaction for the first event, one for the five.
    assert_eq!(delivery_transactions(&pool).await, 2);
    stop(&pool, vec![running]).await;
}
