//! Giving memory back to the OS after a burst.
//!
//! The C allocator keeps the memory of a burst (1000 streams hold ~70 MB of
//! connection buffers) after it is freed: it only returns the top of its
//! heaps, and fragmentation keeps that top in use. Once the gateway has been
//! quiet for a while after serving, this asks the allocator to release every
//! free page (`malloc_trim`), so a tray-resident gateway shrinks back to its
//! idle size between bursts instead of keeping its peak for good.

use std::sync::Arc;
use std::time::Duration;

use crate::pool::Pool;

/// How often activity is checked; memory is released after one whole
/// period without a new request and with none in flight.
const QUIET_PERIOD: Duration = Duration::from_secs(10);

/// The task that releases memory after bursts; it stops when this is dropped.
#[derive(Debug)]
pub struct Releaser(tokio::task::JoinHandle<()>);

impl Releaser {
    /// Starts watching `pool`'s activity.
    pub fn start(pool: Arc<Pool>) -> Releaser {
        Releaser(tokio::spawn(release_after_bursts(pool)))
    }
}

impl Drop for Releaser {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs until aborted: releases free memory after each burst of requests.
async fn release_after_bursts(pool: Arc<Pool>) {
    let mut ticks = tokio::time::interval(QUIET_PERIOD);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut seen = requests_served(&pool);
    let mut released = true;
    loop {
        ticks.tick().await;
        let served = requests_served(&pool);
        if served != seen {
            // Still serving: wait for a quiet period.
            seen = served;
            released = false;
            continue;
        }
        let in_flight = pool.members().iter().any(|member| member.in_flight() > 0);
        if !released && !in_flight {
            release_free_memory();
            released = true;
        }
    }
}

fn requests_served(pool: &Pool) -> u64 {
    pool.status().iter().map(|account| account.requests).sum()
}

/// Returns the allocator's free pages to the OS (glibc; elsewhere the
/// allocator does its own and this does nothing).
fn release_free_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes a size and only works on the allocator's own
    // state, under its own locks; it is safe to call from any thread.
    unsafe {
        libc::malloc_trim(0);
    }
}
