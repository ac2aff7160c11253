//! The `edgeshop-gateway` process: one parsable stdout line, configuration from the
//! environment, graceful stop on SIGTERM even while a `tok_timeout` answer is pending.
#![cfg(unix)]

mod common;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{answer, with_source};
use reqwest::StatusCode;

/// Kills the child if the test fails before it exits.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_binary_prints_its_address_and_stops_on_sigterm() {
    let mut process = Process(
        Command::new(env!("CARGO_BIN_EXE_edgeshop-gateway"))
            .env("GATEWAY_BIND", "127.0.0.1:0")
            .env("GATEWAY_SECRET_KEY", "sk_test_binary")
            .env("GATEWAY_TIMEOUT_TOKEN_DELAY_MS", "60000")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut stdout = BufReader::new(process.0.stdout.take().unwrap());
    let mut line = String::new();
    stdout.read_line(&mut line).unwrap();
    let addr = line
        .trim_end()
        .strip_prefix("edgeshop-gateway listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();
    assert!(!addr.ends_with(":0"), "the real port is printed: {addr}");

    let http = reqwest::Client::new();
    let health = answer(http.get(format!("http://{addr}/healthz"))).await;
    assert_eq!(health.status, StatusCode::OK);

    // A tok_timeout charge sleeping for 60 s must not hold up the shutdown.
    let slow = tokio::spawn(answer(
        http.post(format!("http://{addr}/v1/charges"))
            .bearer_auth("sk_test_binary")
            .header("Idempotency-Key", "slow")
            .json(&with_source("1.00", "tok_timeout")),
    ));
    let started = Instant::now();
    loop {
        let list = answer(
            http.get(format!("http://{addr}/v1/charges?idempotency_key=slow"))
                .bearer_auth("sk_test_binary"),
        )
        .await;
        if list.body["data"].get(0).is_some() {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the slow charge never appeared"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }

    let pid = process.0.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    let status = loop {
        if let Some(status) = process.0.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not stop after SIGTERM"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert!(status.success(), "exit status {status}");

    let slow = slow.await.unwrap();
    assert_eq!(
        slow.status,
        StatusCode::OK,
        "the pending charge is answered before exit"
    );
    assert_eq!(slow.body["captured"], true);

    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(rest, "", "stdout carries exactly one line");
}

#[test]
fn a_bad_configuration_value_stops_the_binary() {
    let output = Command::new(env!("CARGO_BIN_EXE_edgeshop-gateway"))
        .env("GATEWAY_BIND", "127.0.0.1:0")
        .env("GATEWAY_TIMEOUT_TOKEN_DELAY_MS", "soon")
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(output.stdout.is_empty());
    assert!(String::from_utf8_lossy(&output.stderr).contains("GATEWAY_TIMEOUT_TOKEN_DELAY_MS"));
}
