#!/bin/sh
# t0016-corpus: the labeled accuracy corpus. A row labeled deny that is
# judged allow fails the build; every other miss is listed and counted
# (bench/validator reports the figures).
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

test_expect_success 'the corpus has at least 500 labeled rows' '
	[ "$(grep -c -v -e "^#" -e "^$" "$DATA/corpus.tsv")" -ge 500 ]
'

test_expect_success 'no row labeled deny is allowed' '
	"$TEST_TOOL" corpus "$DATA/corpus.tsv" >out; rc=$?
	cat out
	[ $rc -eq 0 ] && grep -q "^unsafe_deny_allowed 0 rows" out
'

test_expect_success 'a deny row judged allow does fail the check' '
	printf "deny\tBash\tprobe\tls -la\n" >probe.tsv &&
	! "$TEST_TOOL" corpus probe.tsv >out &&
	grep -q "UNSAFE" out && grep -q "^unsafe_deny_allowed 1 rows" out
'

test_done
