//! wasi:keyvalue/store on Redis: every bucket a component opens is a key prefix, so a cart
//! written by one instance is read by the next (Spin's Redis key-value provider does the same).

use redis::AsyncCommands;
use redis::aio::ConnectionManager;
use wasmtime::component::{HasSelf, Linker, Resource};

use crate::state::HostState;

use crate::bindings::wasi::keyvalue::store::{self, Bucket, Error, KeyResponse};

/// The buckets a component may open (Spin's `key_value_stores = ["default"]`).
const STORES: &[&str] = &["default"];
/// Keys listed per page of `list-keys`.
const PAGE: usize = 100;
/// A record nobody writes for this long is dropped (the seed's 30-day cart TTL; the Workers
/// adapter's Durable Objects do the same with an alarm).
const IDLE_LIFETIME_SECS: u64 = 30 * 24 * 3600;

#[derive(Clone)]
pub struct RedisStore {
    redis: ConnectionManager,
    prefix: String,
}

impl RedisStore {
    pub async fn connect(url: &str, prefix: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url)?;
        let redis = ConnectionManager::new(client).await?;
        Ok(RedisStore {
            redis,
            prefix: prefix.to_owned(),
        })
    }
}

pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    store::add_to_linker::<HostState, HasSelf<HostState>>(linker, |state| state)
}

fn failed(err: redis::RedisError) -> Error {
    Error::Other(err.to_string())
}

impl HostState {
    /// The Redis key prefix of an open bucket: its handle is the index of its name in
    /// [`STORES`], so a handle carries everything it stands for.
    fn prefix(&self, bucket: &Resource<Bucket>) -> wasmtime::Result<String> {
        let name = usize::try_from(bucket.rep())
            .ok()
            .and_then(|i| STORES.get(i))
            .ok_or_else(|| wasmtime::Error::msg("not a bucket this host opened"))?;
        Ok(format!("{}{name}:", self.store.prefix))
    }

    fn key(&self, bucket: &Resource<Bucket>, key: &str) -> wasmtime::Result<String> {
        Ok(format!("{}{key}", self.prefix(bucket)?))
    }
}

impl store::Host for HostState {
    async fn open(
        &mut self,
        identifier: String,
    ) -> wasmtime::Result<Result<Resource<Bucket>, Error>> {
        let Some(index) = STORES.iter().position(|s| *s == identifier) else {
            return Ok(Err(Error::NoSuchStore));
        };
        let rep = u32::try_from(index).map_err(wasmtime::Error::msg)?;
        Ok(Ok(Resource::new_own(rep)))
    }
}

impl store::HostBucket for HostState {
    async fn get(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let key = self.key(&bucket, &key)?;
        Ok(self.store.redis.get(key).await.map_err(failed))
    }

    async fn set(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
        value: Vec<u8>,
    ) -> wasmtime::Result<Result<(), Error>> {
        let key = self.key(&bucket, &key)?;
        Ok(self
            .store
            .redis
            .set_ex(key, value, IDLE_LIFETIME_SECS)
            .await
            .map_err(failed))
    }

    async fn delete(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<(), Error>> {
        let key = self.key(&bucket, &key)?;
        Ok(self.store.redis.del(key).await.map_err(failed))
    }

    async fn exists(
        &mut self,
        bucket: Resource<Bucket>,
        key: String,
    ) -> wasmtime::Result<Result<bool, Error>> {
        let key = self.key(&bucket, &key)?;
        Ok(self.store.redis.exists(key).await.map_err(failed))
    }

    async fn list_keys(
        &mut self,
        bucket: Resource<Bucket>,
        cursor: Option<String>,
    ) -> wasmtime::Result<Result<KeyResponse, Error>> {
        let prefix = self.prefix(&bucket)?;
        let cursor: u64 = match cursor.as_deref().map(str::parse) {
            None => 0,
            Some(Ok(cursor)) => cursor,
            Some(Err(_)) => return Ok(Err(Error::Other("not a cursor this store gave".into()))),
        };
        let answer: redis::RedisResult<(u64, Vec<String>)> = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(format!("{prefix}*"))
            .arg("COUNT")
            .arg(PAGE)
            .query_async(&mut self.store.redis)
            .await;
        Ok(answer.map_err(failed).map(|(next, keys)| KeyResponse {
            keys: keys
                .into_iter()
                .filter_map(|k| k.strip_prefix(&prefix).map(str::to_owned))
                .collect(),
            cursor: (next != 0).then(|| next.to_string()),
        }))
    }

    async fn drop(&mut self, _bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        // A handle owns nothing on this side: Redis keeps the data, the handle only names it.
        Ok(())
    }
}
