//! The resend, against a server that drops connections on purpose: what a buyer's client
//! sends again, how often, and with which key.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Mutex;

use clap::Parser;

use super::*;

/// What the server does with each request it reads, in turn.
enum Act {
    /// Closes the connection without a word.
    Hang,
    /// Keeps the connection open this long without answering, then closes it.
    Stall(u64),
    Answer(u16, &'static str),
}

/// A server that follows its script, one request per connection, and keeps the
/// Idempotency-Key each request carried. It runs on a thread of its own until the test's
/// process ends.
struct Scripted {
    url: String,
    keys: Arc<Mutex<Vec<Option<String>>>>,
}

impl Scripted {
    fn start(script: Vec<Act>) -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("an address"));
        let keys = Arc::new(Mutex::new(Vec::new()));
        let seen = keys.clone();
        let mut script = VecDeque::from(script);
        std::thread::spawn(move || {
            for mut stream in listener.incoming().map_while(Result::ok) {
                let key = read_request(&mut stream);
                seen.lock().expect("not poisoned").push(key);
                match script.pop_front() {
                    Some(Act::Answer(status, body)) => {
                        let answer = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\n\
                             content-length: {}\r\nconnection: close\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = stream.write_all(answer.as_bytes());
                    }
                    Some(Act::Stall(ms)) => std::thread::sleep(Duration::from_millis(ms)),
                    Some(Act::Hang) | None => {}
                }
                // Dropped here: closed, answered or not.
            }
        });
        Scripted { url, keys }
    }

    fn keys(&self) -> Vec<Option<String>> {
        self.keys.lock().expect("not poisoned").clone()
    }
}

/// Reads one request's head and body; answers its Idempotency-Key.
fn read_request(stream: &mut TcpStream) -> Option<String> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(end) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break end + 4;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        bytes.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).to_ascii_lowercase();
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_owned()))
    };
    let length: usize = header("content-length:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while bytes.len() < head_end + length {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => bytes.extend_from_slice(&chunk[..n]),
        }
    }
    header("idempotency-key:")
}

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    args: FlashSaleArgs,
}

fn journey(edge: &str) -> (Journey, Arc<Measurements>) {
    journey_with(edge, &[])
}

fn journey_with(edge: &str, more: &[&str]) -> (Journey, Arc<Measurements>) {
    let mut args = vec!["test", "--buyers-file", "unused.csv", "--edge", edge];
    args.extend_from_slice(more);
    let cli = Cli::parse_from(args);
    let sale = Sale {
        id: "1".into(),
        product: "1".into(),
        starts_at: chrono::Utc::now(),
    };
    let measurements = Arc::new(Measurements::new(sale.starts_at));
    let journey = Journey::new(
        reqwest::Client::new(),
        &cli.args,
        &sale,
        measurements.clone(),
    );
    (journey, measurements)
}

fn pay(journey: &Journey, server: &Scripted) -> reqwest::RequestBuilder {
    journey
        .http
        .post(format!("{}/api/checkout/c/pay", server.url))
        .header("idempotency-key", "pay-key-1")
        .json(&json!({"paymentToken": "tok_visa"}))
}

