//! The group commit of idempotency keys (`idempotency::batching`): keys claimed or completed
//! together are answered exactly as each alone would be, in one statement, and a batch that
//! fails is handed back so that each request gets its own answer.

use std::collections::HashSet;

use edgeshop_core::idempotency::IdempotencyKeys;
use edgeshop_core::idempotency::store::{self, Claim, KeyOf, StoredResponse};
use futures_util::future::join_all;
use sqlx::PgPool;

fn key(name: &str) -> KeyOf {
    KeyOf {
        scope: "user:7 POST /api/checkout/initiate".to_owned(),
        key: name.to_owned(),
    }
}

/// A request hash: 64 hex digits, as the middleware makes them.
fn hash(seed: char) -> String {
    seed.to_string().repeat(64)
}

fn response(n: u16) -> StoredResponse {
    StoredResponse {
        status: 200 + n,
        headers: vec![("content-type".to_owned(), "application/json".to_owned())],
        body: format!("{{\"n\":{n}}}").into_bytes(),
    }
}

/// The transaction that last wrote each of these keys' rows.
async fn writers(db: &PgPool, keys: &[&str]) -> HashSet<String> {
    let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
    sqlx::query_scalar::<_, String>(
        "SELECT xmin::text FROM idempotency_keys WHERE idempotency_key = ANY($1)",
    )
    .bind(&keys)
    .fetch_all(db)
    .await
    .unwrap()
    .into_iter()
    .collect()
}

async fn status_of(db: &PgPool, name: &str) -> (String, String) {
    sqlx::query_as(
        "SELECT status, request_hash FROM idempotency_keys
          WHERE scope = $1 AND idempotency_key = $2",
    )
    .bind(&key(name).scope)
    .bind(name)
    .fetch_one(db)
    .await
    .unwrap()
}

#[sqlx::test(migrations = "../migrations")]
async fn keys_claimed_together_are_each_answered_as_one_alone(db: PgPool) {
    let scope = key("").scope;
    // Keys as earlier requests left them, written one at a time.
    assert!(matches!(
        store::claim(&db, &scope, "done", &hash('d')).await.unwrap(),
        Claim::Proceed
    ));
    store::complete(&db, &scope, "done", &response(1))
        .await
        .unwrap();
    assert!(matches!(
        store::claim(&db, &scope, "running", &hash('r'))
            .await
            .unwrap(),
        Claim::Proceed
    ));
    assert!(matches!(
        store::claim(&db, &scope, "expired", &hash('e'))
            .await
            .unwrap(),
        Claim::Proceed
    ));
    sqlx::query("UPDATE idempotency_keys SET expires_at = now() - interval '1 second' WHERE idempotency_key = 'expired'")
        .execute(&db)
        .await
        .unwrap();

    let keys = IdempotencyKeys::spawn(db.clone());
    let fresh = ["a", "b", "c", "d", "e", "f"];
    let mut requests: Vec<(KeyOf, String)> = fresh.iter().map(|k| (key(k), hash('a'))).collect();
    requests.extend([
        // The same new key twice in one batch: the second is the first's duplicate in flight.
        (key("a"), hash('a')),
        (key("done"), hash('d')),
        (key("done"), hash('x')),
        (key("running"), hash('r')),
        (key("expired"), hash('z')),
    ]);
    let answers = join_all(
        requests
            .into_iter()
            .map(|(k, h)| keys.claim(k, h))
            .collect::<Vec<_>>(),
    )
    .await;
    let answers: Vec<Claim> = answers.into_iter().map(Result::unwrap).collect();

    for answer in &answers[..6] {
        assert!(matches!(answer, Claim::Proceed), "{answer:?}");
    }
    assert!(matches!(answers[6], Claim::InFlight), "{:?}", answers[6]);
    match &answers[7] {
        Claim::Replay(stored) => {
            assert_eq!(stored.status, 201);
            assert_eq!(stored.body, b"{\"n\":1}");
        }
        other => panic!("the completed key replays, not {other:?}"),
    }
    assert!(matches!(answers[8], Claim::Mismatch), "{:?}", answers[8]);
    assert!(matches!(answers[9], Claim::InFlight), "{:?}", answers[9]);
    assert!(matches!(answers[10], Claim::Proceed), "{:?}", answers[10]);

    for name in fresh {
        assert_eq!(
            status_of(&db, name).await,
            ("IN_PROGRESS".to_owned(), hash('a'))
        );
    }
    // The expired key was taken over for its new request.
    assert_eq!(
        status_of(&db, "expired").await,
        ("IN_PROGRESS".to_owned(), hash('z'))
    );
    assert_eq!(
        writers(&db, &["a", "b", "c", "d", "e", "f", "expired"])
            .await
            .len(),
        1,
        "one statement claimed every new key"
    );
}

#[sqlx::test(migrations = "../migrations")]
async fn responses_stored_together_are_each_replayed_as_stored(db: PgPool) {
    let keys = IdempotencyKeys::spawn(db.clone());
    let names = ["p", "q", "r", "s", "t"];
    for name in names {
        assert!(matches!(
            keys.claim(key(name), hash('h')).await.unwrap(),
            Claim::Proceed
        ));
    }
    let stored = join_all(
        names
            .iter()
            .enumerate()
            .map(|(n, name)| keys.complete(key(name), response(n as u16)))
            .collect::<Vec<_>>(),
    )
    .await;
    assert!(stored.iter().all(Result::is_ok), "{stored:?}");
    assert_eq!(
        writers(&db, &names).await.len(),
        1,
        "one statement stored every response"
    );
    for (n, name) in names.iter().enumerate() {
        match keys.claim(key(name), hash('h')).await.unwrap() {
            Claim::Replay(replayed) => {
                let expected = response(n as u16);
                assert_eq!(replayed.status, expected.status);
                assert_eq!(replayed.headers, expected.headers);
                assert_eq!(replayed.body, expected.body);
            }
            other => panic!("{name}: a completed key replays, not {other:?}"),
        }
    }
}

#[sqlx::test(migrations = "../migrations")]
async fn a_batch_that_fails_is_claimed_one_key_at_a_time(db: PgPool) {
    let keys = IdempotencyKeys::spawn(db.clone());
    // A hash the column cannot hold makes the batch's statement fail.
    let requests = [
        (key("k1"), hash('1')),
        (key("k2"), hash('2')),
        (key("bad"), format!("{}0", hash('3'))),
        (key("k4"), hash('4')),
    ];
    let answers = join_all(
        requests
            .iter()
            .cloned()
            .map(|(k, h)| keys.claim(k, h))
            .collect::<Vec<_>>(),
    )
    .await;
    assert!(answers[2].is_err(), "the bad request alone is refused");
    for n in [0, 1, 3] {
        assert!(matches!(answers[n], Ok(Claim::Proceed)), "{:?}", answers[n]);
    }
    assert_eq!(
        writers(&db, &["k1", "k2", "k4"]).await.len(),
        3,
        "each was claimed in its own transaction"
    );
    let left: i64 =
        sqlx::query_scalar("SELECT count(*) FROM idempotency_keys WHERE idempotency_key = 'bad'")
            .fetch_one(&db)
            .await
            .unwrap();
    assert_eq!(left, 0);
}
