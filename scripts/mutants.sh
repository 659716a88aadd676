#!/usr/bin/env bash
# How strong are the checks? Mutates the reference solutions (cargo-mutants) and runs the
# in-process lesson tests against each mutant: a mutant that every check lets through is a
# gap in the checks (or an equivalent mutant, explained in docs/benchmarks.md).
#
#   scripts/mutants.sh            # every lesson's solution, about 40 s a mutant on 2 cores
#   scripts/mutants.sh 8 10       # lessons 8 and 10 only
#
# Needs cargo-mutants: `cargo install cargo-mutants --locked`.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-mutants >/dev/null || { echo "install it first: cargo install cargo-mutants --locked" >&2; exit 2; }

# The solutions are modules of the kit's check targets (pulled in with #[path]), so cargo-mutants
# names them through kit/src/bin/. The runner package's integration tests compile them in too,
# and those are the tests that judge each mutant: the solution must keep passing every check.
# Each solution is judged by its own lesson's tests only. The baseline is skipped because
# cargo-mutants 27.1 runs it with the mutated package's tests (the kit, which has none of these),
# whatever --test-package says; `cargo test` runs the unmutated solutions' tests anyway.
lessons=$(cd lessons && ls *.toml | sed 's/\.toml$//')
if [ $# -gt 0 ]; then
  lessons=$(for n in "$@"; do
    found=$(cd lessons && ls -- "$(printf %02d "$n" 2>/dev/null)"_*.toml 2>/dev/null) ||
      { echo "there is no lesson $n" >&2; exit 2; }
    echo "${found%.toml}"
  done) || exit 2
fi
for lesson in $lessons; do
  module=${lesson#*_}
  mkdir -p "target/mutants/$lesson"
  cargo mutants \
    --package httplings-kit --test-package httplings \
    --baseline skip --timeout 300 \
    --file "kit/src/bin/../../../solutions/$lesson.rs" \
    --jobs 1 \
    --output "target/mutants/$lesson" \
    -- --test integration -- "$module::" || true
done
# cargo-mutants exits non-zero when a mutant is missed; the summary is what matters.
shopt -s nullglob
for outcomes in target/mutants/*/mutants.out/outcomes.json; do
  python3 - "$outcomes" <<'PY'
import json, sys
data = json.load(open(sys.argv[1]))
print(f"{sys.argv[1].split('/')[2]:22} caught {data['caught']:3}  missed {data['missed']:3}  unviable {data['unviable']:3}  timeout {data['timeout']:3}")
PY
done
