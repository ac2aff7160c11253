//! The flash-sale load tool end to end, small: a core, the sandbox gateway and the Spin edge;
//! 200 prepared buyers for 20 units, joining before and after the start, some walking away
//! and some declined. The tool must sell exactly the units, oversell nothing, meet no
//! unexpected answer, answer status polls at the edge, and write its report and chart.

use edgeshop_tests::binary;
use edgeshop_tests::run_core;
use edgeshop_tests::storefront::Shop;
use serde_json::Value;

const BUYERS: &str = "200";
const UNITS: u64 = 20;

#[tokio::test(flavor = "multi_thread")]
async fn the_load_tool_sells_exactly_the_units_through_the_edge() {
    let shop = Shop::open().await;
    let edge = shop.edge_on_spin().await.expect("the edge serves");
    let buyers = shop.scratch.0.join("buyers.csv");
    let buyers_file = buyers.display().to_string();
    let (ok, out, err) = run_core(
        &shop.env,
        &[
            "user",
            "load-test-buyers",
            "--count",
            BUYERS,
            "--prefix",
            "tool",
            "--out",
            &buyers_file,
        ],
    );
    assert!(ok, "{out}{err}");
    let report_dir = shop.scratch.0.join("report");
    let tool = binary("edgeshop-loadtest", "edgeshop-loadtest");
    let run = tokio::process::Command::new(tool)
        .args(["flash-sale", "--quiet"])
        .args(["--edge", &edge.base_url, "--core", &shop.core_url()])
        .args(["--buyers-file", &buyers_file, "--units", &UNITS.to_string()])
        .args([
            "--admin-email",
            "ops@example.com",
            "--admin-password",
            "operator-password",
        ])
        .args([
            "--admission-rate",
            "6000",
            "--token-ttl",
            "3",
            "--start-in",
            "3",
        ])
        .args([
            "--late-window",
            "2",
            "--max-seconds",
            "90",
            "--concurrency",
            "64",
        ])
        .args(["--abandon-share", "0.1", "--decline-share", "0.1"])
        .arg("--out")
        .arg(&report_dir)
        .output()
        .await
        .expect("the tool runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stdout}\n{stderr}");

    let report: Value =
        serde_json::from_slice(&std::fs::read(report_dir.join("report.json")).unwrap()).unwrap();
    assert_eq!(report["oversold"], 0, "{stdout}");
    assert_eq!(report["unitsSold"], UNITS, "{stdout}");
    assert_eq!(report["ordersSeenByBuyers"], UNITS, "{stdout}");
    assert_eq!(report["unexpectedAnswers"], 0, "{stdout}");
    assert!(report["admitted"].as_u64().unwrap() >= UNITS, "{stdout}");
    let polls = report["statusPolls"].as_u64().unwrap();
    let cursor = report["coreCursorRequests"].as_u64().unwrap();
    assert!(
        polls > 0 && cursor < polls,
        "polls {polls}, cursor requests {cursor}"
    );
    // Tickets come from the edge, and every one reached the core in a report.
    let joined = report["joined"].as_u64().unwrap();
    assert!(joined > 0, "{stdout}");
    assert_eq!(report["coreJoinRequests"], 0, "{stdout}");
    assert_eq!(report["joinsCountedByCore"], joined, "{stdout}");
    assert!(report["coreJoinReports"].as_u64().unwrap() > 0, "{stdout}");
    assert!(
        report["timeToSellOutSeconds"].as_f64().is_some(),
        "{stdout}"
    );
    // The core's own checkout time, read from its histogram: its answers fall in a bucket.
    let core_p50 = report["coreCheckoutP50AtMostMs"].as_f64();
    assert!(core_p50.is_some_and(|ms| ms > 0.0), "{stdout}");
    // Every confirmed payment was answered between the start and the last sale.
    let pays = report["steps"]
        .as_array()
        .and_then(|steps| steps.iter().find(|s| s["step"] == "pay"))
        .expect("the pay step's figures");
    assert!(pays["during_sale"].as_u64().unwrap() >= UNITS, "{pays}");
    let chart = std::fs::read(report_dir.join("chart.png")).expect("a chart");
    assert!(chart.starts_with(b"\x89PNG"));
    assert!(
        stdout.contains("oversold"),
        "the report is printed: {stdout}"
    );

    drop(edge);
    shop.close().await;
}
