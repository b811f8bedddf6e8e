//! The findings' search texts in memory (`db::models::finding_texts`), read once per change.
//!
//! Reading them costs a pass over every finding (about 120 ms at 100,000 findings, a few
//! milliseconds at Open edX's size), so it happens once per generation of the read cache
//! (and every [`READ_AGAIN_AFTER`] while searches come, the held ones answering meanwhile),
//! in the background, one reading at a time. A request that finds a reading of the current
//! generation under way waits for it a moment (a text most findings hold costs the database
//! about as long as the whole reading, and many at once queue behind each other), unless the
//! last reading was overtaken by a change (changes come faster than readings: waiting would
//! not pay) or a change comes while it waits. Anything else — no texts of this generation, a
//! reading that failed or takes too long — sends the request to the database, which answers
//! the same.

use std::{
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc, Mutex,
    },
    time::{Duration, Instant},
};

use db::models::finding_texts::FindingTexts;
use tokio::sync::Notify;

/// How long a request waits for a reading under way before it asks the database instead.
const WAIT_FOR_READING: Duration = Duration::from_millis(300);
/// Texts are read again this long after the last reading even without an announced change
/// (the read cache's safety net for writes that announce nothing), by the first search then,
/// in the background: the held ones answer meanwhile. So searches never wait for this
/// reading (waiting made the first second after an idle minute the slowest: p99 157 ms), and
/// a write no one announced is found by the searches after that reading.
const READ_AGAIN_AFTER: Duration = Duration::from_secs(15);

#[derive(Clone, Default)]
pub(super) struct TextsHolder {
    slot: Arc<Mutex<Slot>>,
    /// Told whenever a reading ends.
    read: Arc<Notify>,
}

#[derive(Default)]
struct Slot {
    /// The texts, the generation they were read at, and when.
    held: Option<(u64, Instant, Arc<FindingTexts>)>,
    /// The generation a reading under way is for.
    reading: Option<u64>,
    /// The generation they could not be read at (not tried again before the next change).
    failed_at: Option<u64>,
    /// The last reading ended after a change had made it stale.
    overtaken: bool,
}

impl Slot {
    /// The texts held, when they are of `generation`, and whether they are due to be read
    /// again.
    fn current(&self, generation: u64) -> Option<(Arc<FindingTexts>, bool)> {
        match &self.held {
            Some((read_at, when, texts)) if *read_at == generation => {
                Some((texts.clone(), when.elapsed() >= READ_AGAIN_AFTER))
            }
            _ => None,
        }
    }
}

impl TextsHolder {
    /// The texts of the current `generation`: held, or read now (started when no reading is
    /// under way, waited for at most [`WAIT_FOR_READING`]). `None` when there are none to use.
    pub(super) async fn current(&self, generation: &Arc<AtomicU64>, pool: &sqlx::PgPool) -> Option<Arc<FindingTexts>> {
        let now = generation.load(Ordering::Acquire);
        let mut read = Box::pin(self.read.notified());
        {
            let mut slot = self.slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if let Some((texts, due)) = slot.current(now) {
                if due {
                    self.start_unless_busy(&mut slot, generation, pool);
                }
                return Some(texts);
            }
            self.start_unless_busy(&mut slot, generation, pool);
            // Failed at this generation, or a reading of an older one under way (started
            // again once that one ends), or overtaken last time: not worth waiting for.
            if slot.reading != Some(now) || slot.overtaken {
                return None;
            }
            // Registered before the lock is let go: the reading cannot end unseen.
            read.as_mut().enable();
        }
        let _ = tokio::time::timeout(WAIT_FOR_READING, read).await;
        self.slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).current(now).map(|(texts, _)| texts)
    }

    /// Something changed: requests waiting for texts of the generation before stop waiting.
    pub(super) fn changed(&self) {
        self.read.notify_waiters();
    }

    /// Starts reading the texts of the current generation in the background. Also at start-up,
    /// so that the first searches find them read.
    pub(super) fn start(&self, generation: &Arc<AtomicU64>, pool: &sqlx::PgPool) {
        let mut slot = self.slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        self.start_unless_busy(&mut slot, generation, pool);
    }

    /// Starts a reading unless one is under way or one failed at this generation.
    fn start_unless_busy(&self, slot: &mut Slot, generation: &Arc<AtomicU64>, pool: &sqlx::PgPool) {
        // The generation is taken before the snapshot: a change committed during the reading
        // bumps it, and these texts are then never current.
        let reading = generation.load(Ordering::Acquire);
        if slot.reading.is_some() || slot.failed_at == Some(reading) {
            return;
        }
        // Outside a runtime (nothing serves yet), nothing is read: requests start it.
        let Ok(runtime) = tokio::runtime::Handle::try_current() else { return };
        slot.reading = Some(reading);
        let (holder, pool, generation) = (self.clone(), pool.clone(), generation.clone());
        runtime.spawn(async move {
            let started = Instant::now();
            let read = FindingTexts::load(&pool).await;
            let mut slot = holder.slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            match read {
                Ok(texts) => {
                    tracing::debug!(
                        findings = texts.len(),
                        bytes = texts.bytes(),
                        ms = started.elapsed().as_millis() as u64,
                        "read the findings' search texts"
                    );
                    slot.held = Some((reading, started, Arc::new(texts)));
                }
                Err(error) => {
                    tracing::warn!(%error, "the findings' search texts stay in the database");
                    slot.failed_at = Some(reading);
                }
            }
            slot.reading = None;
            slot.overtaken = generation.load(Ordering::Acquire) != reading;
            drop(slot);
            holder.read.notify_waiters();
        });
    }
}
