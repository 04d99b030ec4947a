//! `adk-sessions-bench`: the benchmark workloads of docs/bench.md on any backend URL. Not
//! published; build it from the repository (`cargo build --release -p adk-sessions-bench`).

use clap::Parser;

/// mimalloc, as in the `adk-sessions` server binary, so the figures are the server's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Runs the benchmark workloads W1–W4 (defined in docs/bench.md).
#[derive(Debug, Parser)]
#[command(name = "adk-sessions-bench", version, about)]
struct Cli {
    #[command(flatten)]
    args: adk_sessions_bench::BenchArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(adk_sessions_bench::run(cli.args)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
