//! Cache-aside over the edge cache for anything the core serves as JSON: a copy younger than
//! its freshness is served as it is; an older one is fetched again, and only when the core
//! cannot answer is the old copy served, marked stale.

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::config::EdgeConfig;
use crate::core_client;
use crate::error::EdgeError;
use crate::host::Host;

/// How long a kind of data is served without asking the core, and kept for when it cannot.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    pub fresh_for: TimeDelta,
    pub keep_for: Duration,
}

/// A value as the edge knows it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached<T> {
    pub value: T,
    pub fetched_at: DateTime<Utc>,
    /// The core could not be asked; `value` may be out of date.
    pub stale: bool,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Entry<T> {
    fetched_at: DateTime<Utc>,
    value: T,
}

/// The value at `path` of the core, `None` when the core says it does not exist (404).
pub async fn get<T: Serialize + DeserializeOwned + Clone>(
    host: &impl Host,
    config: &EdgeConfig,
    key: &str,
    path: &str,
    policy: Policy,
) -> Result<Option<Cached<T>>, EdgeError> {
    let now = host.now();
    let cached: Option<Entry<T>> = host
        .cache_get(key)
        .await
        .and_then(|bytes| serde_json::from_slice(&bytes).ok());
    if let Some(entry) = &cached
        && now - entry.fetched_at < policy.fresh_for
    {
        return Ok(Some(Cached {
            value: entry.value.clone(),
            fetched_at: entry.fetched_at,
            stale: false,
        }));
    }
    match fetch(host, config, path).await {
        Ok(Some(value)) => {
            let entry = Entry {
                fetched_at: now,
                value,
            };
            if let Ok(bytes) = serde_json::to_vec(&entry) {
                host.cache_put(key, bytes, policy.keep_for).await;
            }
            Ok(Some(Cached {
                value: entry.value,
                fetched_at: now,
                stale: false,
            }))
        }
        Ok(None) => Ok(None),
        Err(err) => match cached {
            Some(entry) if is_unavailable(&err) => Ok(Some(Cached {
                value: entry.value,
                fetched_at: entry.fetched_at,
                stale: true,
            })),
            _ => Err(err),
        },
    }
}

/// Only an unreachable or failing core justifies a stale copy; a refusal is the answer.
fn is_unavailable(err: &EdgeError) -> bool {
    matches!(
        err,
        EdgeError::CoreUnavailable(_) | EdgeError::CoreAnswer(_)
    )
}

async fn fetch<T: DeserializeOwned>(
    host: &impl Host,
    config: &EdgeConfig,
    path: &str,
) -> Result<Option<T>, EdgeError> {
    let response = core_client::get(host, config, path).await?;
    match response.status {
        200 => serde_json::from_slice(&response.body)
            .map(Some)
            .map_err(|e| EdgeError::CoreAnswer(format!("{path}: {e}"))),
        404 => Ok(None),
        // The core refused the request itself (a bad filter): the buyer gets its reason.
        400 | 422 => Err(EdgeError::invalid(
            "query",
            refusal(&response.body).unwrap_or_else(|| "the core refused it".into()),
        )),
        other => Err(EdgeError::CoreAnswer(format!("{path}: status {other}"))),
    }
}

fn refusal(body: &[u8]) -> Option<String> {
    let body: shared_model::api::ErrorBody = serde_json::from_slice(body).ok()?;
    Some(body.error.message)
}
