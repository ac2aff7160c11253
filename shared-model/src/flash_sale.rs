//! Flash sales (seed 8.2): the waiting room's queue tickets and admission tokens, and the
//! arithmetic of admission that the edge and the core must agree on.
//!
//! A buyer joins the queue once per sale and gets a signed [`QueueTicket`]. Buyers who join
//! before the start draw a lottery number, and are admitted in lottery order (a random shuffle:
//! arriving first before the start is no advantage, so bots gain nothing by hammering the
//! start); later joiners are admitted by arrival time. Both places follow from the key, the
//! sale, the buyer and the clock alone ([`QueueTicket::joined`]), so the edge gives tickets
//! without asking the core, and tells the core of them afterwards, in batches, for counting.
//! The core publishes an [`AdmissionCursor`] that advances at the sale's rate, or slower while admitted buyers have yet to check out; the
//! edge compares a ticket with the cursor it cached, so a status poll costs the core nothing.
//! An admitted buyer gets an [`AdmissionToken`], bound to the buyer and the sale, short-lived,
//! and good for one checkout.
//!
//! Tickets and tokens are signed with HMAC-SHA-256 under a key the edge and the core share.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::ModelError;
use crate::api::error::ErrorBody;
use crate::ids::{FlashSaleId, UserId};

/// Lottery numbers are below 2^53, so JSON numbers and Redis scores hold them exactly.
pub const LOTTERY_SPAN: u64 = 1 << 53;
/// Shortest admission secret accepted (characters).
pub const MIN_KEY_LEN: usize = 32;
/// How long an admitted buyer has to start their checkout.
pub const ADMISSION_TTL_SECONDS: i64 = 300;
/// Longest signed ticket or token accepted, before any decoding.
const MAX_SIGNED_LEN: usize = 1024;

const TICKET: &str = "fst1";
const ADMISSION: &str = "fsa1";

/// The shared HMAC key, derived from the configured secret text.
#[derive(Clone)]
pub struct AdmissionKey([u8; 32]);

impl std::fmt::Debug for AdmissionKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdmissionKey(..)")
    }
}

impl AdmissionKey {
    pub fn from_secret(secret: &str) -> Result<Self, ModelError> {
        let secret = secret.trim();
        if secret.len() < MIN_KEY_LEN {
            return Err(ModelError::invalid(
                "admissionKey",
                format!("must be at least {MIN_KEY_LEN} characters"),
            ));
        }
        let mut hasher = Sha256::new();
        hasher.update(b"edgeshop flash-sale admission v1\n");
        hasher.update(secret.as_bytes());
        Ok(AdmissionKey(hasher.finalize().into()))
    }

    fn mac(&self, signed: &str) -> Hmac<Sha256> {
        let mut mac =
            <Hmac<Sha256> as Mac>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(signed.as_bytes());
        mac
    }

    fn sign<T: Serialize>(&self, kind: &str, payload: &T) -> Result<String, ModelError> {
        let json = serde_json::to_vec(payload).map_err(|_| ModelError::Token("unserialisable"))?;
        let mut token = format!("{kind}.{}", URL_SAFE_NO_PAD.encode(json));
        let tag = self.mac(&token).finalize().into_bytes();
        token.push('.');
        token.push_str(&URL_SAFE_NO_PAD.encode(tag));
        Ok(token)
    }

    fn verify<T: DeserializeOwned>(&self, kind: &str, token: &str) -> Result<T, ModelError> {
        if token.len() > MAX_SIGNED_LEN {
            return Err(ModelError::Token("too long"));
        }
        let (signed, tag) = token
            .rsplit_once('.')
            .ok_or(ModelError::Token("malformed"))?;
        let (found_kind, payload) = signed
            .split_once('.')
            .ok_or(ModelError::Token("malformed"))?;
        if found_kind != kind {
            return Err(ModelError::Token("not this kind of token"));
        }
        let tag = URL_SAFE_NO_PAD
            .decode(tag)
            .map_err(|_| ModelError::Token("malformed signature"))?;
        self.mac(signed)
            .verify_slice(&tag)
            .map_err(|_| ModelError::Token("bad signature"))?;
        let json = URL_SAFE_NO_PAD
            .decode(payload)
            .map_err(|_| ModelError::Token("malformed payload"))?;
        serde_json::from_slice(&json).map_err(|_| ModelError::Token("malformed payload"))
    }

