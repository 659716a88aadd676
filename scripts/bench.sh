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

# A copy whose exercise 1 is solved, so every check run ends in a pass (exit 0).
copy="$work/course"
git -C "$repo" clone --quiet "$repo" "$copy"
cp "$repo/solutions/01_generic_500.rs" "$copy/exercises/01_generic_500.rs"
export CARGO_TARGET_DIR="$work/target"
lessons=$(ls "$copy"/lessons/*.toml | wc -l)
(cd "$copy" && cargo build --quiet && cargo build --quiet --workspace --bins)

cd "$copy"
edit='echo "// an edit at $(date +%s%N)" >> exercises/01_generic_500.rs'

echo "== edit -> verdict (lesson 1), against a bare cargo build after the same edit"
# The runner binary alone is what watch mode runs on a save (no outer `cargo run`); a no-op
# `cargo run -- list` shows what the outer `cargo run` costs by itself.
hyperfine --warmup 2 --runs 10 --export-json "$out/edit-to-verdict.json" \
  --prepare "$edit" -n 'cargo run -- check 1' 'cargo run --quiet -- check 1' \
  --prepare "$edit" -n 'httplings check 1 (as watch mode)' "$CARGO_TARGET_DIR/debug/httplings check 1" \
  --prepare "$edit" -n 'cargo build (the floor)' 'cargo build --quiet --workspace --bin exercise_01' \
  --prepare 'true' -n 'cargo run -- list (no build)' 'cargo run --quiet -- list'

echo "== each check run, once built: the runner judging the learner's process (cargo's no-op build included)"
runs=()
for n in $(seq 1 "$lessons"); do
  runs+=(-n "lesson $n checks" "$CARGO_TARGET_DIR/debug/httplings check $n --solution")
done
hyperfine --warmup 1 --runs 10 --export-json "$out/check-runs.json" "${runs[@]}"

if [ "$quick" != "--quick" ]; then
  echo "== fresh clone -> first verdict (every dependency compiled; crates already downloaded)"
  hyperfine --runs 3 --export-json "$out/cold-first-verdict.json" \
    --prepare "rm -rf '$work/cold-target'" -n 'fresh clone: cargo run -- check 1' \
    "CARGO_TARGET_DIR='$work/cold-target' cargo run --quiet -- check 1 --solution"

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
