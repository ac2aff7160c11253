//! One buyer's flash sale, through the edge: join the waiting room (before the start or after
//! it), poll the place when the edge says to ask again, and once admitted check out
//! with the admission (the sale's buy-now, or `--through-cart`: put the item in the cart and
//! check out from it) and pay. Some walk away once admitted, some are
//! declined; a buyer told "sold out" goes back to waiting, since held units can come back.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use rand::Rng;
use serde_json::{Value, json};
use tokio::sync::{Notify, Semaphore};

use crate::FlashSaleArgs;
use crate::measure::{Measurements, Step};
use crate::setup::Sale;

/// A prepared, signed-in buyer.
#[derive(Debug, Clone)]
pub struct Buyer {
    pub address: String,
    pub token: String,
}

/// Reads `userId,addressId,token` lines.
pub fn read_buyers(path: &Path, limit: Option<usize>) -> anyhow::Result<Vec<Buyer>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .take(limit.unwrap_or(usize::MAX))
        .map(|line| {
            let mut parts = line.trim().splitn(3, ',');
            let (_, Some(address), Some(token)) = (parts.next(), parts.next(), parts.next()) else {
                anyhow::bail!("not a userId,addressId,token line: {line}");
            };
            Ok(Buyer {
                address: address.to_owned(),
                token: token.to_owned(),
            })
        })
        .collect()
}

/// What every buyer shares: the client, the sale, the shares of behaviours, the stop signal.
pub struct Journey {
    http: reqwest::Client,
    /// The edge nodes buyers are spread over.
    edges: Vec<String>,
    sale: Sale,
    start_in: Duration,
    late_window: Duration,
    early_share: f64,
    abandon_share: f64,
    decline_share: f64,
    through_cart: bool,
    /// Requests in flight, limited per step: buyers at different steps are different people,
    /// so one waiting to pay does not queue behind thousands joining (one queue for all made
    /// the first payments wait for every status poll of the sale's first second).
    in_flight: [Semaphore; Step::ALL.len()],
    stopped: AtomicBool,
    /// Wakes every sleeping buyer when the run stops (rather than each waking to check).
    stop_signal: Notify,
    created: Instant,
    measurements: Arc<Measurements>,
}

/// Times a request whose connection failed is sent again.
const RESEND_FAILED_CONNECTIONS: u32 = 2;
/// Sends of one request at most while the core says its first copy is still running.
const RESEND_WHILE_IN_PROGRESS: u32 = 20;
const RESEND_AFTER: Duration = Duration::from_millis(250);

/// What a request answers once the run is over (not counted as an error).
pub const STOPPED: &str = "the run stopped";

enum Outcome {
    /// Keep going.
    Wait(Duration),
    Done,
}

impl Journey {
    pub fn new(
        http: reqwest::Client,
        args: &FlashSaleArgs,
        sale: &Sale,
        measurements: Arc<Measurements>,
    ) -> Self {
        Journey {
            http,
            edges: args
                .edge
                .iter()
                .map(|edge| edge.trim_end_matches('/').to_owned())
                .collect(),
            sale: sale.clone(),
            start_in: Duration::from_secs(args.start_in),
            late_window: Duration::from_secs(args.late_window),
            early_share: args.early_share,
            abandon_share: args.abandon_share,
            decline_share: args.decline_share,
            through_cart: args.through_cart,
            in_flight: Step::ALL.map(|_| Semaphore::new(args.concurrency.max(1))),
            stopped: AtomicBool::new(false),
            stop_signal: Notify::new(),
            created: Instant::now(),
            measurements,
        }
    }

    pub fn stop(&self) {
        self.stopped.store(true, Ordering::Relaxed);
        self.stop_signal.notify_waiters();
    }

    /// The edge node buyer `n` talks to, for the whole sale (its ticket, cursor and checkout
    /// records are that node's).
    fn edge(&self, n: usize) -> &str {
        &self.edges[n % self.edges.len()]
    }

    fn stopped(&self) -> bool {
        self.stopped.load(Ordering::Relaxed)
    }

