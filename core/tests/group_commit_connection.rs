//! A group commit keeps its connection while requests keep coming, and gives it back to the
//! pool once none is waiting: every connection given back costs a round trip, so a busy writer
//! that took one per batch paid one per batch.

use std::time::Duration;

use edgeshop_core::group_commit::{GroupCommit, Handled};
use sqlx::PgPool;

/// Answers each request with the backend that wrote its batch; a batch takes 50 ms, ten times
/// the gap between requests, so requests handed over meanwhile queue up for the next one.
fn writer(db: PgPool) -> GroupCommit<u32, i32> {
    GroupCommit::spawn("test_connection", db, |conn, batch| {
        Box::pin(async move {
            let backend: i32 = sqlx::query_scalar("SELECT pg_backend_pid() FROM pg_sleep(0.05)")
                .fetch_one(&mut *conn)
                .await
                .expect("the batch statement runs");
            batch
                .into_iter()
                .map(|_| Handled::Written(backend))
                .collect()
        })
    })
}

async fn burst(writer: &GroupCommit<u32, i32>, requests: u32) -> Vec<i32> {
    let answers = futures_util::future::join_all((0..requests).map(|n| async move {
        // Handed over one after another, each while the batch before it is being written.
        tokio::time::sleep(Duration::from_millis(u64::from(n) * 5)).await;
        writer.submit(n).await
    }))
    .await;
    answers
        .into_iter()
        .map(|answer| match answer {
            Ok(Handled::Written(backend)) => backend,
            Ok(Handled::Alone(n)) => panic!("request {n} was handed back"),
            Err(err) => panic!("a request failed: {err}"),
        })
        .collect()
}

#[sqlx::test(migrations = "../migrations")]
async fn a_busy_writer_keeps_its_connection_and_an_idle_one_gives_it_back(db: PgPool) {
    // Several idle connections in the pool, so a connection given back and taken again would
    // most likely be another one (the pool hands out the longest idle first).
    let opened = futures_util::future::join_all((0..4).map(|_| db.acquire())).await;
    let opened: Vec<_> = opened
        .into_iter()
        .map(|c| c.expect("a connection"))
        .collect();
    drop(opened);
    wait_until_all_idle(&db).await;

    let writer = writer(db.clone());
    let backends = burst(&writer, 12).await;
    let first = backends[0];
    assert!(
        backends.iter().all(|b| *b == first),
        "batches written back to back must share one connection: {backends:?}"
    );
    // Nothing is waiting any more: the connection is back in the pool.
    wait_until_all_idle(&db).await;

    // A burst much later starts from the pool again, and keeps what it takes.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let later = burst(&writer, 6).await;
    assert!(later.iter().all(|b| *b == later[0]), "{later:?}");
}

/// Waits (at most 5 s) until every connection of the pool is idle in it.
async fn wait_until_all_idle(db: &PgPool) {
    for _ in 0..500 {
        if db.num_idle() == db.size() as usize {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!(
        "the pool has {} connections, {} idle: one is held",
        db.size(),
        db.num_idle()
    );
}
