#!/usr/bin/env bash
# Usage: adversary/try.sh N FILE [SEED]: runs `check N` on FILE in place of the exercise, prints
# the ✗ lines, the summary and the seed, and puts the starter back.
set -u
cd "$(dirname "$0")/.."
n=$1 file=$2
case $n in 7) ex=exercises/07_deadlines.rs;; 8) ex=exercises/08_overload.rs;; esac
cp "$file" "$ex"
out=$(cargo run -q -- --color never check "$n" ${3:+--seed $3} 2>&1); rc=$?
git checkout -q -- "$ex"
echo "== $(basename "$file") exit $rc"
grep -E '^(✗|–) ' <<<"$out" | awk '!seen[$0]++'
grep -E 'checks pass|All|error\[|error:' <<<"$out" | head -5
grep -o 'seed [0-9]*' <<<"$out" | tail -1
