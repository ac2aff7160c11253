//! The edge under its local Wasm runtime, in front of a real core: `wrangler dev` for the
//! Cloudflare Worker, `edgeshop-spin-host` (wasmtime) for the Spin component. Each runtime runs
//! in a process group of its own, so stopping it stops everything it started (wrangler's
//! workerd, the build it ran) and nothing else.

use std::io::{BufRead, BufReader, Write};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

use crate::{binary, cargo_build, workspace};

/// How long a runtime may take to answer its first request: wrangler runs the Worker's build
/// (a no-op when `scripts/build-worker.sh` ran before) and workerd compiles the Wasm.
const READY_WITHIN: Duration = Duration::from_secs(300);

pub struct EdgeRuntime {
    pub base_url: String,
    child: Child,
}

impl EdgeRuntime {
    /// `wrangler dev` on free ports, configured by the top-level `wrangler.toml`, with the
    /// core's URL and token key passed as vars (and any `more` settings, such as
    /// `CORE_TIMEOUT_MS`) and its Durable Object state kept in `scratch`.
    pub async fn wrangler(
        core_url: &str,
        jwt_key: &str,
        edge_secret: &str,
        scratch: &Path,
        more: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let (port, inspector) = (free_port()?, free_port()?);
        let more: String = more
            .iter()
            .map(|(name, value)| format!(" --var {name}:{value}"))
            .collect();
        let script = format!(
            "source scripts/edge-toolchain.sh && ensure_edge_toolchain && exec wrangler dev \
             --ip 127.0.0.1 --port {port} --inspector-port {inspector} \
             --var CORE_URL:{core_url} --var EDGE_JWT_PUBLIC_KEY:{jwt_key} \
             --var EDGE_SECRET:{edge_secret} --var ADMISSION_KEY:{admission}{more} \
             --persist-to {state} --show-interactive-dev-session=false",
            state = scratch.join("wrangler-state").display(),
            admission = admission_key(scratch),
        );
        let log = scratch.join("wrangler.log");
        let runtime = Self::spawn(Command::new("bash").args(["-c", &script]), &log, port)?;
        runtime.wait_until_ready(&log).await?;
        Ok(runtime)
    }

    /// The Spin component (built for wasm32-wasip2) under `edgeshop-spin-host`, with the
    /// settings (and any `more`) as Spin variables and its key-value store in Redis under a
    /// prefix of its own.
    pub async fn spin(
        core_url: &str,
        jwt_key: &str,
        edge_secret: &str,
        scratch: &Path,
        more: &[(&str, &str)],
    ) -> anyhow::Result<Self> {
        let component = spin_component()?;
        let port = free_port()?;
        let redis = std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
        let log = scratch.join("spin-host.log");
        let mut command = Command::new(binary("edgeshop-spin-host", "edgeshop-spin-host"));
        command
            .arg(&component)
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .env("SPIN_KV_REDIS_URL", redis)
            .env(
                "SPIN_KV_PREFIX",
                format!("e2e-edge:{}:", uuid::Uuid::new_v4().simple()),
            )
            .env("SPIN_VARIABLE_CORE_URL", core_url)
            .env("SPIN_VARIABLE_EDGE_JWT_PUBLIC_KEY", jwt_key)
            .env("SPIN_VARIABLE_EDGE_SECRET", edge_secret)
            .env("SPIN_VARIABLE_ADMISSION_KEY", admission_key(scratch));
        for (name, value) in more {
            command.env(format!("SPIN_VARIABLE_{name}"), value);
        }
        let runtime = Self::spawn(&mut command, &log, port)?;
        runtime.wait_until_ready(&log).await?;
        Ok(runtime)
    }

    fn spawn(command: &mut Command, log: &Path, port: u16) -> anyhow::Result<Self> {
        let mut child = command
            .current_dir(workspace())
            .env("CI", "true")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0)
            .spawn()
            .context("starting the edge runtime")?;
        for stream in [
            child
                .stdout
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|s| Box::new(s) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let mut file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(log)?;
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = writeln!(file, "{line}");
                }
            });
        }
        Ok(EdgeRuntime {
            base_url: format!("http://127.0.0.1:{port}"),
            child,
        })
    }

    /// Waits until the edge itself answers (a JSON cart, not the runtime's error page).
    async fn wait_until_ready(&self, log: &Path) -> anyhow::Result<()> {
        let deadline = Instant::now() + READY_WITHIN;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()?;
        loop {
            let answer = http.get(format!("{}/api/cart", self.base_url)).send().await;
            if let Ok(response) = answer
                && response.status() == 200
                && response
                    .json::<serde_json::Value>()
                    .await
                    .is_ok_and(|cart| cart.get("itemCount").is_some())
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                let output = std::fs::read_to_string(log).unwrap_or_default();
                bail!("the edge did not answer within {READY_WITHIN:?}; its output:\n{output}");
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }
}

impl Drop for EdgeRuntime {
    fn drop(&mut self) {
        // The group's id is the child's pid (process_group(0)); never signal group 0 or 1.
        let group = self.child.id();
        if group > 1 {
            let group = format!("-{group}");
            let _ = Command::new("kill").args(["-TERM", "--", &group]).status();
            let deadline = Instant::now() + Duration::from_secs(5);
            while Instant::now() < deadline {
                if matches!(self.child.try_wait(), Ok(Some(_))) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
            let _ = Command::new("kill")
                .args(["-KILL", "--", &group])
                .stderr(Stdio::null())
                .status();
        }
        let _ = self.child.wait();
    }
}

/// Builds the Spin component (release, as `spin.toml` builds it) and answers its path.
fn spin_component() -> anyhow::Result<std::path::PathBuf> {
    let args = [
        "-p",
        "edgeshop-edge-spin",
        "--target",
        "wasm32-wasip2",
        "--release",
    ];
    cargo_build(&args)
        .into_iter()
        .filter(|m| m["target"]["name"] == "edgeshop_edge_spin")
        .flat_map(|m| m["filenames"].as_array().cloned().unwrap_or_default())
        .filter_map(|f| f.as_str().map(std::path::PathBuf::from))
        .find(|f| f.extension().is_some_and(|e| e == "wasm"))
        .context("cargo reported no .wasm for the Spin component")
}

fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The waiting room's secret of the core started in `scratch` (it writes the file on its first
/// start), or nothing: the edge then keeps its waiting room closed.
fn admission_key(scratch: &Path) -> String {
    std::fs::read_to_string(scratch.join("admission.key"))
        .map(|s| s.trim().to_owned())
        .unwrap_or_default()
}
