//! The tray agent: `switchyard` with no arguments.
//!
//! A thin shell over the library: the gateway runs on a tokio runtime off
//! the GUI thread, owned by a [`crate::control::Controller`] (the same
//! `Gateway` API `serve` uses); the GUI thread runs tao's event loop,
//! renders the pure menu model (`model.rs`) into native items (`menu.rs`)
//! and sends the clicks back as commands. Every message from the gateway
//! side reaches the loop through its user-event proxy: on Linux tao's
//! timed wake-up (`ControlFlow::WaitUntil`) does not fire, so nothing polls.

mod app;
mod hook;
mod icons;
mod menu;
pub mod model;
mod preflight;

pub use app::run;
pub use preflight::TrayError;
