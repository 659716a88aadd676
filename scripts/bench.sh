#!/usr/bin/env bash
# Speed, measured: medians of the learner's loop and the project's own test run, with
# hyperfine (Debian package `hyperfine`). Nothing here runs in CI; see docs/benchmarks.md.
#
#   scripts/bench.sh            # everything, about 15 minutes on 2 cores
#   scripts/bench.sh --quick    # skip the cold build and `cargo test` (about 2 minutes)
#
# It works on a throwaway copy of the course, so your exercises and target/ are untouched.
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
quick=${1:-}

command -v hyperfine >/dev/null || { echo "install hyperfine first (apt-get install hyperfine)" >&2; exit 2; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
out="$repo/target/bench"
mkdir -p "$out"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $(rustc --version)"

# Two copies of the course: one whose exercise 1 is the untouched starter (its check fails),
# one where it is solved (its check passes). They share one target dir, as a learner's does.
export CARGO_TARGET_DIR="$work/target"
for copy in starter solved; do
  git -C "$repo" clone --quiet "$repo" "$work/$copy"
done
cp "$repo/solutions/01_generic_500.rs" "$work/solved/exercises/01_generic_500.rs"
copy="$work/starter"
lessons=$(ls "$copy"/lessons/*.toml | wc -l)
(cd "$copy" && cargo build --quiet && cargo build --quiet --workspace --bins)
(cd "$work/solved" && cargo build --quiet --workspace --bins)

# The probe: a binary that links only axum, tokio and reqwest (the exercise's own weight), with
# the same versions, features and profile, built after the same kind of edit.
probe="$work/probe"
mkdir -p "$probe/src"
python3 - "$repo/Cargo.toml" "$probe/Cargo.toml" <<'PY'
import sys, tomllib
repo = tomllib.load(open(sys.argv[1], "rb"))
shared = repo["workspace"]["dependencies"]
def spec(name):
    value = shared[name]
    if isinstance(value, str):
        return f'"{value}"'
    parts = [f'{key} = {repr(item).replace(chr(39), chr(34)).replace("True", "true").replace("False", "false")}' for key, item in value.items()]
    return "{ " + ", ".join(parts) + " }"
open(sys.argv[2], "w").write(
    "[package]\nname = \"probe\"\nversion = \"0.0.0\"\nedition = \"2024\"\n\n[workspace]\n\n[dependencies]\n"
    + "".join(f"{name} = {spec(name)}\n" for name in ["axum", "tokio", "reqwest"])
    + '\n[profile.dev]\ndebug = "line-tables-only"\n\n[profile.dev.package."*"]\ndebug = false\n')
PY
cat > "$probe/src/main.rs" <<'RS'
#[tokio::main]
async fn main() {
    let app = axum::Router::new().route("/", axum::routing::get(|| async { "ok" }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    println!("{}", reqwest::get(url).await.unwrap().text().await.unwrap());
}
RS
cp "$repo/Cargo.lock" "$probe/Cargo.lock"
(cd "$probe" && CARGO_TARGET_DIR="$work/probe-target" cargo build --quiet)

cd "$copy"
edit='echo "// an edit at $(date +%s%N)" >> exercises/01_generic_500.rs'
edit_solved="echo \"// an edit at \$(date +%s%N)\" >> $work/solved/exercises/01_generic_500.rs"

echo "== edit -> verdict (lesson 1), against the floor (cargo building the exercise after the same edit) and the probe"
# The runner binary alone is what watch mode runs on a save (no outer `cargo run`); a no-op
# `cargo run -- list` shows what the outer `cargo run` costs by itself.
hyperfine --warmup 2 --runs 10 --export-json "$out/edit-to-verdict.json" -i \
  --prepare "$edit" -n 'cargo run -- check 1 (the starter: fails)' 'cargo run --quiet -- check 1' \
  --prepare "$edit_solved" -n 'cargo run -- check 1 (solved: passes)' "cd $work/solved && cargo run --quiet -- check 1" \
  --prepare "$edit" -n 'httplings check 1 (as watch mode)' "$CARGO_TARGET_DIR/debug/httplings check 1" \
  --prepare "$edit" -n 'cargo build (the floor)' 'cargo build --quiet --workspace --bin exercise_01' \
  --prepare "echo // >> $probe/src/main.rs" -n 'probe: axum+tokio+reqwest' "cd $probe && CARGO_TARGET_DIR=$work/probe-target cargo build --quiet" \
  --prepare 'true' -n 'cargo run -- list (no build)' 'cargo run --quiet -- list'

echo "== each check run, once built: the runner judging the learner's process (cargo's no-op build included)"
runs=()
for n in $(seq 1 "$lessons"); do
  runs+=(-n "lesson $n checks" "$CARGO_TARGET_DIR/debug/httplings check $n --solution")
done
hyperfine --warmup 1 --runs 10 --export-json "$out/check-runs.json" "${runs[@]}"

if [ "$quick" != "--quick" ]; then
  echo "== fresh clone -> first verdict (every dependency compiled; crates already downloaded)"
  # The README's first command, then the first check: the second must build only the exercise.
  hyperfine --runs 3 --export-json "$out/cold-first-verdict.json" -i \
    --prepare "rm -rf '$work/cold-target'" -n 'fresh clone: cargo run -- lesson 1, then check 1' \
    "CARGO_TARGET_DIR='$work/cold-target' cargo run --quiet -- lesson 1 >/dev/null && CARGO_TARGET_DIR='$work/cold-target' cargo run --quiet -- check 1"

  echo "== cargo test, warm (the repository itself)"
  unset CARGO_TARGET_DIR
  cd "$repo"
  cargo test --quiet >/dev/null 2>&1 || true
  hyperfine --runs 3 --export-json "$out/cargo-test.json" -n 'cargo test' 'cargo test --quiet'
fi

echo "== medians"
python3 - "$out" <<'PY'
import json, pathlib, statistics, sys
for path in sorted(pathlib.Path(sys.argv[1]).glob("*.json")):
    for result in json.loads(path.read_text())["results"]:
        print(f"{path.stem:20} {result['command']:42} median {statistics.median(result['times']):8.3f} s")
PY
echo "raw results: $out/*.json"
