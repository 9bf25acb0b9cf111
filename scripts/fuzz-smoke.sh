#!/usr/bin/env bash
# Runs every fuzz target in the repository (each `func FuzzXxx` in a
# _test.go file) for a short bounded time, one target per `go test`
# invocation, as CI does. The committed seed corpora (testdata/fuzz/FuzzXxx/)
# also run in every plain `go test`. A crash fails the run; `go test` writes
# the input to testdata/fuzz/FuzzXxx/ — commit it as a seed with the fix.
#
#   FUZZTIME=30s scripts/fuzz-smoke.sh            # longer, locally
#   scripts/fuzz-smoke.sh ./deploy/gate           # one package
#
# Go 1.26's fuzz coordinator can fail a target at the end of -fuzztime with a
# bare "context deadline exceeded" and no failing input (golang/go#75804,
# fixed in Go 1.27). Such a run wrote no reproducer: it is run again, up to
# twice; a run that writes a reproducer, or fails any other way, fails at once.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
FUZZTIME="${FUZZTIME:-3s}"
roots=("${@:-.}")

start=$(date +%s)
n=0
while IFS= read -r file; do
	dir="./$(dirname "${file#./}")"
	for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
		corpus="$dir/testdata/fuzz/$name"
		for try in 1 2 3; do
			echo "== $name ($dir, $FUZZTIME)"
			before=$(ls "$corpus" 2>/dev/null | sort || true)
			out=$(mktemp)
			if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -parallel 2 "$dir" 2>&1 | tee "$out"; then
				rm -f "$out"
				break
			fi
			after=$(ls "$corpus" 2>/dev/null | sort || true)
			if [[ "$before" == "$after" && $try -lt 3 ]] && grep -q '^    context deadline exceeded$' "$out" &&
				! grep -qE 'Failing input written|panic:' "$out"; then
				echo "== $name: the fuzz coordinator's deadline race (golang/go#75804), no input written: again"
				rm -f "$out"
				continue
			fi
			rm -f "$out"
			echo "== $name failed" >&2
			exit 1
		done
		n=$((n + 1))
	done
done < <(grep -rl --include='*_test.go' '^func Fuzz' "${roots[@]}" | sort)
echo "== $n fuzz targets in $(( $(date +%s) - start ))s"
