//! A core that sends an answer's head and the first bytes of its body, then nothing more while
//! keeping the connection open. The edge must give up at its timeout, the body included: a
//! buyer gets a clear 504, not a request that hangs for as long as the core does.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use crate::Scratch;
use crate::edge_runtime::EdgeRuntime;

/// RFC 8032's first test public key: the edge's configuration needs a valid Ed25519 key, and
/// nothing here is signed.
const UNUSED_JWT_KEY: &str = "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo";

/// The edge's core timeout in these tests, well under the client's.
const CORE_TIMEOUT_MS: &str = "1500";
const CLIENT_TIMEOUT: Duration = Duration::from_secs(30);

/// Serves on a thread of its own for the rest of the test's process.
struct StalledCore {
    url: String,
    stalled: Arc<AtomicUsize>,
}

impl StalledCore {
    fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let url = format!("http://{}", listener.local_addr().expect("its address"));
        let stalled = Arc::new(AtomicUsize::new(0));
        let count = stalled.clone();
        std::thread::spawn(move || {
            // Held open, never answered further.
            let mut open = Vec::new();
            for mut stream in listener.incoming().map_while(Result::ok) {
                let mut head = Vec::new();
                let mut chunk = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut chunk) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => head.extend_from_slice(&chunk[..n]),
                    }
                }
                let started = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                    content-length: 4096\r\n\r\n{\"items\": [";
                if stream.write_all(started).is_ok() && stream.flush().is_ok() {
                    count.fetch_add(1, Ordering::SeqCst);
                }
                open.push(stream);
            }
        });
        StalledCore { url, stalled }
    }

    /// Answers sent halfway so far.
    fn stalled(&self) -> usize {
        self.stalled.load(Ordering::SeqCst)
    }
}

/// The Wasm runtime the edge runs on.
pub enum Runtime {
    Workers,
    Spin,
}

/// A request the edge (on `runtime`) forwards to a core that stalls mid-answer gets the
/// edge's 504 (`core_timeout`), not a hung request.
pub async fn cut_off_at_the_timeout(runtime: Runtime) {
    let core = StalledCore::start();
    let scratch = Scratch::new();
    let settings = [("CORE_TIMEOUT_MS", CORE_TIMEOUT_MS)];
    let secret = "edge-secret-stalled-core";
    let edge = match runtime {
        Runtime::Workers => {
            EdgeRuntime::wrangler(&core.url, UNUSED_JWT_KEY, secret, &scratch.0, &settings).await
        }
        Runtime::Spin => {
            EdgeRuntime::spin(&core.url, UNUSED_JWT_KEY, secret, &scratch.0, &settings).await
        }
    }
    .expect("the edge starts");
    let http = reqwest::Client::builder()
        .timeout(CLIENT_TIMEOUT)
        .build()
        .expect("a client");
    let answer = http
        .get(edge.url("/api/orders"))
        .send()
        .await
        .expect("the edge answers before the client gives up");
    let status = answer.status().as_u16();
    let body: serde_json::Value = answer.json().await.expect("a JSON error");
    assert_eq!(status, 504, "{body}");
    assert_eq!(body["error"]["code"], "core_timeout", "{body}");
    assert!(
        core.stalled() >= 1,
        "the core sent the answer's head before it stalled"
    );
}
