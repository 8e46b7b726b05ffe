#!/bin/sh
# t0001-sources: rules of the source tree that a compiler does not check.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

cd "$srcdir" || exit 1

test_expect_success 'every C file includes common/banned.h, last' '
	bad=
	for f in $(find common validator store fs ctl hook tests bench -name "*.c" 2>/dev/null); do
		case $f in */default_policy.c) continue ;; esac
		last=$(grep "^#include" "$f" | tail -n 1)
		[ "$last" = "#include \"common/banned.h\"" ] || bad="$bad $f"
	done
	[ -z "$bad" ] || { echo "not last or missing in:$bad"; false; }
'

test_expect_success 'no stubs or "not implemented" in the sources' '
	! grep -rn -E "TODO: implement|not implemented|NOT_IMPLEMENTED" \
		--include="*.c" --include="*.h" common validator store fs ctl hook
'

test_expect_success 'every C file opens with a comment' '
	bad=
	for f in $(find common validator store fs ctl hook -name "*.c" -o -name "*.h"); do
		head -n 1 "$f" | grep -q "^/\*" || bad="$bad $f"
	done
	[ -z "$bad" ] || { echo "no opening comment:$bad"; false; }
'

test_done
