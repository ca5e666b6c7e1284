//! The command line of the `mock_upstream` binary, and the settings an
//! in-process [`crate::Server`] takes.

use std::time::Duration;

/// Command-line options.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Options {
    /// Port on 127.0.0.1; 0 picks a free one.
    pub port: u16,
    /// Delay before every response's headers.
    pub latency: Duration,
    /// Delay between a stream's events.
    pub chunk_delay: Duration,
    /// When set, the only credential accepted.
    pub api_key: Option<String>,
    /// Answer with text even when the request declares tools.
    pub no_tool_calls: bool,
    /// Text events of a streamed text answer (0: the default, 3).
    pub stream_pieces: usize,
    /// Send the provider's rate-limit headers on every answer, by their
    /// real names (OpenAI `x-ratelimit-*`, Anthropic `anthropic-ratelimit-*`;
    /// Gemini sends none).
    pub quota_headers: bool,
}

/// The start of the first line the binary prints, before its address.
pub const LISTENING: &str = "listening on ";

impl Options {
    /// Text events of a streamed text answer.
    pub fn pieces(&self) -> usize {
        if self.stream_pieces == 0 { 3 } else { self.stream_pieces }
    }

    /// The command line that [`parse_args`] reads back as these options,
    /// for a program that starts the binary (the bench).
    pub fn to_args(&self) -> Vec<String> {
        let mut args = vec!["--port".to_string(), self.port.to_string()];
        let millis = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX).to_string();
        if !self.latency.is_zero() {
            args.extend(["--latency-ms".to_string(), millis(self.latency)]);
        }
        if !self.chunk_delay.is_zero() {
            args.extend(["--chunk-delay-ms".to_string(), millis(self.chunk_delay)]);
        }
        if self.stream_pieces > 0 {
            args.extend(["--stream-pieces".to_string(), self.stream_pieces.to_string()]);
        }
        if let Some(key) = &self.api_key {
            args.extend(["--api-key".to_string(), key.clone()]);
        }
        if self.no_tool_calls {
            args.push("--no-tool-calls".to_string());
        }
        if self.quota_headers {
            args.push("--quota-headers".to_string());
        }
        args
    }
}
/// The usage line, printed for `--help` and after a bad option.
pub const USAGE: &str = "usage: mock_upstream [--port N] [--latency-ms MS] [--chunk-delay-ms MS] [--stream-pieces N] [--api-key KEY] \
                     [--no-tool-calls] [--quota-headers]";

/// Parses the options after the program name.
pub fn parse_args(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
    let mut options = Options::default();
    let mut args = args.into_iter();
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_string(), Some(value.to_string())),
            None => (arg.clone(), None),
        };
        if name == "--help" || name == "-h" {
            return Err(USAGE.to_string());
        }
        if name == "--no-tool-calls" && inline.is_none() {
            options.no_tool_calls = true;
            continue;
        }
        if name == "--quota-headers" && inline.is_none() {
            options.quota_headers = true;
            continue;
        }
        let value = match inline.or_else(|| args.next()) {
            Some(value) => value,
            None => return Err(format!("{name} needs a value\n{USAGE}")),
        };
        let number = |value: &str| -> Result<u64, String> {
            value
                .parse::<u64>()
                .map_err(|_| format!("{name}: `{value}` is not a number\n{USAGE}"))
        };
        match name.as_str() {
            "--port" => {
                options.port = u16::try_from(number(&value)?).map_err(|_| format!("--port: {value} is too large"))?
            }
            "--latency-ms" => options.latency = Duration::from_millis(number(&value)?),
            "--chunk-delay-ms" => options.chunk_delay = Duration::from_millis(number(&value)?),
            "--api-key" => options.api_key = Some(value),
            "--stream-pieces" => match number(&value)? {
                0 => return Err(format!("--stream-pieces: must be at least 1\n{USAGE}")),
                n => {
                    options.stream_pieces =
                        usize::try_from(n).map_err(|_| format!("--stream-pieces: {value} is too large"))?
                }
            },
            _ => return Err(format!("unknown option `{name}`\n{USAGE}")),
        }
    }
    Ok(options)
}