    /// Sleeps, waking early when the run stops; answers whether to go on. A sleeping buyer
    /// costs nothing until its time comes: 100,000 of them polling a flag would take a
    /// sizeable share of the machine the sale runs on.
    async fn pause(&self, duration: Duration) -> bool {
        // Registered before the flag is read, so a stop in between still wakes it.
        let stopping = self.stop_signal.notified();
        if self.stopped() {
            return false;
        }
        tokio::select! {
            () = tokio::time::sleep(duration) => !self.stopped(),
            () = stopping => false,
        }
    }

    /// One request through the edge, timed, within the run's concurrency. A request whose
    /// connection failed or timed out (workerd resets some under load) is sent again, as a
    /// buyer's client would, with the same Idempotency-Key (a join is one per buyer anyway; a
    /// cart line, which carries no key, is not sent again); while the first copy is still running in the core,
    /// the copy is told so (409) and asks again shortly. The time is the buyer's: from the
    /// first send to the last answer, and apart from it the wait for a free connection.
    async fn send(
        &self,
        step: Step,
        request: reqwest::RequestBuilder,
    ) -> Result<(u16, Value), String> {
        // Registered before the flag is read, so a stop in between is still seen.
        let stopping = self.stop_signal.notified();
        if self.stopped() {
            return Err(STOPPED.to_owned());
        }
        let asked = Instant::now();
        let permit = tokio::select! {
            permit = self.in_flight[step as usize].acquire() => Some(permit),
            () = stopping => None,
        };
        let _permit = match permit {
            Some(Ok(permit)) if !self.stopped() => permit,
            Some(Err(e)) => return Err(e.to_string()),
            _ => {
                self.measurements.never_sent.fetch_add(1, Ordering::Relaxed);
                return Err(STOPPED.to_owned());
            }
        };
        let started = Instant::now();
        let mut current = request;
        let mut resent = 0;
        let result = loop {
            let spare = current.try_clone();
            let answer = match current.send().await {
                Ok(answer) => {
                    let status = answer.status().as_u16();
                    // A body that is not JSON (a runtime's own error page) is kept as text, so
                    // a report can say what it was.
                    let text = answer.text().await.unwrap_or_default();
                    let body = serde_json::from_str(&text)
                        .unwrap_or_else(|_| Value::String(text.chars().take(200).collect()));
                    Ok((status, body))
                }
                Err(err) => Err(format!("{}: {}", step.name(), with_causes(&err))),
            };
            let again = match &answer {
                Err(_) => resent < RESEND_FAILED_CONNECTIONS && step != Step::Cart,
                Ok((409, body)) => {
                    resent > 0
                        && resent < RESEND_WHILE_IN_PROGRESS
                        && body["error"]["code"] == "idempotency_key_in_progress"
                }
                Ok(_) => false,
            };
            match spare {
                Some(spare) if again && !self.stopped() => {
                    if answer.is_err() {
                        self.measurements.resent.fetch_add(1, Ordering::Relaxed);
                    }
                    resent += 1;
                    if !self.pause(RESEND_AFTER).await {
                        break Err(STOPPED.to_owned());
                    }
                    current = spare;
                }
                _ => break answer,
            }
        };
        self.measurements.record(step, asked, started);
        result
    }

    fn unexpected(&self, step: Step, status: u16, body: &Value) -> Outcome {
        self.measurements
            .error(format!("{} answered {status}: {body}", step.name()));
        Outcome::Done
    }

