//! Switchyard: a local LLM gateway.
//!
//! One endpoint speaks the OpenAI, Anthropic and Gemini wire protocols and
//! serves every request from a pool of upstream accounts. See
//! `ARCHITECTURE.md` for the map of the modules; the data path reads
//! `gateway` → `relay` → `protocol` → `pool` → `upstream` and back.

pub mod alerts;
#[cfg(feature = "tray")]
pub mod autostart;
pub mod catalog;
pub mod cli;
pub mod cluster;
pub mod config;
pub mod connect;
pub mod control;
pub mod gateway;
pub mod home;
pub mod keys;
pub mod monitor;
pub mod notify;
pub mod pool;
pub mod pricing;
pub mod protocol;
pub mod relay;
pub mod secrets;
pub mod tokens;
#[cfg(feature = "tray")]
pub mod tray;
pub mod upstream;
pub mod vocab;
pub mod watch;
