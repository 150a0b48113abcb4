//! Coalesced full-state pushes. Programming a router sends the whole configuration of its
//! network (one batch per change, as the agent contract wants), so a burst of N deploys into
//! one network would build and send N ever larger configurations — O(N²) rows read. Instead,
//! pushes for one key run one at a time, and a push that finds a round which *started after*
//! it asked (and so read its committed change) already done returns at once: N concurrent
//! changes cost a handful of rounds, each still the full, current state.
//!
//! Correctness: a caller asks only after its change is committed; a round reads the state
//! after it starts; so a round that started after the ask includes the change. A failed round
//! covers nobody: each waiter then runs its own.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, PoisonError};

use ferrostack_types::Error;

#[derive(Default)]
struct Slot {
    /// Asks so far (each ask takes the next number).
    asked: u64,
    /// Every ask up to this number is covered by a completed round.
    covered: u64,
}

/// A key's turn (held while its round runs) and its counters.
type Entry = (Arc<tokio::sync::Mutex<()>>, Slot);

#[derive(Default)]
pub struct Coalescer {
    slots: Mutex<HashMap<i64, Entry>>,
}

impl Coalescer {
    fn with<T>(&self, key: i64, f: impl FnOnce(&mut Entry) -> T) -> T {
        let mut slots = self.slots.lock().unwrap_or_else(PoisonError::into_inner);
        f(slots.entry(key).or_default())
    }

    /// Run `round` for `key` unless a round that started after this call completes first.
    pub async fn run<F, Fut>(&self, key: i64, round: F) -> Result<(), Error>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<(), Error>>,
    {
        let (lock, mine) = self.with(key, |(lock, slot)| {
            slot.asked += 1;
            (lock.clone(), slot.asked)
        });
        let _turn = lock.lock().await;
        let (covered, upto) = self.with(key, |(_, slot)| (slot.covered, slot.asked));
        if covered >= mine {
            return Ok(());
        }
        round().await?;
        self.with(key, |(_, slot)| slot.covered = slot.covered.max(upto));
        Ok(())
    }

    /// Forget a key (its entity is gone).
    pub fn forget(&self, key: i64) {
        self.slots.lock().unwrap_or_else(PoisonError::into_inner).remove(&key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_asks_share_rounds_and_each_is_covered_by_one_that_started_after_it() {
        let c = Arc::new(Coalescer::default());
        let rounds = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..50 {
            let (c, rounds) = (c.clone(), rounds.clone());
            tasks.push(tokio::spawn(async move {
                c.run(7, || async {
                    rounds.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                    Ok(())
                })
                .await
            }));
        }
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let n = rounds.load(Ordering::SeqCst);
        assert!((1..50).contains(&n), "{n} rounds for 50 asks");
        // A later ask is never covered by an earlier round.
        let ran = Arc::new(AtomicUsize::new(0));
        let r = ran.clone();
        c.run(7, || async move {
            r.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn a_failed_round_covers_nobody() {
        let c = Coalescer::default();
        assert!(c.run(1, || async { Err(Error::invalid("no")) }).await.is_err());
        let ran = AtomicUsize::new(0);
        c.run(1, || async {
            ran.fetch_add(1, Ordering::SeqCst);
            Ok(())
        })
        .await
        .unwrap();
        assert_eq!(ran.load(Ordering::SeqCst), 1);
    }
}
