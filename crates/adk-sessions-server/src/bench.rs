//! `adk-sessions bench`: the workloads of BENCHMARK.md (placeholder until the bench lands).

/// Flags of `adk-sessions bench`.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Database URL.
    #[arg(long, default_value = "memory://")]
    pub db: String,
}

/// Runs the benchmark.
pub async fn run(_args: BenchArgs) -> Result<(), String> {
    Err("bench is not implemented yet".into())
}
