//! The `switchyard` binary: parses the command line and calls the library.

fn main() -> std::process::ExitCode {
    switchyard::cli::run()
}
