//! The integration tests, one binary (as ripgrep does): the gateway end to
//! end against mock upstreams on 127.0.0.1, the command line, the tray's
//! controller. `common` is the shared harness; each module was once a test
//! binary of its own. Run one module with `cargo test --test it MODULE::`.

mod common;

mod boundary;
mod catalog;
mod claude_code;
mod cli;
mod client_faults;
mod client_keys;
mod config_safety;
mod connect;
mod control;
mod cost;
mod count_tokens;
mod embeddings;
mod fallbacks;
mod faults;
mod file_modes;
mod gateway;
mod gemini_clients;
mod google;
mod hostile;
mod images;
mod monitor;
mod passthrough;
mod pool;
mod quota;
mod reload;
mod responses;
mod roundtrip;
mod routing;
mod silences;
mod strategies;
mod streaming;
mod team;
mod team_log;
mod thinking_budgets;
mod thought_signatures;
mod throttle;
mod translation;
mod upstream_safety;
