//! libvirt domain lifecycle events: a guest that starts, stops, crashes or powers itself off
//! wakes every [`Agent::watch_power`](ferrostack_agent_api::Agent::watch_power) waiting on this
//! host, which rescans and answers at once (instead of the management server learning it at
//! the next ping).
//!
//! libvirt delivers events from its default event loop, run here on a thread of its own over a
//! connection kept for that purpose; when the connection dies (libvirtd restarted) the thread
//! reconnects, and waiters are woken so they rescan whatever changed meanwhile.
//!
//! The `virt` binding wraps the event loop but not the registration of domain event callbacks,
//! so this is the one module of the workspace with `unsafe` code: the registration call and
//! the callback it installs, which touches nothing but a process-global notifier.
#![allow(unsafe_code)]

use std::os::raw::{c_int, c_void};
use std::sync::{Arc, Once, OnceLock};
use std::time::Duration;

use tokio::sync::Notify;
use virt::connect::Connect;
use virt::sys;

/// Woken on every lifecycle event of any domain on the host (and on each reconnect).
static CHANGES: OnceLock<Arc<Notify>> = OnceLock::new();

/// How long the event thread waits before reconnecting to libvirt.
const RECONNECT: Duration = Duration::from_secs(2);

/// Register libvirt's default event loop. libvirt wants it before any connection is opened,
/// so [`crate::LibvirtAgent::open`] calls it first. Once per process.
pub(crate) fn register_event_loop() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        if let Err(e) = virt::event::event_register_default_impl() {
            tracing::warn!(error = %e, "libvirt event loop unavailable; power changes are seen at the next ping");
        }
    });
}

/// Start the event thread for `uri` (once per process) and return the notifier it wakes.
pub(crate) fn watch(uri: &str) -> Arc<Notify> {
    let mut started = false;
    let notify = CHANGES
        .get_or_init(|| {
            started = true;
            Arc::new(Notify::new())
        })
        .clone();
    if started {
        let uri = uri.to_string();
        let n = notify.clone();
        let spawned = std::thread::Builder::new()
            .name("libvirt-events".into())
            .spawn(move || run(&uri, &n));
        if let Err(e) = spawned {
            tracing::warn!(error = %e, "cannot start the libvirt event thread; power changes are seen at the next ping");
        }
    }
    notify
}

fn run(uri: &str, notify: &Notify) {
    loop {
        match Connect::open(Some(uri)) {
            Ok(conn) => {
                listen(&conn, notify);
                drop(conn);
            }
            Err(e) => tracing::debug!(%uri, error = %e, "libvirt event connection failed; retrying"),
        }
        std::thread::sleep(RECONNECT);
    }
}

/// Deliver events on `conn` until it dies.
fn listen(conn: &Connect, notify: &Notify) {
    // Keepalive makes a dead libvirtd visible (and wakes the loop every few seconds).
    if let Err(e) = conn.set_keep_alive(5, 3) {
        tracing::debug!(error = %e, "libvirt keepalive not available");
    }
    // SAFETY: `conn` is a live connection for the whole registration (deregistered below
    // before it is dropped); the callback is a plain function that ignores its arguments and
    // needs no opaque data, so there is nothing to free.
    let registered =
        unsafe { sys::virConnectDomainEventRegister(conn.as_ptr(), Some(on_lifecycle), std::ptr::null_mut(), None) };
    if registered < 0 {
        tracing::warn!("cannot register for libvirt lifecycle events; power changes are seen at the next ping");
        return;
    }
    // Anything may have changed while we were not listening.
    notify.notify_waiters();
    while conn.is_alive().unwrap_or(false) {
        if let Err(e) = virt::event::event_run_default_impl() {
            tracing::debug!(error = %e, "libvirt event loop iteration failed");
            break;
        }
    }
    // SAFETY: the same connection and callback as registered above.
    unsafe {
        sys::virConnectDomainEventDeregister(conn.as_ptr(), Some(on_lifecycle));
    }
    tracing::info!("libvirt event connection lost; reconnecting");
}

/// libvirt's lifecycle callback (`virConnectDomainEventCallback`): any event of any domain
/// wakes the waiters, which rescan; what happened is read from the scan, not from the event.
unsafe extern "C" fn on_lifecycle(
    _conn: sys::virConnectPtr,
    _dom: sys::virDomainPtr,
    _event: c_int,
    _detail: c_int,
    _opaque: *mut c_void,
) -> c_int {
    if let Some(n) = CHANGES.get() {
        n.notify_waiters();
    }
    0
}