    pub fn sign_ticket(&self, ticket: &QueueTicket) -> Result<String, ModelError> {
        self.sign(TICKET, ticket)
    }

    /// 32 bytes only this key gives for `purpose`, `sale` and `user`.
    fn derive(&self, purpose: &str, sale: FlashSaleId, user: UserId) -> [u8; 32] {
        self.mac(&format!("{purpose}\n{sale}\n{user}"))
            .finalize()
            .into_bytes()
            .into()
    }

    /// The buyer's lottery number in the sale: uniform below [`LOTTERY_SPAN`], the same however
    /// often or wherever they join (joining again draws nothing new), and unknown without the key.
    pub fn lottery(&self, sale: FlashSaleId, user: UserId) -> u64 {
        let bytes = self.derive("lottery", sale, user);
        let mut first = [0u8; 8];
        first.copy_from_slice(&bytes[..8]);
        u64::from_be_bytes(first) >> (64 - LOTTERY_SPAN.trailing_zeros())
    }

    /// The buyer's one ticket id in the sale: every ticket they are given carries it, so their
    /// admissions name one ticket, which buys once.
    pub fn ticket_id(&self, sale: FlashSaleId, user: UserId) -> uuid::Uuid {
        let bytes = self.derive("ticket", sale, user);
        let mut first = [0u8; 16];
        first.copy_from_slice(&bytes[..16]);
        uuid::Builder::from_random_bytes(first).into_uuid()
    }

    /// A ticket of `sale` this key signed, whoever it is for (the edge reports the tickets it
    /// gave, each for its own buyer).
    pub fn verify_ticket_of_sale(
        &self,
        token: &str,
        sale: FlashSaleId,
    ) -> Result<QueueTicket, ModelError> {
        let ticket: QueueTicket = self.verify(TICKET, token)?;
        if ticket.sale != sale {
            return Err(ModelError::Token("a ticket of another sale"));
        }
        Ok(ticket)
    }

    /// A ticket of `sale` this key signed for `user`. Tickets do not expire: a sale's queue
    /// lasts as long as the sale.
    pub fn verify_ticket(
        &self,
        token: &str,
        sale: FlashSaleId,
        user: UserId,
    ) -> Result<QueueTicket, ModelError> {
        let ticket = self.verify_ticket_of_sale(token, sale)?;
        if ticket.user != user {
            return Err(ModelError::Token("someone else's ticket"));
        }
        Ok(ticket)
    }

    pub fn sign_admission(&self, admission: &AdmissionToken) -> Result<String, ModelError> {
        self.sign(ADMISSION, admission)
    }

    /// An admission to `sale` this key signed for `user`, not yet expired at `now_unix`.
    /// Whether it was already used is the core's to check.
    pub fn verify_admission(
        &self,
        token: &str,
        sale: FlashSaleId,
        user: UserId,
        now_unix: i64,
    ) -> Result<AdmissionToken, ModelError> {
        let admission: AdmissionToken = self.verify(ADMISSION, token)?;
        if admission.sale != sale {
            return Err(ModelError::Token("an admission to another sale"));
        }
        if admission.user != user {
            return Err(ModelError::Token("someone else's admission"));
        }
        if admission.expires_at <= now_unix {
            return Err(ModelError::Token("expired"));
        }
        Ok(admission)
    }
}

