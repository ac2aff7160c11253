//! The outbox relay: hands committed `outbox_events` to a [`Publisher`] (in-process consumers
//! today, Kafka later) at least once, in `outbox_id` order per partition key, and marks them
//! published.
//!
//! Invariants:
//! - One process relays at a time. It is elected with a session advisory lock, and every
//!   delivery runs on the very connection that holds the lock: if that session ends, the lock
//!   and any unfinished delivery go with it, so a deposed leader can never commit behind its
//!   successor's back (the lock is its own fencing token). The others stand by and take over.
//! - An event is marked published only after the publisher handed it over; a crash in between
//!   redelivers it, and consumers dedupe by event id (`processed_events`).
//! - An event waiting for a retry holds back the later events of its partition key (and only
//!   those) until it is delivered or dead-lettered.
//!
//! The relay wakes on `NOTIFY outbox` (sent by [`super::enqueue`] at commit) and also polls,
//! so a lost notification only costs latency.

use std::collections::HashSet;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use shared_model::events::{EventEnvelope, EventPayload};
use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use sqlx::{Connection, PgConnection, PgPool};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::publish::{InProcess, OutboxEvent, Outcome, Publisher};
use crate::error::ApiError;
use crate::state::AppState;

/// The session advisory lock whose holder relays (ASCII "outbox" in a bigint). Advisory locks
/// are per database, so shops sharing a server do not elect each other.
pub const LEADER_LOCK_KEY: i64 = 0x6f75_7462_6f78;

/// Shown in `pg_stat_activity` for the relay's connections.
const APPLICATION_NAME: &str = "edgeshop-outbox-relay";

/// The future a [`Consumer`] returns (boxed, so `dyn Consumer` works on stable Rust).
pub type HandleFuture<'a> = Pin<Box<dyn Future<Output = Result<(), ConsumerError>> + Send + 'a>>;

/// Something in the core that reacts to events (notifications, cache invalidation, search).
///
/// `handle` runs inside the transaction that also records the event in `processed_events`:
/// its database effects commit together with that record or not at all, so an event is
/// applied exactly once however often it is delivered. Effects outside PostgreSQL must be
/// idempotent (a cache invalidation is; sending an email is not: record it and let a sender
/// do it). Returning an error rolls the whole transaction back and schedules a retry.
pub trait Consumer: Send + Sync {
    /// Stable: it keys `processed_events` and the dead letters. At most 100 characters.
    fn name(&self) -> &'static str;
    /// The topics (`shared_model::events::topics`) whose events it receives.
    fn topics(&self) -> &'static [&'static str];
    /// Whether it acts on events of this type (`eventType`) at all. Events it ignores are not
    /// delivered to it, which spares a transaction and a dedupe row per event.
    fn handles(&self, _event_type: &str) -> bool {
        true
    }
    fn handle<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        event: &'a EventEnvelope<EventPayload>,
    ) -> HandleFuture<'a>;
    /// Handles `events`, in order, in one transaction: all of them or, on an error, none.
    /// Each event one `handle` by default; a consumer that writes a row per event overrides it
    /// to write the batch's rows in one statement (a statement costs more than a row).
    fn handle_all<'a>(
        &'a self,
        conn: &'a mut PgConnection,
        events: &'a [&'a EventEnvelope<EventPayload>],
    ) -> HandleFuture<'a> {
        Box::pin(async move {
            for event in events {
                self.handle(conn, event).await?;
            }
            Ok(())
        })
    }
}

/// Why a consumer could not handle an event.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConsumerError {
    /// Worth another attempt (a dependency is down, a lock timed out).
    #[error("{0}")]
    Retryable(String),
    /// The event can never be handled (it contradicts the data): dead-lettered at once.
    #[error("{0}")]
    Permanent(String),
}

impl ConsumerError {
    pub fn retryable(message: impl fmt::Display) -> Self {
        ConsumerError::Retryable(message.to_string())
    }

