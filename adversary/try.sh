#!/bin/bash
# usage: adversary/try.sh N FILE [extra check args]  -> prints the check's ✓/✗ lines
N=$1; F=$2; shift 2
cd /work/wt/adv910
case $N in 9) EX=exercises/09_retry_budget.rs;; 10) EX=exercises/10_request_ids.rs;; esac
cp "$F" "$EX"
out=$(target/debug/httplings --color never check $N "$@" 2>&1)
rc=$?
git checkout -q -- "$EX"
echo "$out" > "${F%.rs}.last.txt"
echo "$out" | grep -E '^[✓✗–]|checks pass|seed|error' | head -20
echo "rc=$rc"
