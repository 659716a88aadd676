#!/bin/bash
# usage: adversary/runall.sh N DIR  -> one line per file: name, failing checks (or PASSED)
shopt -s nullglob
N=$1; D=$2
for f in $D/wrong_*.rs $D/right_*.rs; do
  out=$(adversary/try.sh $N $f)
  failed=$(echo "$out" | grep '^✗' | sed 's/^✗ //' | cut -c1-60 | sort -u | paste -sd'|')
  seed=$(echo "$out" | grep -o 'seed [0-9]*' | head -1)
  if echo "$out" | grep -q 'rc=0'; then echo "$(basename $f) PASSED ($seed)"; else echo "$(basename $f) caught: $failed ($seed)"; fi
done