    pub fn permanent(message: impl fmt::Display) -> Self {
        ConsumerError::Permanent(message.to_string())
    }

    pub fn is_permanent(&self) -> bool {
        matches!(self, ConsumerError::Permanent(_))
    }
}

impl From<sqlx::Error> for ConsumerError {
    fn from(err: sqlx::Error) -> Self {
        ConsumerError::Retryable(format!("database: {err}"))
    }
}

impl From<ApiError> for ConsumerError {
    fn from(err: ApiError) -> Self {
        match err {
            ApiError::Database(err) => err.into(),
            ApiError::Internal(err) => ConsumerError::Retryable(format!("{err:#}")),
            ApiError::Unavailable { message, .. } => ConsumerError::Retryable(message),
            // The rest are rule violations: the same event breaks the same rule next time.
            other => ConsumerError::Permanent(other.to_string()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("another process holds the outbox relay lock and is delivering")]
    AnotherRelayIsActive,
    #[error("publishing failed: {0}")]
    Publish(String),
}

/// How a failed delivery to one consumer is retried: exponential backoff without jitter (one
/// relay retries, so there is no herd to spread), the design brief's numbers by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure; each later failure doubles it.
    pub base: Duration,
    pub cap: Duration,
    /// Failed attempts after which the event is dead-lettered for that consumer.
    pub attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            base: Duration::from_millis(100),
            cap: Duration::from_secs(10),
            attempts: 5,
        }
    }
}

impl RetryPolicy {
    /// The wait before the next attempt after `failures` (>= 1) failed ones.
    pub fn delay_after(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1);
        2u32.checked_pow(doublings)
            .and_then(|factor| self.base.checked_mul(factor))
            .map_or(self.cap, |delay| delay.min(self.cap))
    }
}

#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// Events read per query.
    pub batch_size: u32,
    /// The longest a committed event waits if its notification was lost.
    pub poll_interval: Duration,
    /// How often a standing-by process tries to become the relay.
    pub standby_interval: Duration,
    /// The pause before reconnecting after the relay's connection failed.
    pub reconnect_delay: Duration,
    pub retry: RetryPolicy,
    /// Caps every statement on the relay's connections, consumers' included, so a consumer
    /// stuck on a lock fails (and is retried) instead of stalling every partition.
    pub statement_timeout: Duration,
    pub lock_key: i64,
    /// The least time from one pass's start to the next's. Commits notify one by one; under
    /// load this gathers them, so a pass (and its fixed queries) serves many events rather
    /// than one. It is also the most a notified event waits.
    pub min_pass_interval: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        RelayConfig {
            batch_size: 256,
            poll_interval: Duration::from_millis(500),
            standby_interval: Duration::from_millis(500),
            reconnect_delay: Duration::from_secs(1),
            retry: RetryPolicy::default(),
            statement_timeout: Duration::from_secs(30),
            lock_key: LEADER_LOCK_KEY,
            min_pass_interval: Duration::from_millis(10),
        }
    }
}

/// Where the relay hands events.
#[derive(Clone)]
enum Sink {
    /// In-process dispatch to these consumers (no broker configured).
    Consumers(Vec<Arc<dyn Consumer>>),
    /// Any other publisher (a Kafka producer).
    Publisher(Arc<dyn Publisher>),
}

/// What one pass did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct PassReport {
    /// Events marked published.
    published: usize,
    /// Events left for a later pass (waiting for a retry, or behind one of their key).
    held: usize,
    /// The soonest a held event may be retried.
    next_retry: Option<Duration>,
}

#[derive(Clone)]
pub struct Relay {
    db: PgPool,
    sink: Sink,
    config: RelayConfig,
}

/// The core's relay with its in-process consumers: what a serving process runs when no broker
/// is configured. Returns at once; the task runs until the process ends.
pub fn spawn(state: &AppState) -> JoinHandle<()> {
    Relay::new(state.db.clone(), super::consumers::in_process(state)).spawn()
}

