# Helpers for the CLI scenario tests. Source it; TREU is the binary under test.
set -euo pipefail
: "${TREU:?TREU must name the treu binary}"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() {  # expect_eq ACTUAL EXPECTED WHAT
  [[ "$1" == "$2" ]] || fail "$3: expected '$2', got '$1'"
}
expect_contains() {  # expect_contains HAYSTACK NEEDLE WHAT
  [[ "$1" == *"$2"* ]] || fail "$3: expected to contain '$2', got: $1"
}
sql() { sqlite3 "$WORK/$1" "$2"; }
