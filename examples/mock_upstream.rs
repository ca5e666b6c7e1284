//! The mock upstream as a program, for tests/e2e, tests/agents, the soak and
//! the benchmarks: the routes, answers and options are
//! `crates/mock-upstream`'s (see its crate documentation).
//!
//! ```text
//! cargo run --example mock_upstream -- [--port N] [--latency-ms MS] [--chunk-delay-ms MS] [--stream-pieces N] [--api-key KEY] [--no-tool-calls]
//! ```
//!
//! The first line on stdout is always `listening on 127.0.0.1:PORT`.

use std::io::Write;

use mock_upstream::{LISTENING, Server, parse_args};

#[tokio::main]
async fn main() {
    let options = match parse_args(std::env::args().skip(1)) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("{message}");
            std::process::exit(2);
        }
    };
    let port = options.port;
    let server = match Server::start(options).await {
        Ok(server) => server,
        Err(err) => {
            eprintln!("mock_upstream: cannot listen on 127.0.0.1:{port}: {err}");
            std::process::exit(1);
        }
    };
    // Scripts wait for this line to learn the port: flush it at once.
    println!("{LISTENING}{}", server.addr());
    let _ = std::io::stdout().flush();
    server.run().await;
}