impl Relay {
    /// A relay dispatching in-process to `consumers`. `db` supplies the connection settings;
    /// the relay opens its own connections and never holds the pool's.
    pub fn new(db: PgPool, consumers: Vec<Arc<dyn Consumer>>) -> Self {
        Relay {
            db,
            sink: Sink::Consumers(consumers),
            config: RelayConfig::default(),
        }
    }

    /// A relay handing events to `publisher` (the seam for the Kafka producer).
    pub fn with_publisher(db: PgPool, publisher: Arc<dyn Publisher>) -> Self {
        Relay {
            db,
            sink: Sink::Publisher(publisher),
            config: RelayConfig::default(),
        }
    }

    pub fn with_config(mut self, config: RelayConfig) -> Self {
        self.config = config;
        self
    }

    pub fn config(&self) -> &RelayConfig {
        &self.config
    }

    fn publisher(&self) -> Arc<dyn Publisher> {
        match &self.sink {
            Sink::Consumers(consumers) => {
                Arc::new(InProcess::new(consumers.clone(), self.config.retry))
            }
            Sink::Publisher(publisher) => publisher.clone(),
        }
    }

    fn connect_options(&self) -> PgConnectOptions {
        self.db
            .connect_options()
            .as_ref()
            .clone()
            .application_name(APPLICATION_NAME)
            .options([
                (
                    "statement_timeout",
                    format!("{}ms", self.config.statement_timeout.as_millis().max(1)),
                ),
                // Plans are cached per connection, and the outbox grows and shrinks by the
                // thousand: a plan made while it was small must not scan it whole later.
                ("enable_seqscan", "off".to_owned()),
            ])
    }

    /// One pass over everything unpublished right now, in order, as the relay (for tests and
    /// the recovery command). Events waiting for a retry that is not due are left for later.
    /// Returns how many events it marked published; fails with
    /// [`RelayError::AnotherRelayIsActive`] while a running relay holds the lock.
    pub async fn deliver_pending(&self) -> Result<usize, RelayError> {
        let mut conn = PgConnection::connect_with(&self.connect_options()).await?;
        if !try_lock(&mut conn, self.config.lock_key).await? {
            let _ = conn.close().await;
            return Err(RelayError::AnotherRelayIsActive);
        }
        let publisher = self.publisher();
        let result = self.pass(&mut conn, publisher.as_ref()).await;
        // Unlock explicitly: closing only ends the session soon, and a caller may go again.
        let unlocked = sqlx::query("SELECT pg_advisory_unlock($1)")
            .bind(self.config.lock_key)
            .execute(&mut conn)
            .await;
        let _ = conn.close().await;
        let report = result?;
        unlocked?;
        Ok(report.published)
    }

    /// Runs the relay until the task is aborted: stand by until elected, then deliver as
    /// events commit. Survives database outages and panics (it restarts after a pause).
    pub fn spawn(self) -> JoinHandle<()> {
        tokio::spawn(async move {
            let relay = Arc::new(self);
            loop {
                let worker = relay.clone();
                let task = AbortOnDrop(tokio::spawn(async move { worker.run().await }));
                if let Err(err) = task.join().await {
                    if err.is_cancelled() {
                        return;
                    }
                    tracing::error!(error = %err, "the outbox relay panicked; restarting it");
                }
                metrics::gauge!("outbox_relay_leader").set(0.0);
                tokio::time::sleep(relay.config.reconnect_delay).await;
            }
        })
    }

    async fn run(&self) {
        let publisher = self.publisher();
        loop {
            match PgConnection::connect_with(&self.connect_options()).await {
                Ok(mut conn) => {
                    let result = self.stand_by_then_lead(&mut conn, publisher.as_ref()).await;
                    metrics::gauge!("outbox_relay_leader").set(0.0);
                    if let Err(err) = result {
                        tracing::warn!(error = %err, "outbox relay connection failed; reconnecting");
                    }
                    // Dropping the connection ends the session and with it any leadership.
                    drop(conn);
                }
                Err(err) => {
                    tracing::warn!(error = %err, "outbox relay cannot connect to PostgreSQL");
                }
            }
            tokio::time::sleep(self.config.reconnect_delay).await;
        }
    }

