//! Read models kept in memory until something changes.
//!
//! The dashboard's aggregates (progress per target, facet counts, the overview) cost tens of
//! milliseconds each over 100,000 findings, and they change only when an event is written
//! (a scan, a claim, a triage, a sync). Every event is announced through PostgreSQL
//! `NOTIFY`; each server process listens and calls [`ReadCache::invalidate`], so cached
//! answers never outlive the change that made them stale (plus a short time-to-live as a
//! safety net for writes that announce nothing). Concurrent misses of one key run the
//! query once and share the answer.

use std::{
    any::Any,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use moka::future::Cache;

/// Entries kept at most; a facet count or a page of rows is a few kilobytes.
const CAPACITY: u64 = 4_000;
/// Longest an answer is reused even without any announced change.
const TIME_TO_LIVE: Duration = Duration::from_secs(60);

type Value = Arc<dyn Any + Send + Sync>;

#[derive(Clone)]
pub struct ReadCache {
    /// Bumped by every change: keys carry it, so older answers are never found again.
    generation: Arc<AtomicU64>,
    entries: Cache<(u64, String), Value>,
}

impl Default for ReadCache {
    fn default() -> Self {
        Self {
            generation: Arc::new(AtomicU64::new(0)),
            entries: Cache::builder().max_capacity(CAPACITY).time_to_live(TIME_TO_LIVE).build(),
        }
    }
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache").field("generation", &self.generation.load(Ordering::Relaxed)).finish()
    }
}

impl ReadCache {
    /// Something changed: every answer computed so far is stale.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
    }

    /// The answer for `key`, computed by `load` unless a current one is kept. Errors are
    /// not kept (and shared with the callers that waited for the same load).
    pub async fn get_or_load<T, E, F>(&self, key: String, load: F) -> Result<T, Arc<E>>
    where
        T: Clone + Send + Sync + 'static,
        E: Send + Sync + 'static,
        F: std::future::Future<Output = Result<T, E>>,
    {
        let generation = self.generation.load(Ordering::Acquire);
        let value = self
            .entries
            .try_get_with((generation, key), async move { load.await.map(|v| Arc::new(v) as Value) })
            .await?;
        Ok(value.downcast_ref::<T>().expect("one type per cache key").clone())
    }
}
