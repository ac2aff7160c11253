//! The hot copy of a sale in Redis: the pool of free purchase tokens with the claims on it, and
//! the waiting room's queue with its admission cursor. Every key of one sale shares a hash tag,
//! so each script touches one cluster slot. PostgreSQL's `flash_sale_tokens` is the record the
//! pool is rebuilt from; the queue lives here alone.

use std::sync::LazyLock;

use redis::Script;
use shared_model::flash_sale::{LOTTERY_SPAN, Place, QueueTicket};
use shared_model::ids::{CheckoutId, FlashSaleId, UserId};

use crate::kv::Redis;

static CLAIM: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/claim.lua")));
static GIVE_BACK: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/give_back.lua")));
static REBUILD: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("lua/rebuild.lua")));
static ADMISSION: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/admission.lua")));
static RECORD_JOINS: LazyLock<Script> =
    LazyLock::new(|| Script::new(include_str!("lua/record_joins.lua")));

/// The keys of one sale.
#[derive(Debug, Clone)]
pub struct SaleKeys {
    base: String,
}

impl SaleKeys {
    pub fn new(redis: &Redis, sale: FlashSaleId) -> Self {
        SaleKeys {
            base: redis.key(&format!("fs:{{{sale}}}:")),
        }
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.base)
    }

    fn pool(&self) -> [String; 6] {
        ["warm", "free", "buyers", "used", "claims", "deadlines"].map(|k| self.key(k))
    }

    fn queue(&self) -> [String; 5] {
        ["joined", "early", "arrivals", "cursor", "history"].map(|k| self.key(k))
    }
}

/// What the claim script decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    Claimed(Vec<i32>),
    /// The pool is not in Redis (never loaded, or Redis lost it): rebuild, then ask again.
    Cold,
    /// This admission already bought.
    Replayed,
    /// The buyer already holds the sale's limit.
    Limit,
    /// Every token is sold or held, and the holds lapse between these times (ms since the
    /// epoch) unless their buyers pay: units may come back from the first until the last.
    AllHeld {
        until_ms: i64,
        last_ms: i64,
    },
    /// Every token is sold.
    SoldOut,
}

/// One checkout's claim on a sale's pool.
#[derive(Debug, Clone)]
pub struct ClaimRequest {
    pub checkout: CheckoutId,
    pub user: UserId,
    pub quantity: u32,
    pub per_buyer_limit: u32,
    pub admission: uuid::Uuid,
    /// When the claim lapses unless sold (the checkout's reservation deadline).
    pub deadline_ms: i64,
}

pub async fn claim(
    redis: &Redis,
    keys: &SaleKeys,
    request: &ClaimRequest,
) -> redis::RedisResult<ClaimOutcome> {
    let mut conn = redis.connection().await?;
    let mut call = CLAIM.prepare_invoke();
    for key in keys.pool() {
        call.key(key);
    }
    let answer: Vec<redis::Value> = call
        .arg(request.checkout.to_string())
        .arg(request.user.get())
        .arg(request.quantity)
        .arg(request.per_buyer_limit)
        .arg(request.admission.to_string())
        .arg(request.deadline_ms)
        .invoke_async(&mut conn)
        .await?;
    let text = |v: &redis::Value| -> String { redis::from_redis_value(v).unwrap_or_default() };
    match answer.split_first() {
        Some((redis::Value::Int(1), tokens)) => Ok(ClaimOutcome::Claimed(
            tokens.iter().filter_map(|t| text(t).parse().ok()).collect(),
        )),
        Some((_, [reason, until, last])) if text(reason) == "held" => {
            let until_ms = text(until).parse().unwrap_or_default();
            Ok(ClaimOutcome::AllHeld {
                until_ms,
                last_ms: text(last).parse().unwrap_or(until_ms),
            })
        }
        Some((_, [reason])) => Ok(match text(reason).as_str() {
            "cold" => ClaimOutcome::Cold,
            "replayed" => ClaimOutcome::Replayed,
            "limit" => ClaimOutcome::Limit,
            _ => ClaimOutcome::SoldOut,
        }),
        _ => Err(redis::RedisError::from((
            redis::ErrorKind::TypeError,
            "unexpected answer from the claim script",
        ))),
    }
}

/// Returns a checkout's claim to the pool; `forget_admission` lets its admission buy again.
/// Answers the tokens returned (0 when the claim was already settled).
pub async fn give_back(
    redis: &Redis,
    keys: &SaleKeys,
    checkout: CheckoutId,
    forget_admission: bool,
) -> redis::RedisResult<u32> {
    let mut conn = redis.connection().await?;
    let mut call = GIVE_BACK.prepare_invoke();
    for key in keys.pool() {
        call.key(key);
    }
    call.arg(checkout.to_string())
        .arg(if forget_admission { "1" } else { "0" })
        .invoke_async(&mut conn)
        .await
}

