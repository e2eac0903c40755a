#!/usr/bin/env bash
# Runs every fuzz target briefly over its seed corpus and then on new
# inputs: fuzz.sh DURATION (for example 3s).
set -euo pipefail
dur=${1:-5s}
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for pkg in $(go list ./...); do
	dir=$(go list -f '{{.Dir}}' "$pkg")
	for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //'); do
		echo "fuzz $pkg $target ($dur)"
		go test -run '^$' -fuzz "^${target}\$" -fuzztime "$dur" "$pkg" >"$log" 2>&1 || { cat "$log"; exit 1; }
	done
done

