//! `adk-sessions`: the server and operator CLI. All the work is in the library
//! `adk_sessions_cli::cli`.

/// mimalloc instead of the system allocator: events and state maps make the store
/// allocation-heavy, and glibc's malloc was the top cost of in-memory appends.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    adk_sessions_cli::cli::main()
}
