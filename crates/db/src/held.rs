//! The access discipline, checked: no task acquires a database connection (or obtains a pool
//! to run a statement on) while it holds one, and nothing calls an agent or waits while it
//! holds one. A task that holds the only SQLite writer and asks for it again deadlocks on
//! itself; sixteen jobs that each hold a reader and want a second one starve each other. Both
//! were real (`vm_user_data` → `config_i64` on the pool while the deploy held a connection).
//!
//! Every connection the [`crate::Db`] hands out carries a [`Held`] token that counts itself in
//! a task-local set up by [`scope`] (the HTTP layer and the job engine wrap each request and
//! job in one). An acquisition, or a [`assert_none_held`] call before an agent call, while the
//! count is not zero is a violation: in debug builds (every test run) it panics with both
//! places — the panic is caught by the handler or job and fails the test — and in release
//! builds it is logged once per call site. Outside a scope nothing is checked.

use std::cell::RefCell;
use std::collections::HashSet;
use std::future::Future;
use std::panic::Location;
use std::sync::Mutex;

tokio::task_local! {
    static HELD: RefCell<Vec<&'static Location<'static>>>;
}

/// Run `f` with acquisition tracking (one per request, job or background task).
pub fn scope<F: Future>(f: F) -> impl Future<Output = F::Output> {
    HELD.scope(RefCell::new(Vec::new()), f)
}

/// Where the caller holds a connection, if it does (innermost first acquisition).
fn holder() -> Option<&'static Location<'static>> {
    HELD.try_with(|h| h.borrow().first().copied()).ok().flatten()
}

fn violation(what: &str, at: &'static Location<'static>, holder: &'static Location<'static>) {
    let msg = format!(
        "database access discipline: {what} at {at} while this task holds a connection acquired at {holder}; \
         release it first (drop the connection or commit the transaction)"
    );
    match std::env::var_os("FERROSTACK_DB_DISCIPLINE_LOG") {
        // Collecting violations (e.g. over a whole test run) instead of stopping at the first.
        Some(path) => {
            use std::io::Write;
            if let Ok(mut f) = std::fs::OpenOptions::new().create(true).append(true).open(path) {
                let _ = writeln!(f, "{msg}");
            }
        }
        None if cfg!(debug_assertions) => panic!("{msg}"),
        None => {}
    }
    static SEEN: Mutex<Option<HashSet<(usize, usize)>>> = Mutex::new(None);
    let key = (at as *const _ as usize, holder as *const _ as usize);
    let mut seen = SEEN.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    if seen.get_or_insert_with(HashSet::new).insert(key) {
        tracing::error!("{msg}");
    }
}

/// Check before an acquisition at `at`.
pub(crate) fn check_acquire(at: &'static Location<'static>) {
    if let Some(h) = holder() {
        violation("a database connection is requested", at, h);
    }
}

/// Call before anything that may wait on something other than the database — an agent call,
/// a sleep, another job: the task must hold no connection.
#[track_caller]
pub fn assert_none_held(what: &str) {
    if let Some(h) = holder() {
        violation(what, Location::caller(), h);
    }
}

/// The token a handed-out connection carries; dropping it (with the connection) releases it.
#[derive(Debug)]
pub(crate) struct Held {
    at: Option<&'static Location<'static>>,
}

impl Held {
    pub(crate) fn take(at: &'static Location<'static>) -> Held {
        let tracked = HELD.try_with(|h| h.borrow_mut().push(at)).is_ok();
        Held {
            at: tracked.then_some(at),
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        if let Some(at) = self.at {
            let _ = HELD.try_with(|h| {
                let mut h = h.borrow_mut();
                if let Some(i) = h.iter().rposition(|l| std::ptr::eq(*l, at)) {
                    h.remove(i);
                }
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn counts_within_a_scope_and_releases_on_drop() {
        scope(async {
            assert!(holder().is_none());
            let a = Held::take(Location::caller());
            assert!(holder().is_some());
            drop(a);
            assert!(holder().is_none());
            assert_none_held("nothing held");
        })
        .await;
    }

    #[tokio::test]
    #[should_panic(expected = "database access discipline")]
    async fn a_second_acquisition_while_holding_is_a_violation() {
        scope(async {
            let _a = Held::take(Location::caller());
            check_acquire(Location::caller());
        })
        .await;
    }

    #[tokio::test]
    async fn outside_a_scope_nothing_is_tracked() {
        let _a = Held::take(Location::caller());
        check_acquire(Location::caller());
    }
}