    /// Only returns with the error that ended this connection's usefulness.
    async fn stand_by_then_lead(
        &self,
        conn: &mut PgConnection,
        publisher: &dyn Publisher,
    ) -> Result<(), RelayError> {
        while !try_lock(conn, self.config.lock_key).await? {
            tokio::time::sleep(self.config.standby_interval).await;
        }
        tracing::info!("this process now relays the outbox");
        metrics::gauge!("outbox_relay_leader").set(1.0);
        let wake = Arc::new(Notify::new());
        let _listener = AbortOnDrop(tokio::spawn(listen(
            self.connect_options(),
            wake.clone(),
            self.config.reconnect_delay,
        )));
        loop {
            let started = tokio::time::Instant::now();
            let report = self.pass(conn, publisher).await?;
            if report.published > 0 || report.held > 0 {
                tracing::debug!(
                    published = report.published,
                    held = report.held,
                    "outbox relay pass"
                );
            }
            let wait = report
                .next_retry
                .map_or(self.config.poll_interval, |retry| {
                    retry.min(self.config.poll_interval)
                })
                .max(Duration::from_millis(1));
            tokio::select! {
                _ = wake.notified() => {}
                _ = tokio::time::sleep(wait) => {}
            }
            tokio::time::sleep_until(started + self.config.min_pass_interval).await;
        }
    }

    /// Hands every event unpublished at the start of the pass to the publisher, in
    /// `outbox_id` order, skipping the keys held back by a pending retry. `conn` must hold
    /// the leader lock.
    async fn pass(
        &self,
        conn: &mut PgConnection,
        publisher: &dyn Publisher,
    ) -> Result<PassReport, RelayError> {
        let mut report = PassReport::default();
        let batch_size = self.config.batch_size.max(1);
        let mut after = 0_i64;
        // Bounded by what exists now, so a steady stream of new events cannot make a pass
        // endless; they are the next pass's work. Asked only once a batch comes back full: a
        // pass that takes everything in its first batch (nearly every pass while events come
        // one commit at a time) ends with it anyway, one statement sooner.
        let mut high = i64::MAX;
        let mut held_keys: HashSet<String> = HashSet::new();
        loop {
            let batch: Vec<OutboxEvent> = sqlx::query_as(
                "SELECT outbox_id, event_id, topic, partition_key, event_type, envelope, attempts,
                        created_at
                 FROM outbox_events
                 WHERE published_at IS NULL AND outbox_id > $1 AND outbox_id <= $2
                 ORDER BY outbox_id
                 LIMIT $3",
            )
            .bind(after)
            .bind(high)
            .bind(i64::from(batch_size))
            .fetch_all(&mut *conn)
            .await?;
            if high == i64::MAX && batch.len() >= batch_size as usize {
                let now: Option<i64> =
                    sqlx::query_scalar("SELECT max(outbox_id) FROM outbox_events")
                        .fetch_one(&mut *conn)
                        .await?;
                high = now.unwrap_or(0);
            }
            let Some(last) = batch.last() else { break };
            after = last.outbox_id;
            let mut published = Vec::with_capacity(batch.len());
            // The usual case, nothing held back and nothing failed before: all at once.
            let first_attempts = held_keys.is_empty() && batch.iter().all(|e| e.attempts == 0);
            let all_at_once = first_attempts && publisher.publish_all(conn, &batch).await?;
            let one_by_one: &[OutboxEvent] = if all_at_once {
                published.extend(batch.iter().map(|e| e.outbox_id));
                &[]
            } else {
                &batch
            };
            for event in one_by_one {
                if held_keys.contains(&event.partition_key) {
                    report.held += 1;
                    continue;
                }
                match publisher.publish(conn, event).await? {
                    Outcome::Published => published.push(event.outbox_id),
                    Outcome::Held { retry_in } => {
                        held_keys.insert(event.partition_key.clone());
                        report.held += 1;
                        report.next_retry =
                            Some(report.next_retry.map_or(retry_in, |r| r.min(retry_in)));
                    }
                }
            }
            if !published.is_empty() {
                sqlx::query(
                    "UPDATE outbox_events SET published_at = now()
                     WHERE outbox_id = ANY($1) AND published_at IS NULL",
                )
                .bind(&published)
                .execute(&mut *conn)
                .await?;
                report.published += published.len();
                metrics::counter!("outbox_events_published_total")
                    .increment(published.len() as u64);
            }
            if batch.len() < batch_size as usize {
                break;
            }
        }
        if report.held > 0 {
            record_lag(conn).await?;
        } else {
            // Every event older than this pass went out; the ones after it wake the next.
            metrics::gauge!("outbox_relay_lag_seconds").set(0.0);
        }
        Ok(report)
    }
}

