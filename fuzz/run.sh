#!/usr/bin/env bash
# Builds the fuzz targets once and runs each for a bounded time, seeded by the corpus in
# the repository: `bash fuzz/run.sh [seconds-per-target] [target...]` (default 60 s, every
# target). Fails when a target finds a crash (a panic or a broken property); the input is
# printed and kept under fuzz/artifacts/<target>/.
#
# Built on stable Rust, without cargo-fuzz: the flags are those `cargo fuzz build -s none`
# passes (libFuzzer's coverage instrumentation through LLVM's sancov pass, `--cfg fuzzing`,
# debug assertions and overflow checks), and `--target` keeps them off build scripts and
# proc macros, as cargo-fuzz does. See fuzz/README.md.
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-60}"
shift || true
all_targets=(event_json storage_json adk_go_row page_token db_url)
targets=("${@:-${all_targets[@]}}")

# Longest input per target: events and rows are a few KiB of JSON at most to be
# interesting; tokens and URLs are short.
max_len() {
  case "$1" in
    event_json | storage_json | adk_go_row) echo 8192 ;;
    *) echo 1024 ;;
  esac
}

triple="$(rustc -vV | sed -n 's/^host: //p')"
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module \
 -Cllvm-args=-sanitizer-coverage-level=4 -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
 -Cllvm-args=-sanitizer-coverage-pc-table -Cllvm-args=-sanitizer-coverage-trace-compares \
 -Cllvm-args=-sanitizer-coverage-stack-depth -Cllvm-args=-simplifycfg-branch-fold-threshold=0 \
 -Cdebug-assertions -Coverflow-checks"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}" CARGO_INCREMENTAL=0
cargo build --locked --release --target "$triple" --bins
bin_dir="$CARGO_TARGET_DIR/$triple/release"

failed=()
for target in "${targets[@]}"; do
  seeds="corpus/$target"
  # New inputs go to the first corpus directory: a scratch one (ignored by git), never the
  # checked-in seeds.
  grown="corpus-grown/$target"
  artifacts="artifacts/$target"
  mkdir -p "$grown" "$artifacts"
  log="$(mktemp)"
  printf '\n==> fuzz %s for %ss (seeds: %s)\n' "$target" "$seconds" "$(ls "$seeds" | wc -l)" >&2
  if "$bin_dir/$target" -max_total_time="$seconds" -rss_limit_mb=2048 \
    -max_len="$(max_len "$target")" -timeout=10 -print_final_stats=1 \
    -artifact_prefix="$artifacts/" "$grown" "$seeds" >"$log" 2>&1; then
    # The random seed (-seed=N repeats the run), the first and last status lines and the
    # totals: coverage (cov/ft) and speed (exec/s).
    grep -E '^INFO: Seed:|^#[0-9]+[[:space:]]+(INITED|DONE)' "$log" | sed 's/^/    /' >&2 || true
    grep -E '^stat::(number_of_executed_units|average_exec_per_sec|new_units_added)' "$log" |
      sed 's/^/    /' >&2 || true
  else
    failed+=("$target")
    tail -n 60 "$log" >&2
    for crash in "$artifacts"/*; do
      [ -f "$crash" ] || continue
      printf '\n--- %s (%s bytes), as text:\n' "$crash" "$(wc -c <"$crash")" >&2
      head -c 4096 "$crash" | cat -v >&2
      printf '\n--- base64:\n' >&2
      head -c 4096 "$crash" | base64 >&2
    done
  fi
  rm -f "$log"
done

if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz targets that failed: ${failed[*]} (inputs under fuzz/artifacts/)" >&2
  exit 1
fi
echo "fuzz: ${#targets[@]} targets ran ${seconds}s each without a failure" >&2
