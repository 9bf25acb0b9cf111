#!/usr/bin/env bash
# Runs every fuzz target in the repository (each `func FuzzXxx` in a
# _test.go file) for a short bounded time, one target per `go test`
# invocation, as CI does. The committed seed corpora (testdata/fuzz/FuzzXxx/)
# also run in every plain `go test`. A crash fails the run; `go test` writes
# the input to testdata/fuzz/FuzzXxx/ — commit it as a seed with the fix.
#
#   FUZZTIME=30s scripts/fuzz-smoke.sh            # longer, locally
#   scripts/fuzz-smoke.sh ./deploy/gate           # one package
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
FUZZTIME="${FUZZTIME:-3s}"
roots=("${@:-.}")

start=$(date +%s)
n=0
while IFS= read -r file; do
	dir="./$(dirname "${file#./}")"
	for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
		echo "== $name ($dir, $FUZZTIME)"
		go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel 2 "$dir"
		n=$((n + 1))
	done
done < <(grep -rl --include='*_test.go' '^func Fuzz' "${roots[@]}" | sort)
echo "== $n fuzz targets in $(( $(date +%s) - start ))s"
