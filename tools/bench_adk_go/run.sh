#!/usr/bin/env bash
# W1–W3 side by side, one backend after another, in adk-go's table layout:
#   ours    target/release/adk-sessions-bench --schema adk-go (our Rust engine, in process)
#   gorm    adk-go v2.2.0's GORM database service (bench_adk_go -impl gorm)
#   client  our Go client against `adk-sessions serve --schema adk-go` (bench_adk_go -impl client)
# each on a fresh SQLite file / fresh database, removed afterwards. Prints every run's
# table on stderr, then (stdout) the figures and the ratios ours/GORM and client/GORM.
#
#   tools/bench_adk_go/run.sh                       # sqlite postgres
#   tools/bench_adk_go/run.sh sqlite postgres mysql
#   tools/bench_adk_go/run.sh sqlite -- --sessions 20 --events 10 --big 500
#   REPEAT=3 tools/bench_adk_go/run.sh              # 3 rounds of the three, medians
#
# Environment: PG_URL (postgres://postgres@127.0.0.1:5432), MYSQL_URL
# (mysql://root@127.0.0.1:3306): servers on which fresh databases are created;
# REPEAT (1): rounds per backend (ours, gorm, client alternate; the table shows the
# median of each figure); OUT (a new temp dir): where the JSON of every run is kept;
# SERVER_RUST_LOG (warn): the server's log filter (its default, info, logs every request).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
MYSQL_URL=${MYSQL_URL:-mysql://root@127.0.0.1:3306}
SERVER_RUST_LOG=${SERVER_RUST_LOG:-warn}
REPEAT=${REPEAT:-1}
export GOMODCACHE=${GOMODCACHE:-$HOME/.cache/go/mod} GOCACHE=${GOCACHE:-$HOME/.cache/go/build}

backends=()
sizes=()
while [ $# -gt 0 ]; do
  case $1 in
    --) shift; sizes=("$@"); break ;;
    sqlite|postgres|mysql) backends+=("$1"); shift ;;
    *) echo "usage: $0 [sqlite] [postgres] [mysql] [-- size flags]" >&2; exit 2 ;;
  esac
done
[ ${#backends[@]} -gt 0 ] || backends=(sqlite postgres)

SERVER=$ROOT/target/release/adk-sessions
BENCH=$ROOT/target/release/adk-sessions-bench
if [ ! -x "$SERVER" ] || [ ! -x "$BENCH" ]; then
  echo "building the release binaries ..." >&2
  (cd "$ROOT" && cargo build --release -p adk-sessions-cli -p adk-sessions-bench)
fi
OUT=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/bench_adk_go.XXXXXX")}
mkdir -p "$OUT"
GOBENCH=$OUT/bench_adk_go
(cd "$HERE" && go build -o "$GOBENCH" .)

# Cleanup of whatever is still running or lying around (server, fresh stores).
server_pid=""
server_db=""
server_file=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  server_pid=""
  if [ -n "$server_db" ]; then "$GOBENCH" -drop-db "$server_db" || echo "warning: could not drop $server_db" >&2; fi
  server_db=""
  if [ -n "$server_file" ]; then rm -f "$server_file" "$server_file"-journal "$server_file"-wal "$server_file"-shm; fi
  server_file=""
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The 1-minute load average before a run, kept next to its JSON (the machine may be shared).
load() { cut -d' ' -f1 /proc/loadavg > "$1.load"; }

for b in "${backends[@]}"; do
  case $b in
    sqlite)   rust_db=sqlite://;  gorm_db=sqlite ;;
    postgres) rust_db=$PG_URL;    gorm_db=$PG_URL ;;
    mysql)    rust_db=$MYSQL_URL; gorm_db=$MYSQL_URL ;;
  esac
  for r in $(seq 1 "$REPEAT"); do
    echo "== $b round $r/$REPEAT: ours (adk-sessions-bench --db $rust_db --schema adk-go)" >&2
    load "$OUT/$b.ours.$r"
    "$BENCH" --db "$rust_db" --schema adk-go --json "${sizes[@]}" > "$OUT/$b.ours.$r.json"

    echo "== $b round $r/$REPEAT: adk-go GORM (bench_adk_go -impl gorm -db $gorm_db)" >&2
    load "$OUT/$b.gorm.$r"
    "$GOBENCH" -impl gorm -db "$gorm_db" -json "${sizes[@]}" > "$OUT/$b.gorm.$r.json"

    if [ "$b" = sqlite ]; then
      server_file=$OUT/server_$$.db
      db=sqlite://$server_file
    else
      server_db=$("$GOBENCH" -create-db "$gorm_db")
      db=$server_db
    fi
    port=$(free_port)
    echo "== $b round $r/$REPEAT: Go client -> adk-sessions serve --db $db --schema adk-go --addr 127.0.0.1:$port" >&2
    RUST_LOG=$SERVER_RUST_LOG "$SERVER" serve --db "$db" --schema adk-go --addr "127.0.0.1:$port" \
      > "$OUT/$b.server.$r.log" 2>&1 &
    server_pid=$!
    for _ in $(seq 1 300); do
      curl -sf "http://127.0.0.1:$port/readyz" > /dev/null 2>&1 && break
      kill -0 "$server_pid" 2>/dev/null || { cat "$OUT/$b.server.$r.log" >&2; echo "the server exited" >&2; exit 1; }
      sleep 0.1
    done
    load "$OUT/$b.client.$r"
    "$GOBENCH" -impl client -url "http://127.0.0.1:$port" -db "$db" -json "${sizes[@]}" > "$OUT/$b.client.$r.json"
    cleanup
  done