    pub async fn run(&self, n: usize, buyer: Buyer) {
        let (early, join_after, decline, abandon) = {
            let mut rng = rand::thread_rng();
            let early = rng.gen_bool(self.early_share.clamp(0.0, 1.0));
            let join_after = if early {
                // Spread over the time before the start, done before it.
                self.start_in.mul_f64(rng.gen_range(0.0..0.8))
            } else {
                self.start_in + self.late_window.mul_f64(rng.gen_range(0.0..1.0))
            };
            (
                early,
                join_after,
                rng.gen_bool(self.decline_share.clamp(0.0, 1.0)),
                rng.gen_bool(self.abandon_share.clamp(0.0, 1.0)),
            )
        };
        let elapsed = self.created.elapsed();
        if join_after > elapsed && !self.pause(join_after - elapsed).await {
            return;
        }
        let sale = &self.sale.id;
        let edge = self.edge(n);
        let joined = self
            .send(
                Step::Join,
                self.http
                    .post(format!("{edge}/api/flash-sales/{sale}/queue"))
                    .bearer_auth(&buyer.token),
            )
            .await;
        let (ticket, queue_rank, mut first_status) = match joined {
            Ok((200, body)) => match body["ticket"].as_str() {
                Some(ticket) => {
                    let place = &body["place"];
                    let rank = place["lottery"].as_i64().or(place["arrivedMs"].as_i64());
                    // The edge says where the new ticket stands: the first poll's answer.
                    let status = body.get("status").filter(|s| s.is_object()).cloned();
                    (ticket.to_owned(), rank, status)
                }
                None => {
                    return self
                        .measurements
                        .error(format!("a join without a ticket: {body}"));
                }
            },
            Ok((status, body)) => {
                let _ = self.unexpected(Step::Join, status, &body);
                return;
            }
            Err(err) => return self.measurements.error(err),
        };
        let joined_ms = self.measurements.now_ms();
        self.measurements.milestones(n, |m| {
            m.joined_ms = Some(joined_ms);
            m.early = early;
            m.queue_rank = queue_rank;
        });
        let mut in_cart = false;
        let mut admitted = false;
        loop {
            let standing = match first_status.take() {
                Some(status) => self.standing(&status),
                None => self.poll(edge, &ticket, &buyer).await,
            };
            let next = match standing {
                Ok(Some(admission)) => {
                    if !admitted {
                        admitted = true;
                        self.measurements.admitted.fetch_add(1, Ordering::Relaxed);
                        let at = self.measurements.now_ms();
                        self.measurements
                            .milestones(n, |m| m.admitted_ms = Some(at));
                        if abandon {
                            self.measurements.abandoned.fetch_add(1, Ordering::Relaxed);
                            return;
                        }
                    }
                    self.buy(n, edge, &buyer, &admission, decline, &mut in_cart)
                        .await
                }
                Ok(None) => Outcome::Done,
                Err(wait) => Outcome::Wait(wait),
            };
            match next {
                Outcome::Done => return,
                Outcome::Wait(wait) => {
                    if !self.pause(wait).await {
                        return;
                    }
                }
            }
        }
    }

    /// One status poll: `Ok(Some(admission))` once admitted, `Ok(None)` when there is nothing
    /// more to wait for, `Err(wait)` to poll again after `wait`.
    async fn poll(
        &self,
        edge: &str,
        ticket: &str,
        buyer: &Buyer,
    ) -> Result<Option<String>, Duration> {
        let sale = &self.sale.id;
        let jitter = Duration::from_millis(rand::thread_rng().gen_range(0..250));
        let until_start = (self.sale.starts_at - chrono::Utc::now())
            .to_std()
            .unwrap_or_default();
        if !until_start.is_zero() {
            return Err(until_start + jitter);
        }
        let answer = self
            .send(
                Step::Status,
                self.http
                    .get(format!("{edge}/api/flash-sales/{sale}/status"))
                    .bearer_auth(&buyer.token)
                    .header("x-queue-ticket", ticket),
            )
            .await;
        match answer {
            Ok((200, status)) => self.standing(&status),
            Ok((429 | 502 | 503 | 504, _)) => Err(Duration::from_secs(1) + jitter),
            Ok((status, body)) => {
                let _ = self.unexpected(Step::Status, status, &body);
                Ok(None)
            }
            Err(err) => {
                self.measurements.error(err);
                Err(Duration::from_secs(1) + jitter)
            }
        }
    }

    /// What a status (a poll's, or the join's) means for this buyer, as [`Self::poll`] answers.
    fn standing(&self, status: &Value) -> Result<Option<String>, Duration> {
        let jitter = Duration::from_millis(rand::thread_rng().gen_range(0..250));
        match status["state"].as_str() {
            Some("ADMITTED") => Ok(status["admissionToken"].as_str().map(str::to_owned)),
            // When the edge says to ask again (as the waiting page refreshes itself): half the
            // estimated wait, between 2 s and two minutes; while every unit is held, the whole
            // wait, which counts from when a held unit may come back, between 2 and 30 s.
            Some("WAITING" | "SOLD_OUT") => {
                let after = status["refreshAfterSeconds"].as_u64().unwrap_or(2);
                Err(Duration::from_secs(after) + jitter)
            }
            // Not the estimated turn before the start: buyers who asked only then (a second
            // before it) stalled two of three sales' first ten seconds (the edge busier with
            // polls, joins timing out), against none of one that all asked at the start.
            // Following the edge's refresh before the start (as the page does), with the edge
            // saying four fifths of the wait, sold out about 12 s later in two paired whole sales.
            Some("NOT_STARTED") => Err(Duration::from_millis(500) + jitter),
            _ => Ok(None),
        }
    }