#[tokio::test]
async fn a_request_whose_connection_failed_is_sent_again_with_its_key() {
    let server = Scripted::start(vec![
        Act::Hang,
        Act::Answer(200, r#"{"status":"CONFIRMED"}"#),
    ]);
    let (journey, measurements) = journey(&server.url);

    let answer = journey.send(Step::Pay, pay(&journey, &server)).await;

    assert_eq!(answer, Ok((200, json!({"status": "CONFIRMED"}))));
    assert_eq!(server.keys(), vec![Some("pay-key-1".to_owned()); 2]);
    assert_eq!(measurements.resent.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_resent_request_asks_again_while_its_first_copy_runs() {
    let in_progress = r#"{"error":{"code":"idempotency_key_in_progress","message":"running"}}"#;
    let server = Scripted::start(vec![
        Act::Hang,
        Act::Answer(409, in_progress),
        Act::Answer(409, in_progress),
        Act::Answer(200, r#"{"status":"CONFIRMED"}"#),
    ]);
    let (journey, measurements) = journey(&server.url);

    let answer = journey.send(Step::Pay, pay(&journey, &server)).await;

    assert_eq!(answer, Ok((200, json!({"status": "CONFIRMED"}))));
    assert_eq!(server.keys().len(), 4);
    // Only the failed connection counts as a resend; the 409s are the same request's wait.
    assert_eq!(measurements.resent.load(Ordering::Relaxed), 1);
}

#[tokio::test]
async fn a_first_answer_of_in_progress_is_the_answer() {
    // Not resent: without a failed first send, a 409 is another request's key in use.
    let in_progress = r#"{"error":{"code":"idempotency_key_in_progress","message":"running"}}"#;
    let server = Scripted::start(vec![Act::Answer(409, in_progress), Act::Answer(200, "{}")]);
    let (journey, _) = journey(&server.url);

    let (status, _) = journey
        .send(Step::Pay, pay(&journey, &server))
        .await
        .expect("an answer");

    assert_eq!(status, 409);
    assert_eq!(server.keys().len(), 1);
}

#[tokio::test]
async fn connections_fail_at_most_three_times_before_the_buyer_gives_up() {
    let server = Scripted::start(vec![
        Act::Hang,
        Act::Hang,
        Act::Hang,
        Act::Answer(200, "{}"),
    ]);
    let (journey, measurements) = journey(&server.url);

    let answer = journey.send(Step::Pay, pay(&journey, &server)).await;

    assert!(answer.is_err(), "gave up: {answer:?}");
    assert_eq!(server.keys().len(), 3);
    assert_eq!(measurements.resent.load(Ordering::Relaxed), 2);
}

#[tokio::test]
async fn a_cart_line_is_never_sent_twice() {
    // It carries no Idempotency-Key: a copy could add the unit twice.
    let server = Scripted::start(vec![Act::Hang, Act::Answer(201, "{}")]);
    let (journey, measurements) = journey(&server.url);

    let request = journey
        .http
        .post(format!("{}/api/cart/items", server.url))
        .json(&json!({"productId": "1", "quantity": 1}));
    let answer = journey.send(Step::Cart, request).await;

    assert!(answer.is_err(), "not sent again: {answer:?}");
    assert_eq!(server.keys(), vec![None]);
    assert_eq!(measurements.resent.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn a_request_still_waiting_for_a_connection_when_the_run_stops_is_counted_unsent() {
    // One connection per step, held by a payment the server sits on for longer than the test.
    let server = Scripted::start(vec![Act::Stall(30_000)]);
    let (journey, measurements) = journey_with(&server.url, &["--concurrency", "1"]);
    let journey = Arc::new(journey);
    let holding = {
        let journey = journey.clone();
        let request = pay(&journey, &server);
        tokio::spawn(async move { journey.send(Step::Pay, request).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let waiting = {
        let journey = journey.clone();
        let request = pay(&journey, &server);
        tokio::spawn(async move { journey.send(Step::Pay, request).await })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;

    journey.stop();

    // It gives up at the stop, not when the connection comes free.
    let unsent = tokio::time::timeout(Duration::from_secs(2), waiting)
        .await
        .expect("the waiting request gives up at the stop")
        .expect("the task ran");
    assert_eq!(unsent, Err(STOPPED.to_owned()));
    assert_eq!(measurements.never_sent.load(Ordering::Relaxed), 1);
    assert_eq!(
        server.keys().len(),
        1,
        "the waiting payment never reached the server"
    );
    holding.abort();
}

/// A buyer admitted at once who buys: the join, the buy and the pay, all answered.
fn a_whole_purchase() -> Vec<Act> {
    vec![
        Act::Answer(
            200,
            r#"{"ticket":"t","place":{"arrivedMs":1},
                "status":{"state":"ADMITTED","admissionToken":"a"}}"#,
        ),
        Act::Answer(201, r#"{"checkoutId":"c"}"#),
        Act::Answer(200, r#"{"status":"CONFIRMED"}"#),
    ]
}

#[tokio::test]
async fn each_buyer_keeps_to_one_edge_node_for_the_whole_sale() {
    let first = Scripted::start(a_whole_purchase());
    let second = Scripted::start(a_whole_purchase());
    let nodes = format!("{},{}/", first.url, second.url);
    let (journey, measurements) = journey_with(
        &nodes,
        &[
            "--start-in=0",
            "--late-window=0",
            "--early-share=0",
            "--abandon-share=0",
            "--decline-share=0",
        ],
    );
    let buyer = Buyer {
        address: "1".into(),
        token: "token".into(),
    };

    journey.run(1, buyer.clone()).await;
    // Join, buy, pay: each at the second node (no key on the join), none at the first.
    assert_eq!(second.keys().len(), 3);
    assert!(second.keys()[1..].iter().all(Option::is_some));
    assert!(first.keys().is_empty());

    journey.run(2, buyer).await;
    assert_eq!(first.keys().len(), 3);
    assert_eq!(second.keys().len(), 3);
    assert_eq!(measurements.sold.load(Ordering::Relaxed), 2);
}