done

python3 - "$OUT" "$REPEAT" "${backends[@]}" <<'PY'
import json, statistics, sys
out, repeat, backends = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
keys = ["w1_create_per_s", "w1_append_per_s", "w1_get_per_s", "w1_recent_per_s", "w1_list_per_s",
        "w2_append_per_s", "w2_get_ms", "w3_append_per_s", "w3_errors"]
impls = ("ours", "gorm", "client")

def fmt(v, k):
    if v is None:
        return "-"
    if k == "w3_errors":
        return f"{v:g}"
    return f"{v:.3f}" if k.endswith("_ms") else f"{v:,.1f}"

def ratio(a, b, k):
    if not a or not b or k == "w3_errors":
        return ""
    # ms: the GORM time divided by ours, so that > 1 is faster than GORM everywhere
    return f"{(b / a if k.endswith('_ms') else a / b):.2f}x"

rounds = f"median of {repeat} rounds" if repeat > 1 else "one round"
print(f"\nW1-W3 in adk-go's layout, {rounds}; ratios are speed-ups over adk-go's GORM")
print("service (> 1 = faster; for w2_get_ms the GORM time divided by ours).")
print(f"JSON of every run: {out}")
for b in backends:
    runs = {i: [] for i in impls}
    loads = []
    for i in impls:
        for r in range(1, repeat + 1):
            with open(f"{out}/{b}.{i}.{r}.json") as f:
                runs[i].append(json.load(f))
            with open(f"{out}/{b}.{i}.{r}.load") as f:
                loads.append(float(f.read()))
    med = {}
    for i in impls:
        med[i] = {}
        for k in keys:
            vs = [j[k] for j in runs[i] if j.get(k) is not None]
            med[i][k] = statistics.median(vs) if vs else None
    print(f"\n{b} (1-min load average before the runs: {min(loads):.2f}-{max(loads):.2f})")
    for i, label in (("ours", "ours"), ("gorm", "GORM"), ("client", "client's server")):
        print(f"  durability, {label}: {runs[i][0].get('durability')}")
    print(f"  {'':<16} {'ours (Rust)':>12} {'adk-go GORM':>12} {'Go client':>12} {'ours/GORM':>10} {'client/GORM':>12}")
    o, g, c = med["ours"], med["gorm"], med["client"]
    for k in keys:
        print(f"  {k:<16} {fmt(o[k], k):>12} {fmt(g[k], k):>12} {fmt(c[k], k):>12}"
              f" {ratio(o[k], g[k], k):>10} {ratio(c[k], g[k], k):>12}")
PY
