#!/bin/sh
# t0013-fuzz: random and mutated requests never crash the parsers.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

test_expect_success 'request, shell and policy survive 40000 mutated inputs' '
	"$TEST_TOOL" fuzz-request 20000 1 && "$TEST_TOOL" fuzz-request 20000 2
'

test_expect_success 'and 30000 mutations of the accuracy corpus rows' '
	"$TEST_TOOL" fuzz-request 30000 3 "$DATA/corpus.tsv"
'

test_expect_success 'a quick no of the path matcher is never said of a match' '
	"$TEST_TOOL" match-quick 1000000 1 && "$TEST_TOOL" match-quick 1000000 2
'

test_done
