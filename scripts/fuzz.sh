#!/usr/bin/env bash
# Run each fuzz target for FUZZTIME. Usage: scripts/fuzz.sh FUZZTIME pkg:Target...
# A failure that wrote a failing input to testdata/fuzz is a bug: stop. A
# failure that wrote none (the fuzzer's own "context deadline exceeded" at
# the end of a time-bounded run, or a worker lost on a loaded machine) is
# retried, up to three attempts in all.
set -uo pipefail
fuzztime=$1
shift
go=${GO:-go}
for t in "$@"; do
  pkg=${t%%:*} name=${t#*:}
  echo "fuzz $name ($fuzztime)"
  for attempt in 1 2 3; do
    before=$(git status --porcelain -- "$pkg/testdata/fuzz" 2>/dev/null)
    if "$go" test -run '^$' -fuzz "^$name\$" -fuzztime "$fuzztime" "$pkg" >"${TMPDIR:-/tmp}/fuzz-$name.log" 2>&1; then
      tail -1 "${TMPDIR:-/tmp}/fuzz-$name.log"
      break
    fi
    grep -v '^fuzz: elapsed' "${TMPDIR:-/tmp}/fuzz-$name.log"
    after=$(git status --porcelain -- "$pkg/testdata/fuzz" 2>/dev/null)
    if [[ $before != "$after" || $attempt == 3 ]]; then
      echo "fuzz $name failed; a failing input, if any, is under $pkg/testdata/fuzz/$name" >&2
      exit 1
    fi
    echo "fuzz $name: the fuzzer failed without a failing input; retrying" >&2
  done
done
