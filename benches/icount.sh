#!/usr/bin/env bash
# Instructions per call, counted by callgrind: each case runs N and 2N calls,
# and (I(2N) - I(N)) / N is one call's cost with start-up and set-up removed.
# Run from anywhere; needs valgrind. Usage: bash benches/icount.sh [N] [case...]
# ICOUNT_FEATURES=metrics adds the cases of tripline-std's `metrics` feature.
set -euo pipefail
cd "$(dirname "$0")"
N="${1:-100000}"
shift || true
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-target}"
cargo build --release --quiet --bin icount ${ICOUNT_FEATURES:+--features "$ICOUNT_FEATURES"}
BIN="$CARGO_TARGET_DIR/release/icount"
if [ "$#" -gt 0 ]; then CASES=("$@"); else mapfile -t CASES < <("$BIN" list); fi

instructions() { # case, calls -> total instructions executed
  valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN" "$1" "$2" 2>&1 \
    | sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}

printf '| case | instructions per call |\n|---|---:|\n'
for c in "${CASES[@]}"; do
  one=$(instructions "$c" "$N")
  two=$(instructions "$c" $((2 * N)))
  printf '| %s | %s |\n' "$c" "$(python3 -c "print(f'{($two - $one) / $N:.1f}')")"
done
