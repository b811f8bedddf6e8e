//! Counted slots, per client and in all: connections the server holds open, live streams.
//! One client (an address) can hold at most its share, so a flood of idle connections or
//! streams from one place cannot take the file descriptors everyone else needs.

use std::{
    collections::HashMap,
    net::IpAddr,
    sync::{Arc, Mutex},
};

/// Slots of one kind: at most `total` held at once, `per_client` by any one address.
#[derive(Debug)]
pub struct Slots {
    total: usize,
    per_client: usize,
    held: Mutex<Held>,
}

#[derive(Debug, Default)]
struct Held {
    total: usize,
    by_client: HashMap<IpAddr, usize>,
}

/// Why a slot was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refused {
    /// Every slot is held.
    Full,
    /// This client holds its share.
    ClientFull,
}

impl Slots {
    pub fn new(total: usize, per_client: usize) -> Arc<Self> {
        Arc::new(Self { total, per_client, held: Mutex::default() })
    }

    pub fn total(&self) -> usize {
        self.total
    }

    /// Takes a slot for `client` (`None`: not known, counted in the total only), released
    /// when the guard drops.
    pub fn take(self: &Arc<Self>, client: Option<IpAddr>) -> Result<SlotGuard, Refused> {
        let mut held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if held.total >= self.total {
            return Err(Refused::Full);
        }
        if let Some(client) = client {
            let count = held.by_client.entry(client).or_default();
            if *count >= self.per_client {
                return Err(Refused::ClientFull);
            }
            *count += 1;
        }
        held.total += 1;
        Ok(SlotGuard { slots: self.clone(), client })
    }

    /// Slots held now: in all, and by the busiest client.
    pub fn held(&self) -> (usize, usize) {
        let held = self.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        (held.total, held.by_client.values().copied().max().unwrap_or(0))
    }
}

/// A held slot; dropping it gives it back.
#[derive(Debug)]
pub struct SlotGuard {
    slots: Arc<Slots>,
    client: Option<IpAddr>,
}

impl Drop for SlotGuard {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        held.total -= 1;
        if let Some(client) = self.client {
            if let Some(count) = held.by_client.get_mut(&client) {
                *count -= 1;
                if *count == 0 {
                    held.by_client.remove(&client);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_shared_out_per_client_and_given_back() {
        let slots = Slots::new(3, 2);
        let (a, b) = ("127.0.0.1".parse().ok(), "127.0.0.2".parse().ok());
        let first = slots.take(a).unwrap();
        let _second = slots.take(a).unwrap();
        assert_eq!(slots.take(a).unwrap_err(), Refused::ClientFull);
        let _third = slots.take(b).unwrap();
        assert_eq!(slots.take(b).unwrap_err(), Refused::Full);
        drop(first);
        assert!(slots.take(a).is_ok());
        assert_eq!(slots.held(), (2, 1));
    }
}
