//! What a remembered token saves: the same access token checked again and again, as a buyer
//! polling the waiting room sends it, by a full Ed25519 verification (the baseline) and through
//! [`VerifiedTokens`] (one SHA-256 and a map lookup), in the same run.
//!
//! ```text
//! cargo bench -p shared-model --bench token_verify
//! ```
//!
//! Native figures; in a Worker's Wasm (V8) both are slower (about 200 µs and 4 µs).

use std::hint::black_box;
use std::time::{Duration, Instant};

use ed25519_dalek::SigningKey;
use shared_model::auth::{self, Claims, Role};
use shared_model::ids::{SessionId, UserId};
use shared_model::verified_tokens::VerifiedTokens;

const ROUNDS: u32 = 20_000;
const NOW: i64 = 1_700_000_000;

fn main() {
    let signer = SigningKey::from_bytes(&[7; 32]);
    let key = signer.verifying_key();
    let claims = Claims::new(
        UserId::new(42),
        Role::Customer,
        SessionId(uuid::Uuid::from_u128(42)),
        NOW,
    );
    let token = auth::sign(&claims, &signer).expect("the token signs");
    let remembered = VerifiedTokens::new(1_000);

    let full = per_call(|| auth::verify(black_box(&token), &key, NOW + 1));
    let cached = per_call(|| remembered.verify(black_box(&token), &key, NOW + 1));
    println!(
        "token_verify  full Ed25519 check (baseline): {:>8.2} µs per token",
        micros(full)
    );
    println!(
        "token_verify  remembered token:               {:>8.2} µs per token",
        micros(cached)
    );
    println!(
        "token_verify  speed-up: {:.0}x",
        full.as_secs_f64() / cached.as_secs_f64()
    );
}

/// The mean time of one call over `ROUNDS`, after a warm-up; every call must succeed.
fn per_call<T, E: std::fmt::Debug>(mut call: impl FnMut() -> Result<T, E>) -> Duration {
    for _ in 0..ROUNDS / 10 {
        call().expect("the token verifies");
    }
    let started = Instant::now();
    for _ in 0..ROUNDS {
        black_box(call().expect("the token verifies"));
    }
    started.elapsed() / ROUNDS
}

fn micros(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