    async fn buy(
        &self,
        n: usize,
        edge: &str,
        buyer: &Buyer,
        admission: &str,
        decline: bool,
        in_cart: &mut bool,
    ) -> Outcome {
        let bearer = |r: reqwest::RequestBuilder| r.bearer_auth(&buyer.token);
        if self.through_cart && !*in_cart {
            match self
                .send(
                    Step::Cart,
                    bearer(self.http.post(format!("{edge}/api/cart/items")))
                        .json(&json!({"productId": self.sale.product, "quantity": 1})),
                )
                .await
            {
                Ok((200 | 201, _)) => *in_cart = true,
                Ok((status, body)) => return self.unexpected(Step::Cart, status, &body),
                Err(err) => {
                    self.measurements.error(err);
                    return Outcome::Done;
                }
            }
        }
        // The sale's buy-now, or checkout from the cart the item was just put in.
        let checkout_path = if self.through_cart {
            "/api/checkout/initiate".to_owned()
        } else {
            format!("/api/flash-sales/{}/buy", self.sale.id)
        };
        let started = self
            .send(
                Step::Initiate,
                bearer(self.http.post(format!("{edge}{checkout_path}")))
                    .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                    .json(
                        &json!({"shippingAddressId": buyer.address, "admissionToken": admission}),
                    ),
            )
            .await;
        let checkout = match started {
            Ok((201, body)) => body["checkoutId"].as_str().unwrap_or_default().to_owned(),
            Ok((409, body)) if body["error"]["code"] == "sold_out" => {
                self.measurements
                    .sold_out_answers
                    .fetch_add(1, Ordering::Relaxed);
                let details = &body["error"]["details"];
                if details["unitsMayReturn"] != true {
                    // Every unit is sold: nothing to wait for.
                    return Outcome::Done;
                }
                // Every unit is held; the core says when the first hold may give one back.
                let wait = details["retryAfterSeconds"].as_u64().unwrap_or(2);
                return Outcome::Wait(Duration::from_secs(wait.clamp(1, 30)));
            }
            Ok((429 | 503, _)) => return Outcome::Wait(Duration::from_secs(1)),
            Ok((status, body)) => return self.unexpected(Step::Initiate, status, &body),
            Err(err) => {
                self.measurements.error(err);
                return Outcome::Done;
            }
        };
        let card = if decline {
            "tok_chargeDeclined"
        } else {
            "tok_visa"
        };
        let paid = self
            .send(
                Step::Pay,
                bearer(
                    self.http
                        .post(format!("{edge}/api/checkout/{checkout}/pay")),
                )
                .header("idempotency-key", uuid::Uuid::new_v4().to_string())
                .json(&json!({"paymentMethod": "CARD", "paymentToken": card})),
            )
            .await;
        match paid {
            Ok((200, body)) if body["status"] == "CONFIRMED" => {
                self.measurements.sold.fetch_add(1, Ordering::Relaxed);
                let at = self.measurements.now_ms();
                self.measurements.milestones(n, |m| m.bought_ms = Some(at));
            }
            Ok((402, _)) => {
                // Declined: this buyer walks away; the hold lapses and the unit is sold again.
                self.measurements.declined.fetch_add(1, Ordering::Relaxed);
            }
            Ok((status, body)) => {
                let _ = self.unexpected(Step::Pay, status, &body);
            }
            Err(err) => self.measurements.error(err),
        }
        Outcome::Done
    }
}

/// An error with what caused it ("error sending request" alone does not say whether the
/// connection was refused, reset or timed out).
fn with_causes(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut cause = err.source();
    while let Some(inner) = cause {
        text.push_str(": ");
        text.push_str(&inner.to_string());
        cause = inner.source();
    }
    text
}

#[cfg(test)]
mod tests;
