//! Read models kept in memory until something changes.
//!
//! The dashboard's aggregates (progress per target, facet counts, the overview) cost tens of
//! milliseconds each over 100,000 findings, and they change only when an event is written
//! (a scan, a claim, a triage, a sync). Every event is announced through PostgreSQL
//! `NOTIFY`; each server process listens and calls [`ReadCache::invalidate`], so cached
//! answers never outlive the change that made them stale (plus a short time-to-live as a
//! safety net for writes that announce nothing). Concurrent misses of one key run the
//! query once and share the answer.
//!
//! It also holds the findings' search texts for the explorer's text search
//! ([`ReadCache::finding_texts`]), read again after each change the same way.

use std::{
    any::Any,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::Duration,
};

use db::models::finding_texts::FindingTexts;
use moka::future::Cache;

mod finding_texts;
use finding_texts::TextsHolder;

/// Bytes of answers kept at most, each weighed by its JSON size (about what it holds in
/// memory). Weighed, not counted: an explorer page with its rows is 50 KB, a search with no
/// match 2 KB, so a count of entries bounded neither the memory nor — once thousands of
/// different searches filled it — kept the costly answers (a broad search's counts, 40 ms of
/// database work) from being evicted and computed again under load.
const CAPACITY_BYTES: u64 = 128 << 20;
/// Longest an answer is reused even without any announced change.
const TIME_TO_LIVE: Duration = Duration::from_secs(60);

type Value = Arc<dyn Any + Send + Sync>;

/// A kept answer and its weight in bytes.
#[derive(Clone)]
struct Entry {
    value: Value,
    bytes: u32,
}

#[derive(Clone)]
pub struct ReadCache {
    /// Bumped by every change: keys carry it, so older answers are never found again.
    generation: Arc<AtomicU64>,
    entries: Cache<(u64, String), Entry>,
    texts: TextsHolder,
}

impl Default for ReadCache {
    fn default() -> Self {
        Self::with_capacity(CAPACITY_BYTES)
    }
}

impl std::fmt::Debug for ReadCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReadCache").field("generation", &self.generation.load(Ordering::Relaxed)).finish()
    }
}

impl ReadCache {
    /// A cache keeping at most `bytes` of answers.
    fn with_capacity(bytes: u64) -> Self {
        Self {
            generation: Arc::new(AtomicU64::new(0)),
            entries: Cache::builder()
                .max_capacity(bytes)
                .weigher(|(_, key): &(u64, String), entry: &Entry| entry.bytes.saturating_add(key.len() as u32))
                .time_to_live(TIME_TO_LIVE)
                .build(),
            texts: Default::default(),
        }
    }

    /// The findings' search texts as of now, when they are in memory or being read (see
    /// [`TextsHolder::current`]); `None` sends the caller to the database.
    pub async fn finding_texts(&self, pool: &sqlx::PgPool) -> Option<Arc<FindingTexts>> {
        self.texts.current(&self.generation, pool).await
    }

    /// Starts reading the findings' search texts (at start-up: the first searches find them).
    pub fn read_finding_texts(&self, pool: &sqlx::PgPool) {
        self.texts.start(&self.generation, pool);
    }

    /// Something changed: every answer computed so far is stale.
    pub fn invalidate(&self) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.entries.invalidate_all();
        self.texts.changed();
    }

    /// The answer for `key`, computed by `load` unless a current one is kept. Errors are
    /// not kept (and shared with the callers that waited for the same load).
    pub async fn get_or_load<T, E, F>(&self, key: String, load: F) -> Result<T, Arc<E>>
    where
        T: Clone + Send + Sync + serde::Serialize + 'static,
        E: Send + Sync + 'static,
        F: std::future::Future<Output = Result<T, E>>,
    {
        let generation = self.generation.load(Ordering::Acquire);
        let entry = self
            .entries
            .try_get_with((generation, key), async move {
                let value = load.await?;
                Ok(Entry { bytes: weight(&value), value: Arc::new(value) as Value })
            })
            .await?;
        Ok(entry.value.downcast_ref::<T>().expect("one type per cache key").clone())
    }

    /// The bytes of answers kept now (after pending evictions).
    #[cfg(test)]
    async fn weighed_bytes(&self) -> u64 {
        self.entries.run_pending_tasks().await;
        self.entries.weighted_size()
    }
}

/// An answer's weight: the length of its JSON, counted without writing it anywhere.
fn weight<T: serde::Serialize>(value: &T) -> u32 {
    struct Counter(usize);
    impl std::io::Write for Counter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0 += bytes.len();
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut counter = Counter(0);
    // A value that cannot be written as JSON weighs as much as the whole cache holds: it is
    // not kept (no answer kept here fails to serialise; server functions send them as JSON).
    match serde_json::to_writer(&mut counter, value) {
        Ok(()) => u32::try_from(counter.0).unwrap_or(u32::MAX),
        Err(_) => u32::MAX,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn load(cache: &ReadCache, key: &str, text: String, loads: &AtomicU64) -> String {
        let loaded: Result<String, Arc<()>> = cache
            .get_or_load(key.to_owned(), async {
                loads.fetch_add(1, Ordering::Relaxed);
                Ok::<_, ()>(text)
            })
            .await;
        loaded.unwrap()
    }

    #[tokio::test]
    async fn answers_are_weighed_in_bytes_and_the_cache_keeps_within_its_capacity() {
        let cache = ReadCache::with_capacity(100_000);
        let loads = AtomicU64::new(0);
        // A 10,000-character answer weighs its JSON (two quotes more) and its key.
        load(&cache, "big", "x".repeat(10_000), &loads).await;
        assert_eq!(cache.weighed_bytes().await, 10_002 + "big".len() as u64);
        // Thousands of small answers: what is kept never weighs more than the capacity.
        for i in 0..5_000 {
            load(&cache, &format!("small:{i}"), "y".repeat(100), &loads).await;
        }
        assert!(cache.weighed_bytes().await <= 100_000);
        // An answer heavier than the whole capacity is computed and returned, never kept.
        let before = loads.load(Ordering::Relaxed);
        for _ in 0..2 {
            assert_eq!(load(&cache, "huge", "z".repeat(200_000), &loads).await.len(), 200_000);
            // (The cache refuses it when it next tidies up.)
            assert!(cache.weighed_bytes().await <= 100_000);
        }
        assert_eq!(loads.load(Ordering::Relaxed), before + 2);
        assert!(cache.weighed_bytes().await <= 100_000);
    }

    #[tokio::test]
    async fn many_small_answers_leave_room_for_all_of_them() {
        // The load test's searches: thousands of different texts, most matching nothing.
        // Counted entries (4,000 before) evicted answers, costly ones among them; weighed,
        // 6,000 answers of 2 KB stay, and none is computed twice.
        let cache = ReadCache::default();
        let loads = AtomicU64::new(0);
        for round in 0..2 {
            for i in 0..6_000 {
                load(&cache, &format!("findings:q={i}"), "r".repeat(2_000), &loads).await;
            }
            assert_eq!(loads.load(Ordering::Relaxed), 6_000, "round {round}");
        }
    }

    #[tokio::test]
    async fn a_change_makes_every_kept_answer_stale() {
        let cache = ReadCache::default();
        let loads = AtomicU64::new(0);
        assert_eq!(load(&cache, "k", "first".into(), &loads).await, "first");
        assert_eq!(load(&cache, "k", "second".into(), &loads).await, "first");
        cache.invalidate();
        assert_eq!(load(&cache, "k", "third".into(), &loads).await, "third");
        assert_eq!(loads.load(Ordering::Relaxed), 2);
    }
}
