//! `adk-sessions-bench` works end to end at a tiny size: it exits 0 (so every count
//! assertion held), prints one JSON object with the keys of docs/bench.md, and leaves no
//! temporary database behind. Speed is not checked here; the bench shows it.

use std::process::Command;

use serde_json::Value;

const KEYS: [&str; 11] = [
    "impl",
    "backend",
    "durability",
    "w1_create_per_s",
    "w1_append_per_s",
    "w1_get_per_s",
    "w1_recent_per_s",
    "w1_list_per_s",
    "w2_append_per_s",
    "w2_get_ms",
    "w3_append_per_s",
];

fn bench(db: &str, extra: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_adk-sessions-bench"))
        .args([
            "--db",
            db,
            "--sessions",
            "12",
            "--events",
            "11",
            "--big",
            "30",
            "--tasks",
            "3",
            "--task-events",
            "9",
            "--json",
        ])
        .args(extra)
        .output()
        .expect("the binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "bench on {db} failed: {stderr}");
    assert!(
        stderr.contains("w1_append_per_s"),
        "no table on stderr: {stderr}"
    );
    let stdout = String::from_utf8(out.stdout).expect("UTF-8 JSON");
    let json: Value = serde_json::from_str(stdout.trim()).expect("one JSON object on stdout");
    for key in KEYS {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
    for key in &KEYS[3..] {
        assert!(
            json[key].as_f64().unwrap() > 0.0,
            "{key} is not positive: {json}"
        );
    }
    assert_eq!(json["impl"], "adk-sessions");
    json
}

#[test]
fn memory_bench_runs_w1_to_w4_and_the_growth_check() {
    let json = bench(
        "memory://",
        &[
            "--http",
            "--http-clients",
            "2",
            "--http-gets",
            "5",
            "--scale",
            "--scale-events",
            "200,400",
            "--scale-sessions",
            "150,300",
        ],
    );
    assert_eq!(json["backend"], "memory");
    assert_eq!(json["durability"], "none");
    assert!(
        json.get("floor_append_per_s").is_none(),
        "no floor in memory"
    );
    for key in [
        "w4_get_per_s",
        "w4_get_p99_ms",
        "w4_append_per_s",
        "scale_get_growth",
        "scale_list_ms_300",
    ] {
        assert!(json.get(key).is_some(), "{key} missing from {json}");
    }
}

#[test]
fn sqlite_bench_measures_the_floor_beside_the_service_and_cleans_up() {
    let dir = std::env::temp_dir().join(format!("adk_bench_smoke_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("bench.db");
    let json = bench(
        &format!("sqlite://{}", file.display()),
        &[
            "--sync",
            "normal",
            "--scale",
            "--scale-events",
            "200",
            "--scale-sessions",
            "150",
            "--event-cache-mb",
            "0",
        ],
    );
    assert_eq!(json["backend"], "sqlite");
    assert_eq!(json["durability"], "normal");
    assert_eq!(json["event_cache_mb"], 0, "{json}");
    for key in [
        "floor_append_per_s",
        "floor_get_per_s",
        "ratio_append_vs_floor",
    ] {
        assert!(json[key].as_f64().unwrap() > 0.0, "{key}: {json}");
    }
    // The named file stays (it was named on purpose); the floor's own file is gone.
    let left: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("adk_bench_floor"))
        .collect();
    assert!(left.is_empty(), "floor files left: {left:?}");
    // A second run on the same file refuses: it already holds the bench's sessions.
    let out = Command::new(env!("CARGO_BIN_EXE_adk-sessions-bench"))
        .args([
            "--db",
            &format!("sqlite://{}", file.display()),
            "--sessions",
            "2",
        ])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("already holds sessions"));
    std::fs::remove_dir_all(&dir).unwrap();
}