/// Forgets a sold checkout's claim: its tokens stay out of the pool for good.
pub async fn sold(redis: &Redis, keys: &SaleKeys, checkout: CheckoutId) -> redis::RedisResult<()> {
    let [_, _, _, _, claims, deadlines] = keys.pool();
    let mut conn = redis.connection().await?;
    redis::pipe()
        .atomic()
        .hdel(claims, checkout.to_string())
        .ignore()
        .zrem(deadlines, checkout.to_string())
        .ignore()
        .query_async(&mut conn)
        .await
}

/// Claims whose deadline passed before `before_ms`, at most `limit`.
pub async fn overdue_claims(
    redis: &Redis,
    keys: &SaleKeys,
    before_ms: i64,
    limit: isize,
) -> redis::RedisResult<Vec<CheckoutId>> {
    let [_, _, _, _, _, deadlines] = keys.pool();
    let mut conn = redis.connection().await?;
    let ids: Vec<String> = redis::cmd("ZRANGE")
        .arg(deadlines)
        .arg("-inf")
        .arg(before_ms)
        .arg("BYSCORE")
        .arg("LIMIT")
        .arg(0)
        .arg(limit)
        .query_async(&mut conn)
        .await?;
    Ok(ids
        .iter()
        .filter_map(|id| uuid::Uuid::parse_str(id).ok().map(CheckoutId))
        .collect())
}

/// A token some checkout holds, as PostgreSQL records it.
#[derive(Debug, Clone)]
pub struct HeldToken {
    pub token: i32,
    pub user: i64,
    pub admission: uuid::Uuid,
    /// The claiming checkout while it runs; `None` once sold.
    pub checkout: Option<uuid::Uuid>,
    pub deadline_ms: i64,
}

/// Loads the pool from the record; `force` replaces a loaded pool. Answers the free tokens,
/// or `None` when a loaded pool was kept.
pub async fn rebuild(
    redis: &Redis,
    keys: &SaleKeys,
    units: u32,
    held: &[HeldToken],
    used_admissions: &[uuid::Uuid],
    force: bool,
) -> redis::RedisResult<Option<u32>> {
    let mut conn = redis.connection().await?;
    let mut call = REBUILD.prepare_invoke();
    for key in keys.pool() {
        call.key(key);
    }
    call.arg(if force { "1" } else { "0" })
        .arg(units)
        .arg(held.len());
    for h in held {
        call.arg(h.token)
            .arg(h.user)
            .arg(h.admission.to_string())
            .arg(h.checkout.map(|c| c.to_string()).unwrap_or_default())
            .arg(h.deadline_ms);
    }
    for admission in used_admissions {
        call.arg(admission.to_string());
    }
    let free: i64 = call.invoke_async(&mut conn).await?;
    Ok(u32::try_from(free).ok())
}

/// Whether the pool is loaded, and how many tokens are free.
pub async fn free_tokens(redis: &Redis, keys: &SaleKeys) -> redis::RedisResult<Option<u32>> {
    let [warm, free, ..] = keys.pool();
    let mut conn = redis.connection().await?;
    let (warm, free): (bool, u32) = redis::pipe()
        .exists(warm)
        .scard(free)
        .query_async(&mut conn)
        .await?;
    Ok(warm.then_some(free))
}

/// Where admission stands after advancing it to `now_ms`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Admission {
    pub admitted: u64,
    pub early_joiners: u64,
    pub early_threshold: u64,
    pub late_joiners: u64,
    pub sold_out: bool,
    /// Sold out with a token held: the first hold's deadline (ms since the epoch), when its
    /// unit comes back unless its buyer pays.
    pub unit_may_return_at_ms: Option<i64>,
    /// With it, the last hold's deadline: units may come back until then.
    pub last_unit_may_return_at_ms: Option<i64>,
    /// Buyers admitted per minute lately: the sale's rate, or slower while admission waits
    /// for checkouts (or for buyers to join).
    pub pace_per_minute: u32,
    /// Late joiners who arrived at or before this time (ms since the epoch) are admitted; 0
    /// while none is.
    pub late_admitted_until_ms: i64,
    /// The latest arrival counted (ms since the epoch; 0 while none).
    pub last_arrival_ms: i64,
}

/// How fast admission may move.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pace {
    pub rate_per_minute: u32,
    /// Admitted buyers not yet holding a token, at most, counting only those admitted less
    /// than `active_for_ms` ago.
    pub max_active: u32,
    pub active_for_ms: i64,
    /// Once every counted buyer is admitted, buyers who arrived this long ago are admitted
    /// even if their join was never counted (a lost report).
    pub uncounted_after_ms: i64,
}

