#!/bin/sh
# t0330-current-policy: the policy guards file I/O in current/. Writing,
# creating, renaming onto or away from, deleting or changing the mode of
# a protected path fails with EACCES, and so does reading a secret;
# what the policy does not protect works. A policy of one's own can
# protect more (here: git's object store).
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse

C=$MNT/current
echo 'API_KEY=secret' >"$PROJ/.env"
echo 'API_KEY=example' >"$PROJ/.env.example"
echo key >"$PROJ/deploy.pem"
echo fine >"$PROJ/readme"
test_start_daemon

test_expect_success 'reading a secret is denied, reading anything else is not' '
	! cat "$C/.env" 2>err && grep -q "Permission denied" err &&
	! cat "$C/deploy.pem" 2>err && grep -q "Permission denied" err &&
	[ "$(cat "$C/.env.example")" = "API_KEY=example" ] &&
	[ "$(cat "$C/readme")" = fine ] &&
	ls -a "$C" | grep -qx .env && stat "$C/.env" >/dev/null
'

test_expect_success 'writing, truncating, changing the mode of a secret is denied' '
	! sh -c "echo x >>\"$C/.env\"" 2>err && grep -q "Permission denied" err &&
	! truncate -s 0 "$C/.env" 2>err && grep -q "Permission denied" err &&
	! chmod 600 "$C/.env" 2>err && grep -q "Permission denied" err &&
	! touch "$C/.env" 2>err && grep -q "Permission denied" err &&
	[ "$(cat "$PROJ/.env")" = "API_KEY=secret" ]
'

test_expect_success 'creating, renaming onto, renaming away and deleting a secret are denied' '
	! sh -c "echo x >\"$C/id_rsa\"" 2>err && grep -q "Permission denied" err &&
	! [ -e "$PROJ/id_rsa" ] &&
	! mv "$C/readme" "$C/server.key" 2>err && grep -q "Permission denied" err &&
	! mv "$C/.env" "$C/env.txt" 2>err && grep -q "Permission denied" err &&
	! rm -f "$C/.env" 2>err && grep -q "Permission denied" err &&
	! ln -s readme "$C/other.pem" 2>err && grep -q "Permission denied" err &&
	! ln "$C/readme" "$C/hard.pem" 2>err && grep -q "Permission denied" err &&
	! mkdir "$C/.envrc" 2>err && grep -q "Permission denied" err &&
	[ -f "$PROJ/.env" ] && [ -f "$PROJ/readme" ] && ! [ -e "$PROJ/server.key" ]
'

test_expect_success 'everything else works, and the denials are counted' '
	echo ok >"$C/notes" && mv "$C/notes" "$C/notes2" && chmod 600 "$C/notes2" && rm "$C/notes2" &&
	echo changed >"$C/.env.example" &&
	[ "$(metric lighthouse_current_denied_total)" -ge 13 ]
'

# A folder moved out of the project behind the daemon's back while a
# caller's cwd is in it: what is written there is no longer in the
# project and is not recorded (but counted), and the policy judges it
# where it really is -- not a silent allow. (Written before the notifier
# saw the move, it is still taken for the project's: the wait.)
test_expect_success 'a folder moved out of the project: the policy judges where it is now' '
	mkdir "$C/leaving" "$TMP/away" && recorded && [ -d "$MNT/history/latest/leaving" ] &&
	unnamed=$(metric lighthouse_current_unnamed_writes_total) &&
	(cd "$C/leaving" && mv "$PROJ/leaving" "$TMP/away/" &&
	 n=0 && while [ -e "$MNT/history/latest/leaving" ]; do
		n=$((n + 1)); [ $n -lt 100 ] || exit 1; sleep 0.05; done &&
	 echo plain >notes && ! sh -c "echo x >.env" 2>"$TMP/err") &&
	grep -q "Permission denied" "$TMP/err" &&
	[ "$(cat "$TMP/away/leaving/notes")" = plain ] && ! [ -e "$TMP/away/leaving/.env" ] &&
	[ "$(metric lighthouse_current_unnamed_writes_total)" -ge $((unnamed + 2)) ] &&
	n=0 && until ctl events --type file.denied | grep -q "$TMP/away/leaving/.env"; do
		n=$((n + 1)); [ $n -lt 100 ] || return 1; sleep 0.05; done
'

test_expect_success 'file accesses have a verdict cache of their own, not the commands one' '
	entries=$(metric lighthouse_cache_entries) &&
	misses=$(metric lighthouse_file_cache_misses_total) &&
	for i in 1 2 3 4 5 6 7 8; do echo x >"$C/many.$i" || return 1; done &&
	[ "$(metric lighthouse_cache_entries)" = "$entries" ] &&
	[ "$(metric lighthouse_file_cache_misses_total)" -ge $((misses + 8)) ] &&
	hits=$(metric lighthouse_file_cache_hits_total) &&
	cat "$C/many.1" >/dev/null && cat "$C/many.1" >/dev/null &&
	[ "$(metric lighthouse_file_cache_hits_total)" -gt "$hits" ] &&
	[ "$(metric lighthouse_file_cache_capacity)" = 65536 ] &&
	rm "$C"/many.*
'

test_stop_daemon

cat >"$TMP/git.policy" <<'POLICY'
include builtin:default

rule local.git-internals deny
  tool Write
  path /**/.git/objects/** /**/.git/refs/**
  reason git's object store is written by git through the real directory only
POLICY

test_expect_success 'a policy of our own protects the object store of git' '
	command -v git >/dev/null || { echo "no git: skipped"; exit 0; }
	mkdir -p "$PROJ/repo/.git/objects/ab" "$PROJ/repo/.git/refs/heads" &&
	echo old >"$PROJ/repo/.git/objects/ab/cd" &&
	lh_start --policy "$TMP/git.policy" &&
	! sh -c "echo x >\"$C/repo/.git/objects/ab/new\"" 2>err && grep -q "Permission denied" err &&
	! rm "$C/repo/.git/objects/ab/cd" 2>err && grep -q "Permission denied" err &&
	! sh -c "echo x >\"$C/repo/.git/refs/heads/main\"" 2>err &&
	[ "$(cat "$C/repo/.git/objects/ab/cd")" = old ] &&
	echo fine >"$C/repo/.git/description" &&
	lh_stop
'

test_done
