//! `adk-sessions`: the server and operator CLI. All the work is in the library crate
//! `adk_sessions_server::cli`.

fn main() -> std::process::ExitCode {
    adk_sessions_server::cli::main()
}
