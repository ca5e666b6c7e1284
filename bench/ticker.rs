//! A thread that releases send slots at their scheduled instants.
//!
//! Tokio's timers have millisecond granularity, too coarse to pace 2000+
//! requests a second evenly; a plain thread sleeping with a 1 ns timer slack
//! wakes within microseconds of each slot on Linux. The slot carries its
//! scheduled instant, from which its latency is measured, so a late wake-up
//! is charged to the measurement rather than hidden.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The pacing thread of one run.
pub struct Ticker {
    thread: JoinHandle<()>,
}

impl Ticker {
    /// Sends the instants `start`, `start + 1/rate`, ... before `end` into
    /// `slots`, each no earlier than its time; closes the channel at the end.
    pub fn start(start: Instant, rate: f64, end: Instant, slots: async_channel::Sender<Instant>) -> Ticker {
        let interval = Duration::from_secs_f64(1.0 / rate.max(0.001));
        let thread = std::thread::spawn(move || {
            precise_sleeps();
            let mut n: u32 = 0;
            loop {
                let at = start + interval * n;
                if at >= end {
                    break;
                }
                let now = Instant::now();
                if at > now {
                    std::thread::sleep(at - now);
                }
                if slots.send_blocking(at).is_err() {
                    break;
                }
                n += 1;
            }
        });
        Ticker { thread }
    }

    /// Waits for the thread to finish.
    pub fn join(self) {
        let _ = self.thread.join();
    }
}

/// Sends the instants `at` (already scheduled by the caller) at their time.
pub fn release_at(instants: Vec<Instant>, slots: async_channel::Sender<(usize, Instant)>) -> Ticker {
    let thread = std::thread::spawn(move || {
        precise_sleeps();
        for (index, at) in instants.into_iter().enumerate() {
            let now = Instant::now();
            if at > now {
                std::thread::sleep(at - now);
            }
            if slots.send_blocking((index, at)).is_err() {
                break;
            }
        }
    });
    Ticker { thread }
}

/// Asks Linux to wake this thread's sleeps on time: a 1 ns timer slack (the
/// default is 50 µs), and, when the harness runs at real-time priority, one
/// step above the rest of it, so that a slot is released on time even while
/// the client thread on the same core is busy.
fn precise_sleeps() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_TIMERSLACK only changes this thread's timer slack; it
    // takes a plain integer and touches no memory of ours. sched_getscheduler
    // and sched_setscheduler act on this thread, with a struct on our stack.
    unsafe {
        libc::prctl(libc::PR_SET_TIMERSLACK, 1 as libc::c_ulong, 0, 0, 0);
        if libc::sched_getscheduler(0) == libc::SCHED_FIFO {
            let param = libc::sched_param { sched_priority: 2 };
            libc::sched_setscheduler(0, libc::SCHED_FIFO, &param);
        }
    }
}
