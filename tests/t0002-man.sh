#!/bin/sh
# t0002-man: the man pages are well-formed mdoc.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
command -v mandoc >/dev/null || skip_all "mandoc is not installed (Debian package mandoc)"

for page in lighthoused.8 lighthousectl.8 lighthouse-hook.1 lighthouse-policy.5 lighthouse.7; do
	test_expect_success "man/$page passes mandoc -Tlint" '
		mandoc -Tlint -Wwarning "$srcdir/man/$page" >out 2>&1 || true
		! grep -v -e "referenced manual not found" -e "outdated mandoc.db" out | grep .
	'
done

test_done