async fn try_lock(conn: &mut PgConnection, key: i64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(key)
        .fetch_one(conn)
        .await
}

/// The age of the oldest event not yet handed over (0 when none is waiting).
async fn record_lag(conn: &mut PgConnection) -> Result<(), sqlx::Error> {
    let lag: Option<f64> = sqlx::query_scalar(
        "SELECT EXTRACT(EPOCH FROM (now() - created_at))::float8
         FROM outbox_events WHERE published_at IS NULL ORDER BY outbox_id LIMIT 1",
    )
    .fetch_optional(conn)
    .await?;
    metrics::gauge!("outbox_relay_lag_seconds").set(lag.unwrap_or(0.0).max(0.0));
    Ok(())
}

/// Turns `NOTIFY outbox` into wake-ups of the leader loop. Runs on its own one-connection pool
/// (`PgListener` re-connects through it), never on the application's pool.
async fn listen(options: PgConnectOptions, wake: Arc<Notify>, retry_delay: Duration) {
    loop {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .max_lifetime(None)
            .idle_timeout(None)
            .connect_lazy_with(options.clone());
        match listen_on(&pool, &wake).await {
            Ok(()) => {}
            Err(err) => {
                tracing::warn!(error = %err, "outbox LISTEN failed; relying on polling meanwhile")
            }
        }
        tokio::time::sleep(retry_delay).await;
    }
}

async fn listen_on(pool: &PgPool, wake: &Notify) -> Result<(), sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(super::NOTIFY_CHANNEL).await?;
    // An event may have committed between the leader's last read and LISTEN taking effect.
    wake.notify_one();
    loop {
        // Ok(None): the connection dropped (it re-connects on the next call) and notifications
        // may have been missed meanwhile, so wake the relay to look.
        listener.try_recv().await?;
        wake.notify_one();
    }
}

/// A task that is aborted when this handle is dropped, so a relay's helpers end with it.
struct AbortOnDrop<T>(JoinHandle<T>);

impl<T> AbortOnDrop<T> {
    async fn join(mut self) -> Result<T, tokio::task::JoinError> {
        (&mut self.0).await
    }
}

impl<T> Drop for AbortOnDrop<T> {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_back_off_exponentially_up_to_the_cap() {
        let policy = RetryPolicy::default();
        let ms = |n| Duration::from_millis(n);
        assert_eq!(policy.delay_after(1), ms(100));
        assert_eq!(policy.delay_after(2), ms(200));
        assert_eq!(policy.delay_after(4), ms(800));
        assert_eq!(policy.delay_after(8), ms(10_000));
        assert_eq!(policy.delay_after(200), ms(10_000));
        assert_eq!(policy.attempts, 5);
    }

    #[test]
    fn rule_violations_are_permanent_and_outages_are_not() {
        let refused: ConsumerError = ApiError::conflict("x", "no").into();
        assert!(refused.is_permanent());
        let outage: ConsumerError = ApiError::Database(sqlx::Error::PoolTimedOut).into();
        assert!(!outage.is_permanent());
    }
}