/// Where a ticket stands in the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "joined")]
pub enum Place {
    /// Joined before the start: admitted in the order of this random number.
    BeforeStart { lottery: u64 },
    /// Joined after the start: admitted after every early joiner, by arrival time (ms since
    /// the epoch, by the clock of whoever gave the ticket).
    AfterStart {
        #[serde(rename = "arrivedMs")]
        arrived_ms: i64,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct QueueTicket {
    pub sale: FlashSaleId,
    pub user: UserId,
    /// Names the ticket; the admission it earns carries it, so each ticket buys once.
    pub ticket_id: uuid::Uuid,
    pub place: Place,
    pub joined_at: i64,
}

impl QueueTicket {
    /// The ticket `user` gets on joining `sale` at `now`: a lottery place before `starts_at`,
    /// an arrival place from then on. The edge and the core give tickets by this one rule.
    pub fn joined(
        key: &AdmissionKey,
        sale: FlashSaleId,
        user: UserId,
        now: DateTime<Utc>,
        starts_at: DateTime<Utc>,
    ) -> Self {
        let place = if now < starts_at {
            Place::BeforeStart {
                lottery: key.lottery(sale, user),
            }
        } else {
            Place::AfterStart {
                arrived_ms: now.timestamp_millis(),
            }
        };
        QueueTicket {
            sale,
            user,
            ticket_id: key.ticket_id(sale, user),
            place,
            joined_at: now.timestamp(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionToken {
    pub sale: FlashSaleId,
    pub user: UserId,
    /// The ticket admitted; the core refuses a second checkout with it.
    pub ticket_id: uuid::Uuid,
    pub expires_at: i64,
}

impl AdmissionToken {
    /// The admission a ticket earns once the cursor passes it.
    pub fn for_ticket(ticket: &QueueTicket, now_unix: i64) -> Self {
        AdmissionToken {
            sale: ticket.sale,
            user: ticket.user,
            ticket_id: ticket.ticket_id,
            expires_at: now_unix + ADMISSION_TTL_SECONDS,
        }
    }
}

/// How far admission has come, as the core publishes it (`GET /api/flash-sales/{id}/admission`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AdmissionCursor {
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub flash_sale_id: FlashSaleId,
    pub starts_at: DateTime<Utc>,
    /// Whether the sale has started (admission runs only then).
    pub started: bool,
    /// No purchase token is free: nobody else is admitted until one comes back.
    pub sold_out: bool,
    /// The sale was cancelled or is over: nobody is admitted.
    pub closed: bool,
    /// Buyers admitted so far, early joiners first.
    pub admitted: u64,
    /// Buyers who joined before the start (fixed once the sale starts).
    pub early_joiners: u64,
    /// Early joiners with a lottery number up to this one are admitted.
    pub early_threshold: u64,
    /// Late joiners admitted so far.
    pub late_admitted: u64,
    /// Late joiners who arrived at or before this time (ms since the epoch) are admitted; 0
    /// while none is.
    #[serde(default)]
    pub late_admitted_until_ms: i64,
    /// The latest arrival the core has counted (ms since the epoch; 0 while none): with
    /// `late_admitted_until_ms`, where a late ticket stands among the late joiners.
    #[serde(default)]
    pub last_arrival_ms: i64,
    /// Buyers in the queue, admitted or not.
    pub joined: u64,
    /// The pace the queue moves at, buyers per minute: the sale's rate, or slower while
    /// admission waits for admitted buyers to check out. Waits are estimated from it.
    pub admission_rate_per_minute: u32,
    /// Sold out with units in checkouts: when the first of those lapses unless its buyer
    /// pays, the earliest a unit can come back and the queue move again. Absent otherwise
    /// (and from cores that predate it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_may_return_at: Option<DateTime<Utc>>,
    /// With it, when the last hold lapses unless its buyer pays: units may come back until
    /// then, so buyers told "sold out" are sent back at moments spread between the two.
    /// Absent otherwise (and from cores that predate it: then the first counts for both).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_unit_may_return_at: Option<DateTime<Utc>>,
}

impl AdmissionCursor {
    /// Whether this cursor admits the ticket.
    pub fn admits(&self, ticket: &QueueTicket) -> bool {
        if !self.started || self.closed {
            return false;
        }
        match ticket.place {
            Place::BeforeStart { lottery } => self.admitted > 0 && lottery <= self.early_threshold,
            Place::AfterStart { arrived_ms } => arrived_ms <= self.late_admitted_until_ms,
        }
    }

    /// Buyers still ahead of the ticket, itself included (estimated: the exact rank only the
    /// core's sorted sets know). Before the start, among those who joined so far: more may
    /// join, so it can grow until the start.
    pub fn ahead_of(&self, ticket: &QueueTicket) -> u64 {
        if self.admits(ticket) {
            return 0;
        }
        let rank = match ticket.place {
            Place::BeforeStart { lottery } => {
                // The lottery is uniform, so its fraction of the span estimates the rank.
                (u128::from(lottery) * u128::from(self.early_joiners) / u128::from(LOTTERY_SPAN))
                    as u64
            }
            Place::AfterStart { arrived_ms } => self
                .early_joiners
                .saturating_add(self.late_rank(arrived_ms)),
        };
        rank.saturating_sub(self.admitted).saturating_add(1)
    }

    /// Late joiners who arrived before `arrived_ms`, estimated from the two arrival times the
    /// cursor knows (admitted up to, or the start; last counted), as if arrivals came at an
    /// even rate between them; all those counted for an arrival the core has not heard of yet.
    fn late_rank(&self, arrived_ms: i64) -> u64 {
        let late_joined = self.joined.saturating_sub(self.early_joiners);
        let from = if self.late_admitted_until_ms > 0 {
            self.late_admitted_until_ms
        } else {
            self.starts_at.timestamp_millis()
        };
        let to = self.last_arrival_ms;
        if arrived_ms >= to || to <= from {
            return late_joined;
        }
        let waiting = late_joined.saturating_sub(self.late_admitted);
        let share =
            (arrived_ms.max(from) - from) as u128 * u128::from(waiting) / (to - from) as u128;
        self.late_admitted.saturating_add(share as u64)
    }

    /// Seconds until `ahead` more buyers are admitted at the queue's pace.
    pub fn wait_seconds(&self, ahead: u64) -> u64 {
        let rate = u64::from(self.admission_rate_per_minute.max(1));
        (ahead.saturating_mul(60)).div_ceil(rate)
    }

    /// Whole seconds from `now` until the ticket's turn may come: the queue stands still until
    /// the start (or, sold out, until a held unit may come back), then moves at the queue's
    /// pace. Before the start it counts the buyers who joined so far, so the turn can come
    /// later than said (if more join), not much sooner. `None` once the sale is closed.
    pub fn estimated_wait_seconds(&self, ticket: &QueueTicket, now: DateTime<Utc>) -> Option<u64> {
        if self.closed {
            return None;
        }
        let ahead = self.ahead_of(ticket);
        if ahead == 0 {
            return Some(0);
        }
        let standstill = if self.started {
            self.seconds_until_a_unit_may_return(now).unwrap_or(0)
        } else {
            whole_seconds_until(self.starts_at, now)
        };
        Some(standstill + self.wait_seconds(ahead))
    }

    /// What `buyer`'s checkout is told at `now` if the pool is as this cursor says: nothing
    /// while a token is free, before the start, once closed, or when a held unit is already
    /// due back (the core knows whether it came).
    pub fn sold_out_answer(&self, buyer: UserId, now: DateTime<Utc>) -> Option<SoldOut> {
        if !self.started || self.closed || !self.sold_out {
            return None;
        }
        match self.unit_may_return_at {
            None => Some(SoldOut::ForGood),
            Some(first) if first > now => {
                let last = self.last_unit_may_return_at.unwrap_or(first);
                Some(SoldOut::all_held_for(
                    buyer,
                    now.timestamp_millis(),
                    first.timestamp_millis(),
                    last.timestamp_millis(),
                ))
            }
            Some(_) => None,
        }
    }

    /// Sold out with units held: whole seconds from `now` until the first may come back (at
    /// least one, as the sweep that returns it runs after the deadline).
    pub fn seconds_until_a_unit_may_return(&self, now: DateTime<Utc>) -> Option<u64> {
        let at = self.unit_may_return_at.filter(|_| self.sold_out)?;
        Some(whole_seconds_until(at, now).max(1))
    }
}

/// A checkout's answer when no purchase token is free: every unit is sold for good, or every
/// unit is sold or in a checkout that may lapse. The core gives it after its claim; the edge
/// gives the same from a cursor it fetched moments ago, so most of a sold-out sale's buyers
/// never reach the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SoldOut {
    ForGood,
    /// The first held unit may come back in this many seconds (at least one).
    AllHeld {
        retry_after_seconds: u64,
    },
}

impl SoldOut {
    /// The error code of either answer.
    pub const CODE: &'static str = "sold_out";

    /// Every unit held, the first due back in `wait_ms`.
    pub fn all_held(wait_ms: i64) -> Self {
        SoldOut::AllHeld {
            retry_after_seconds: (wait_ms.max(0) as u64).div_ceil(1000).max(1),
        }
    }

    /// Every unit held, as `buyer` asking at `now_ms` is told: the holds end between
    /// `first_ms` and `last_ms` (ms since the epoch), and the buyer is sent back at a moment
    /// between the two (at most [`HELD_RETRY_SPREAD_MS`] past the first), drawn from the
    /// buyer and the second they asked in. Most holds end paid, so at the first deadline one
    /// unit at most comes back: sending every waiting buyer back then brought them all back
    /// at once, again and again, and each time but one was told "sold out" again (29,000 to
    /// 48,000 such answers in a sale of 10,000 units). Spread, a unit that does come back is
    /// still taken within moments, by whichever waiting buyer comes next.
    pub fn all_held_for(buyer: UserId, now_ms: i64, first_ms: i64, last_ms: i64) -> Self {
        let first = first_ms.saturating_sub(now_ms).max(0) as u64;
        let span = last_ms
            .saturating_sub(first_ms)
            .clamp(0, HELD_RETRY_SPREAD_MS) as u64;
        let second = (now_ms / 1000) as u64;
        let draw = spread_draw(buyer.get() as u64 ^ second.rotate_left(32));
        SoldOut::all_held((first + draw % (span + 1)) as i64)
    }

    pub fn message(self) -> &'static str {
        match self {
            SoldOut::ForGood => "the flash sale is sold out",
            SoldOut::AllHeld { .. } => {
                "every unit is sold or in a checkout; one may come back if its buyer does not pay"
            }
        }
    }

    /// The whole error body, as every endpoint answers errors.
    pub fn error_body(self) -> ErrorBody {
        let mut body = ErrorBody::new(Self::CODE, self.message());
        body.error.details = Some(self.details());
        body
    }

    /// The error's details: whether to ask again, and when.
    pub fn details(self) -> serde_json::Value {
        match self {
            SoldOut::ForGood => serde_json::json!({ "unitsMayReturn": false }),
            SoldOut::AllHeld {
                retry_after_seconds,
            } => serde_json::json!({
                "unitsMayReturn": true,
                "retryAfterSeconds": retry_after_seconds,
            }),
        }
    }
}

/// The longest a buyer told "sold out" while units are held is sent away past the first
/// hold's end: the holds of a sale with the default five-minute TTL end over five minutes,
/// and a buyer told to come back that much later may have left by then.
pub const HELD_RETRY_SPREAD_MS: i64 = 60_000;

/// A well-mixed number from `seed` (SplitMix64's finaliser): neighbouring buyer ids and
/// seconds give unrelated draws.
fn spread_draw(seed: u64) -> u64 {
    let mut z = seed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Whole seconds from `now` until `at`, rounded up (a wait told in seconds must not end
/// early); none once `at` has passed.
pub fn whole_seconds_until(at: DateTime<Utc>, now: DateTime<Utc>) -> u64 {
    ((at - now).num_milliseconds().max(0) as u64).div_ceil(1000)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BUYER: UserId = UserId::new(7);

    #[test]
    fn buyers_told_sold_out_while_units_are_held_come_back_spread_over_the_holds() {
        let now = DateTime::from_timestamp(1_700_000_100, 0).unwrap();
        let mut sold = cursor(10, 10, LOTTERY_SPAN, 0);
        sold.sold_out = true;
        sold.unit_may_return_at = Some(now + chrono::TimeDelta::milliseconds(800));
        sold.last_unit_may_return_at = Some(now + chrono::TimeDelta::milliseconds(20_000));
        let mut told = [0_u32; 21];
        for buyer in 1..=2_000 {
            match sold.sold_out_answer(UserId::new(buyer), now) {
                Some(SoldOut::AllHeld {
                    retry_after_seconds,
                }) => told[retry_after_seconds as usize] += 1,
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(told[0], 0, "never before the first hold ends");
        // Even over the 20 s the holds end in: about 100 buyers a second.
        for (second, buyers) in told.iter().enumerate().skip(2) {
            assert!((50..=150).contains(buyers), "{second} s: {buyers} buyers");
        }
        // The same buyer a second later is told another moment, not always the last one.
        let later = now + chrono::TimeDelta::seconds(1);
        let moments: std::collections::HashSet<_> = (0..20)
            .map(|s| {
                let at = now + chrono::TimeDelta::seconds(s);
                SoldOut::all_held_for(
                    BUYER,
                    at.timestamp_millis(),
                    later.timestamp_millis(),
                    (later + chrono::TimeDelta::seconds(20)).timestamp_millis(),
                )
            })
            .collect();
        assert!(moments.len() > 5, "{moments:?}");

        // Holds that end together (or a core that says only the first): the first for all.
        sold.last_unit_may_return_at = None;
        assert_eq!(
            sold.sold_out_answer(UserId::new(99), now),
            Some(SoldOut::AllHeld {
                retry_after_seconds: 1
            })
        );
        // A five-minute spread of holds sends nobody away for longer than a minute past the first.
        let far = (1..=2_000)
            .map(
                |b| match SoldOut::all_held_for(UserId::new(b), 0, 1_000, 300_000) {
                    SoldOut::AllHeld {
                        retry_after_seconds,
                    } => retry_after_seconds,
                    SoldOut::ForGood => 0,
                },
            )
            .max();
        assert_eq!(far, Some(61));
    }

    #[test]
    fn a_cursor_tells_a_checkout_sold_out_only_while_no_token_is_free_and_none_is_due() {
        let now = DateTime::from_timestamp(1_700_000_100, 0).unwrap();
        let mut sold = cursor(10, 10, LOTTERY_SPAN, 0);
        assert_eq!(sold.sold_out_answer(BUYER, now), None, "a token is free");
        sold.sold_out = true;
        assert_eq!(sold.sold_out_answer(BUYER, now), Some(SoldOut::ForGood));
        sold.unit_may_return_at = Some(now + chrono::TimeDelta::milliseconds(2_001));
        assert_eq!(
            sold.sold_out_answer(BUYER, now),
            Some(SoldOut::AllHeld {
                retry_after_seconds: 3
            })
        );
        sold.unit_may_return_at = Some(now);
        assert_eq!(sold.sold_out_answer(BUYER, now), None, "due back now");
        sold.unit_may_return_at = None;
        sold.closed = true;
        assert_eq!(
            sold.sold_out_answer(BUYER, now),
            None,
            "closed: the core says so"
        );
        assert_eq!(
            SoldOut::all_held(-5),
            SoldOut::AllHeld {
                retry_after_seconds: 1
            }
        );
    }

    fn key() -> AdmissionKey {
        AdmissionKey::from_secret("a-development-admission-secret-of-some-length").unwrap()
    }

    fn ticket(place: Place) -> QueueTicket {
        QueueTicket {
            sale: FlashSaleId::new(7),
            user: UserId::new(42),
            ticket_id: uuid::Uuid::from_u128(1),
            place,
            joined_at: 1_700_000_000,
        }
    }

    fn cursor(admitted: u64, early: u64, threshold: u64, late: u64) -> AdmissionCursor {
        AdmissionCursor {
            flash_sale_id: FlashSaleId::new(7),
            starts_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            started: true,
            sold_out: false,
            closed: false,
            admitted,
            early_joiners: early,
            early_threshold: threshold,
            late_admitted: late,
            // The n-th late joiner arrived n seconds after the start.
            late_admitted_until_ms: if late > 0 { arrived(late) } else { 0 },
            last_arrival_ms: arrived(late + 10),
            joined: early + late + 10,
            admission_rate_per_minute: 600,
            unit_may_return_at: None,
            last_unit_may_return_at: None,
        }
    }

    /// When the `n`-th late joiner (1-based) arrived in the tests: n seconds after the start.
    fn arrived(n: u64) -> i64 {
        1_700_000_000_000 + n as i64 * 1000
    }

    fn late(n: u64) -> QueueTicket {
        ticket(Place::AfterStart {
            arrived_ms: arrived(n),
        })
    }

    #[test]
    fn a_buyer_gets_one_lottery_number_and_one_ticket_id_however_often_they_join() {
        let (sale, user) = (FlashSaleId::new(7), UserId::new(42));
        let start = DateTime::from_timestamp(1_700_000_000, 0).unwrap();
        let before = start - chrono::TimeDelta::seconds(60);
        let first = QueueTicket::joined(&key(), sale, user, before, start);
        let again = QueueTicket::joined(
            &key(),
            sale,
            user,
            before + chrono::TimeDelta::seconds(30),
            start,
        );
        assert_eq!(first.place, again.place, "joining again draws nothing new");
        assert_eq!(first.ticket_id, again.ticket_id);
        assert!(matches!(first.place, Place::BeforeStart { lottery } if lottery < LOTTERY_SPAN));
        // Another buyer, another sale or another key: another number.
        let other_key =
            AdmissionKey::from_secret("another-admission-secret-entirely-different").unwrap();
        for (k, s, u) in [
            (key(), sale, UserId::new(43)),
            (key(), FlashSaleId::new(8), user),
            (other_key, sale, user),
        ] {
            assert_ne!(k.lottery(s, u), key().lottery(sale, user));
            assert_ne!(k.ticket_id(s, u), first.ticket_id);
        }
        let after = start + chrono::TimeDelta::milliseconds(1_234);
        let late = QueueTicket::joined(&key(), sale, user, after, start);
        assert_eq!(
            late.place,
            Place::AfterStart {
                arrived_ms: after.timestamp_millis()
            }
        );
        assert_eq!(
            late.ticket_id, first.ticket_id,
            "one ticket id per buyer and sale"
        );
        let at_start = QueueTicket::joined(&key(), sale, user, start, start);
        assert!(
            matches!(at_start.place, Place::AfterStart { .. }),
            "the start is after it"
        );
    }

    #[test]
    fn lottery_numbers_spread_over_the_whole_span() {
        let numbers: Vec<u64> = (0..10_000)
            .map(|u| key().lottery(FlashSaleId::new(7), UserId::new(u)))
            .collect();
        assert!(numbers.iter().all(|n| *n < LOTTERY_SPAN));
        // Uniform: each tenth of the span holds about a tenth of the buyers.
        for tenth in 0..10 {
            let (lo, hi) = (LOTTERY_SPAN / 10 * tenth, LOTTERY_SPAN / 10 * (tenth + 1));
            let count = numbers.iter().filter(|n| (lo..hi).contains(*n)).count();
            assert!((850..1150).contains(&count), "tenth {tenth}: {count}");
        }
    }

    #[test]
    fn a_late_place_is_estimated_between_the_admitted_and_the_last_arrival() {
        // 100 early joiners, 100 late: 20 late admitted (until the 20th's arrival), the last
        // counted arrival the 100th's.
        let mut c = cursor(120, 100, LOTTERY_SPAN, 20);
        c.joined = 200;
        c.last_arrival_ms = arrived(100);
        assert_eq!(c.ahead_of(&late(20)), 0, "admitted");
        // Halfway between the 20th and the 100th: about the 60th.
        assert_eq!(c.ahead_of(&late(60)), 60 - 20 + 1);
        assert_eq!(c.ahead_of(&late(100)), 100 - 20 + 1);
        // An arrival the core has not counted yet: behind everyone counted.
        assert_eq!(c.ahead_of(&late(500)), 100 - 20 + 1);
        // Nobody late admitted yet: counted from the start, when the first could arrive.
        let mut none = cursor(50, 100, LOTTERY_SPAN / 2, 0);
        none.joined = 200;
        none.last_arrival_ms = arrived(100);
        assert_eq!(none.ahead_of(&late(50)), 100 + 50 - 50 + 1);
    }

    #[test]
    fn a_held_unit_may_come_back_only_while_sold_out() {
        let now = DateTime::from_timestamp(1_700_000_100, 0).unwrap();
        let mut c = cursor(10, 5, 0, 5);
        c.unit_may_return_at = Some(now + chrono::TimeDelta::milliseconds(12_300));
        assert_eq!(c.seconds_until_a_unit_may_return(now), None, "not sold out");
        c.sold_out = true;
        assert_eq!(c.seconds_until_a_unit_may_return(now), Some(13));
        // Past the deadline, the sweep has yet to return it.
        let later = now + chrono::TimeDelta::seconds(60);
        assert_eq!(c.seconds_until_a_unit_may_return(later), Some(1));
        c.unit_may_return_at = None;
        assert_eq!(c.seconds_until_a_unit_may_return(now), None);
    }

    #[test]
    fn a_signed_ticket_verifies_for_its_buyer_and_sale_only() {
        let t = late(3);
        let signed = key().sign_ticket(&t).unwrap();
        assert_eq!(key().verify_ticket(&signed, t.sale, t.user).unwrap(), t);
        assert!(
            key()
                .verify_ticket(&signed, t.sale, UserId::new(43))
                .is_err()
        );
        assert!(
            key()
                .verify_ticket(&signed, FlashSaleId::new(8), t.user)
                .is_err()
        );
    }

    #[test]
    fn forged_tampered_and_mistyped_tokens_are_refused() {
        let t = late(3);
        let signed = key().sign_ticket(&t).unwrap();
        let other =
            AdmissionKey::from_secret("another-admission-secret-entirely-different").unwrap();
        assert!(other.verify_ticket(&signed, t.sale, t.user).is_err());
        // A better place, same signature.
        let (head, tag) = signed.rsplit_once('.').unwrap();
        let better = late(1);
        let forged_payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&better).unwrap());
        let forged = format!("{TICKET}.{forged_payload}.{tag}");
        assert_ne!(head, format!("{TICKET}.{forged_payload}"));
        assert!(key().verify_ticket(&forged, t.sale, t.user).is_err());
        // A ticket is not an admission, whatever it contains.
        assert!(key().verify_admission(&signed, t.sale, t.user, 0).is_err());
        assert!(key().verify_ticket("", t.sale, t.user).is_err());
        assert!(
            key()
                .verify_ticket(&"x".repeat(5000), t.sale, t.user)
                .is_err()
        );
    }

    #[test]
    fn admissions_expire_and_stay_with_their_buyer() {
        let t = ticket(Place::BeforeStart { lottery: 5 });
        let admission = AdmissionToken::for_ticket(&t, 1_000);
        let signed = key().sign_admission(&admission).unwrap();
        let ok = key()
            .verify_admission(&signed, t.sale, t.user, 1_000 + ADMISSION_TTL_SECONDS - 1)
            .unwrap();
        assert_eq!(ok.ticket_id, t.ticket_id);
        assert!(
            key()
                .verify_admission(&signed, t.sale, t.user, 1_000 + ADMISSION_TTL_SECONDS)
                .is_err()
        );
        assert!(
            key()
                .verify_admission(&signed, t.sale, UserId::new(1), 1_000)
                .is_err()
        );
    }

    #[test]
    fn short_secrets_are_refused() {
        assert!(AdmissionKey::from_secret("short").is_err());
    }

    #[test]
    fn early_joiners_go_in_lottery_order_then_late_joiners_by_arrival() {
        let low = ticket(Place::BeforeStart { lottery: 10 });
        let high = ticket(Place::BeforeStart { lottery: 1 << 50 });
        let first_late = late(1);
        let nobody_yet = cursor(0, 100, 0, 0);
        assert!(!nobody_yet.admits(&low));
        let some_early = cursor(1, 100, 10, 0);
        assert!(
            some_early.admits(&low) && !some_early.admits(&high) && !some_early.admits(&first_late)
        );
        let all_early = cursor(101, 100, LOTTERY_SPAN, 1);
        assert!(all_early.admits(&high) && all_early.admits(&first_late));
        assert!(!all_early.admits(&late(2)), "arrived a moment later");
        let mut not_started = all_early.clone();
        not_started.started = false;
        assert!(!not_started.admits(&low));
        let mut closed = all_early;
        closed.closed = true;
        assert!(!closed.admits(&first_late));
    }

    #[test]
    fn before_the_start_the_wait_counts_from_it_among_those_who_joined_so_far() {
        let now = DateTime::from_timestamp(1_700_000_000 - 60, 0).unwrap();
        let mut c = cursor(0, 1_000, 0, 0);
        c.started = false;
        let middle = ticket(Place::BeforeStart {
            lottery: LOTTERY_SPAN / 2,
        });
        // Half of the 1,000 who joined so far go first: 501 at 600 a minute, from the start.
        assert_eq!(c.ahead_of(&middle), 501);
        assert_eq!(c.estimated_wait_seconds(&middle, now), Some(60 + 51));
        // Twice as many joiners later: the same ticket's turn comes later, not sooner.
        c.early_joiners = 2_000;
        assert_eq!(c.estimated_wait_seconds(&middle, now), Some(60 + 101));
        let first = ticket(Place::BeforeStart { lottery: 0 });
        assert_eq!(c.estimated_wait_seconds(&first, now), Some(60 + 1));
        // A clock past a start the cursor has not seen yet: no negative standstill.
        let late = now + chrono::TimeDelta::seconds(90);
        assert_eq!(c.estimated_wait_seconds(&first, late), Some(1));
        c.closed = true;
        assert_eq!(c.estimated_wait_seconds(&middle, now), None);
    }

    #[test]
    fn the_wait_follows_the_rate() {
        let mut c = cursor(10, 100, 10, 0);
        c.last_arrival_ms = arrived(10);
        // An arrival behind every early joiner: 100 early + 4 arrivals before it, 10 admitted.
        assert_eq!(c.ahead_of(&late(5)), 96);
        assert_eq!(c.wait_seconds(96), 10);
        let middle = ticket(Place::BeforeStart {
            lottery: LOTTERY_SPAN / 2,
        });
        assert_eq!(c.ahead_of(&middle), 41);
    }
}
