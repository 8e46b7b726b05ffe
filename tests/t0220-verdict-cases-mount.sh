#!/bin/sh
# t0220-verdict-cases-mount: the declarative cases, judged through the mount.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

# The cases assume an agent whose home is /home/agent and whose project is
# /home/agent/project (not under a temporary folder). Through the mount the
# home is the caller's (from the password database) and the project is
# ours: rewrite the cases for that, and keep the project out of /tmp.
home=$(getent passwd "$(id -u)" | cut -d: -f6)
case $PROJ in
/tmp/* | /var/tmp/* | /dev/shm/*)
	PROJ=$(mkdir -p "$home/.cache" && mktemp -d "$home/.cache/lighthouse-test.XXXXXX" 2>/dev/null) ||
		skip_all "the test folder is under /tmp and $home/.cache is not writable"
	trap 'rm -rf "$PROJ"; lh_cleanup' EXIT
	;;
esac
sed -e "s#/home/agent/project#$PROJ#g" -e "s#/home/agent#$home#g" \
	"$DATA/verdicts.tsv" >"$TMP/cases.tsv"

# escalated cases are checked as the validator answers them (ask): with
# escalation on they would wait for a decision (t0250 tests that)
test_start_daemon -o escalation_timeout=0

test_expect_success 'every case of tests/data/verdicts.tsv through the mount' '
	cd "$PROJ" && "$TEST_TOOL" cases-mount "$MNT" "$TMP/cases.tsv"
'

test_stop_daemon

test_done
