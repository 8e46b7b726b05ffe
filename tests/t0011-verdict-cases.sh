#!/bin/sh
# t0011-verdict-cases: the declarative cases, judged in-process.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

test_expect_success 'every case of tests/data/verdicts.tsv is judged as expected' '
	"$TEST_TOOL" cases "$DATA/verdicts.tsv"
'

test_expect_success 'the judgment does not depend on the order (cache warm)' '
	"$TEST_TOOL" cases "$DATA/verdicts.tsv" >/dev/null &&
	tac "$DATA/verdicts.tsv" >"$TMP/reversed.tsv" &&
	"$TEST_TOOL" cases "$TMP/reversed.tsv"
'

test_expect_success 'lighthousectl check gives the same verdicts and exit codes' '
	cd "$TMP" &&
	"$LIGHTHOUSECTL" check rm -rf / >out; rc=$?; [ $rc -eq 1 ] && head -1 out | grep -qx deny &&
	"$LIGHTHOUSECTL" check git status >out; rc=$?; [ $rc -eq 0 ] && head -1 out | grep -qx allow &&
	"$LIGHTHOUSECTL" check git reset --hard >out; rc=$?; [ $rc -eq 3 ] && head -1 out | grep -qx ask &&
	"$LIGHTHOUSECTL" check Read /etc/shadow >out; rc=$?; [ $rc -eq 1 ] &&
	grep -qx "rule: secrets.read" out
'

test_done