pub async fn advance_admission(
    redis: &Redis,
    keys: &SaleKeys,
    now_ms: i64,
    start_ms: i64,
    pace: Pace,
) -> redis::RedisResult<Admission> {
    let [_, early, arrivals, cursor, history] = keys.queue();
    let [warm, free, _, used, _, deadlines] = keys.pool();
    let mut conn = redis.connection().await?;
    let answer: Vec<i64> = ADMISSION
        .key(cursor)
        .key(early)
        .key(arrivals)
        .key(free)
        .key(warm)
        .key(deadlines)
        .key(used)
        .key(history)
        .arg(now_ms)
        .arg(start_ms)
        .arg(pace.rate_per_minute)
        .arg(LOTTERY_SPAN)
        .arg(pace.max_active)
        .arg(pace.active_for_ms)
        .arg(pace.uncounted_after_ms)
        .invoke_async(&mut conn)
        .await?;
    let at = |i: usize| answer.get(i).copied().unwrap_or(0).max(0) as u64;
    Ok(Admission {
        admitted: at(0),
        early_joiners: at(1),
        early_threshold: at(2),
        late_joiners: at(3),
        sold_out: at(4) == 1,
        unit_may_return_at_ms: answer.get(5).copied().filter(|ms| *ms > 0),
        // The script answers it between 1 and the rate.
        pace_per_minute: answer
            .get(6)
            .and_then(|&p| u32::try_from(p).ok())
            .unwrap_or(pace.rate_per_minute),
        late_admitted_until_ms: answer.get(7).copied().unwrap_or(0).max(0),
        last_arrival_ms: answer.get(8).copied().unwrap_or(0).max(0),
        last_unit_may_return_at_ms: answer.get(9).copied().filter(|ms| *ms > 0),
    })
}

/// A buyer's place in a sale's queue, as `record_joins.lua` keeps it: what their ticket says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KeptPlace {
    pub ticket_id: uuid::Uuid,
    pub place: Place,
    pub joined_at: i64,
}

impl KeptPlace {
    pub fn of(ticket: &QueueTicket) -> Self {
        KeptPlace {
            ticket_id: ticket.ticket_id,
            place: ticket.place,
            joined_at: ticket.joined_at,
        }
    }

    /// `ticket id|early or arrived|lottery number or arrival ms|joined at`.
    fn format(&self) -> String {
        let (kind, number) = match self.place {
            Place::BeforeStart { lottery } => ("early", lottery.to_string()),
            Place::AfterStart { arrived_ms } => ("arrived", arrived_ms.to_string()),
        };
        format!("{}|{kind}|{number}|{}", self.ticket_id, self.joined_at)
    }

    fn parse(kept: &str) -> Option<Self> {
        let mut parts = kept.split('|');
        let ticket_id = parts.next()?.parse().ok()?;
        let place = match (parts.next()?, parts.next()?) {
            ("early", n) => Place::BeforeStart {
                lottery: n.parse().ok()?,
            },
            ("arrived", n) => Place::AfterStart {
                arrived_ms: n.parse().ok()?,
            },
            _ => return None,
        };
        let joined_at = parts.next()?.parse().ok()?;
        parts.next().is_none().then_some(KeptPlace {
            ticket_id,
            place,
            joined_at,
        })
    }
}

/// What recording a buyer's place found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Joined {
    /// This join put the buyer in the queue.
    New(KeptPlace),
    /// The buyer joined before.
    Existing(KeptPlace),
    /// The buyer joined before, under a core that kept the signed ticket instead of the place
    /// (empty while that join was signing it): a sale that was live across the upgrade.
    Signed(String),
}

/// Records each buyer's place in the sale's queue, unless they have one: a join at the core,
/// or tickets the edge gave. Answers, per buyer, what was kept.
pub async fn record_joins(
    redis: &Redis,
    keys: &SaleKeys,
    joins: &[(UserId, KeptPlace)],
) -> redis::RedisResult<Vec<Joined>> {
    if joins.is_empty() {
        return Ok(Vec::new());
    }
    let [joined, early, arrivals, _, _] = keys.queue();
    let mut call = RECORD_JOINS.prepare_invoke();
    call.key(joined).key(early).key(arrivals);
    for (user, place) in joins {
        call.arg(user.get()).arg(place.format());
    }
    let mut conn = redis.connection().await?;
    let answers: Vec<(String, String)> = call.invoke_async(&mut conn).await?;
    answers
        .into_iter()
        .map(
            |(kind, value)| match (kind.as_str(), KeptPlace::parse(&value)) {
                ("new", Some(kept)) => Ok(Joined::New(kept)),
                (_, Some(kept)) => Ok(Joined::Existing(kept)),
                ("new", None) => Err(redis::RedisError::from((
                    redis::ErrorKind::TypeError,
                    "the join script kept a place it cannot read",
                    value,
                ))),
                (_, None) => Ok(Joined::Signed(value)),
            },
        )
        .collect()
}
