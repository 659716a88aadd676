#!/usr/bin/env bash
# How strong are the checks? Mutates the reference solutions (cargo-mutants) and runs the
# in-process lesson tests against each mutant: a mutant that every check lets through is a
# gap in the checks (or an equivalent mutant, explained in docs/benchmarks.md).
#
#   scripts/mutants.sh            # all solutions, about 25 minutes on 2 cores
#
# Needs cargo-mutants: `cargo install cargo-mutants --locked`.
set -euo pipefail
cd "$(dirname "$0")/.."

command -v cargo-mutants >/dev/null || { echo "install it first: cargo install cargo-mutants --locked" >&2; exit 2; }

# The solutions are modules of the check targets (pulled in with #[path]), so cargo-mutants
# names them through src/bin/. The integration tests compile them in too, and those are the
# tests that judge each mutant: the solution must keep passing every check.
cargo mutants \
  --file 'src/bin/../../solutions/*.rs' \
  --jobs 1 \
  --output target/mutants \
  -- --test integration -- generic_500:: retry_after:: retry_on_5xx::
