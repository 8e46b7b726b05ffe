#!/bin/sh
# t0012-policy-language: policy files compile, errors point at file:line.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

cd "$TMP" || exit 1

test_expect_success 'the built-in policy is installed beside the binaries and compiles' '
	"$LIGHTHOUSECTL" policy check "$srcdir/validator/default.policy" | grep -q ": ok, [0-9]* rules"
'

test_expect_success 'errors are reported as file:line: message, all of them' '
	cat >bad.policy <<-\EOP &&
	version 1
	rule a.b deny
	  command rm
	  flag -r
	  frobnicate yes
	rule c allow
	  match (unclosed
	set risk-ask lots
	EOP
	! "$LIGHTHOUSECTL" policy check bad.policy >out &&
	grep -q "^bad.policy:5: unknown condition .frobnicate." out &&
	grep -q "^bad.policy:7: bad regular expression at offset 9: missing closing parenthesis" out &&
	grep -q "^bad.policy:8: .risk-ask. must be a number" out
'

test_expect_success 'a missing file is a clear error' '
	! "$LIGHTHOUSECTL" policy check nosuch.policy >out &&
	grep -qx "nosuch.policy: cannot read the policy: No such file or directory" out
'

test_expect_success 'include builtin:default then add a rule of your own' '
	cat >mine.policy <<-\EOP &&
	version 1
	include builtin:default
	rule local.no-docker ask
	  command docker
	  reason docker needs a person here
	EOP
	"$LIGHTHOUSECTL" policy check mine.policy | grep -q "ok" &&
	"$LIGHTHOUSECTL" --policy mine.policy check docker ps >out; [ $? -eq 3 ] &&
	grep -qx "rule: local.no-docker" out &&
	"$LIGHTHOUSECTL" --policy mine.policy check rm -rf / >out; [ $? -eq 1 ]
'

test_expect_success 'priority, severity and classes decide which rule answers' '
	cat >p.policy <<-\EOP &&
	version 1
	class keep /srv/keep /srv/keep/**
	rule t.allow-srv allow
	  command rm
	  path /srv/**
	rule t.deny-keep deny
	  command rm
	  path @keep
	rule t.override allow
	  command rm
	  path /srv/keep/scratch
	  priority 5
	EOP
	"$LIGHTHOUSECTL" --policy p.policy check rm /srv/a | grep -qx "rule: t.allow-srv" &&
	"$LIGHTHOUSECTL" --policy p.policy check rm /srv/keep/a | grep -qx "rule: t.deny-keep" &&
	"$LIGHTHOUSECTL" --policy p.policy check rm /srv/keep/scratch | grep -qx "rule: t.override"
'

test_expect_success 'escalate is delivered as ask, says a person must look, outranks ask' '
	cat >esc.policy <<-\EOP &&
	version 1
	set risk-uncertain escalate
	rule t.ask ask
	  command terraform
	rule t.esc escalate
	  command terraform
	  subcommand destroy
	  reason tearing down infrastructure
	EOP
	"$TEST_TOOL" judge --policy esc.policy "terraform destroy" >out; [ $? -eq 3 ] &&
	head -1 out | grep -qx ask &&
	grep -qx "reason: needs review by a person: tearing down infrastructure" out &&
	grep -qx "rule: t.esc" out && grep -qx "escalate: yes" out &&
	"$TEST_TOOL" judge --policy esc.policy "terraform plan; terraform destroy" >out; [ $? -eq 3 ] &&
	grep -qx "rule: t.esc" out &&
	"$TEST_TOOL" judge --policy esc.policy "terraform plan" >out; [ $? -eq 3 ] &&
	! grep -q escalate out &&
	"$TEST_TOOL" judge --policy esc.policy "sudo foo" >out; [ $? -eq 3 ] &&
	grep -q "^reason: risk score 40 needs review by a person: runs with root privileges" out
'

test_expect_success 'escalate is refused where allow or deny is needed' '
	printf "set risk-uncertain deny\nset unparseable allow\nrule x frob\n" >bad2.policy &&
	! "$LIGHTHOUSECTL" policy check bad2.policy >out &&
	grep -q "^bad2.policy:1: .risk-uncertain. must be ask or escalate" out &&
	grep -q "^bad2.policy:2: .unparseable. must be ask, escalate or deny" out &&
	grep -q "^bad2.policy:3: unknown action .frob. (allow, ask, escalate or deny)" out
'

test_expect_success 'target is what a command writes, not what it reads' '
	cat >t.policy <<-\EOP &&
	version 1
	rule t.w deny
	  target /srv/**
	  reason writes {path}
	EOP
	for c in "cp a /srv/x" "cp -t /srv a b" "mv a b /srv/" "ln -s /x /srv/l" "tee -a /srv/x" \
		"dd if=a of=/srv/x" "curl -o /srv/x http://h" "wget -O/srv/x http://h" \
		"tar xf a.tar -C /srv" "unzip a.zip -d /srv/x" "echo x >/srv/x" "install -m 755 a /srv/b"; do
		"$TEST_TOOL" judge --policy t.policy "$c" >out; [ $? -eq 4 ] || { echo "not denied: $c"; false; }
	done &&
	for c in "cp /srv/a ./b" "tee b </srv/x" "dd if=/srv/x of=b" "rsync -a /srv/ host:/srv/" \
		"cat /srv/x" "scp /srv/x host:/srv/x"; do
		"$TEST_TOOL" judge --policy t.policy "$c" >out; [ $? -ne 4 ] || { echo "denied: $c"; false; }
	done
'

test_expect_success 'the risk tier explains its score and sees obfuscation' '
	cat >r.policy <<-\EOP &&
	version 1
	list risk-destructive rm cp
	class autorun ~/.bashrc
	EOP
	"$TEST_TOOL" judge --policy r.policy "cp x ~/.bashrc" >out; [ $? -eq 3 ] &&
	grep -q "^reason: risk score 60: changes /home/agent/.bashrc, which runs by itself (+60)" out &&
	"$TEST_TOOL" judge --policy r.policy "\$'"'"'\\x72\\x6d'"'"' x" >out; [ $? -eq 3 ] &&
	grep -q "^reason: risk score 40: the command name rm is spelled in escapes (+40)" out &&
	"$TEST_TOOL" judge --policy r.policy "cp /etc/hosts ." >out; [ $? -eq 0 ] &&
	"$TEST_TOOL" shell "rm\${IFS}-rf\${IFS}/" | grep -q "^\[rm\] <rm> <-rf> </>"
'

test_expect_success 'generic match rules are gated by their literal, never wrongly' '
	cat >g.policy <<-\EOP &&
	version 1
	rule g.one deny
	  match abc[d-f]ef
	rule g.two ask
	  match ab(xyz|qq)
	rule g.three ask
	  match ^(echo|printf) only-regex$
	rule g.four deny
	  not match zz
	  command touch
	EOP
	"$TEST_TOOL" judge --policy g.policy "echo abcdef" | grep -qx "rule: g.one" &&
	"$TEST_TOOL" judge --policy g.policy "ls; echo xabceefy" | grep -qx "rule: g.one" &&
	"$TEST_TOOL" judge --policy g.policy "echo abqq" | grep -qx "rule: g.two" &&
	"$TEST_TOOL" judge --policy g.policy "echo only-regex" | grep -qx "rule: g.three" &&
	"$TEST_TOOL" judge --policy g.policy "touch x" | grep -qx "rule: g.four" &&
	"$TEST_TOOL" judge --policy g.policy "echo ab; echo cdef" | grep -qx "rule: -"
'

test_expect_success 'a pathological regex is bounded, not hung' '
	cat >re.policy <<-\EOP &&
	version 1
	rule t.slow deny
	  raw ^(a+)+$
	EOP
	input=$(printf "a%.0s" $(seq 1 40))b &&
	timeout 10 "$LIGHTHOUSECTL" --policy re.policy check "$input" >out; rc=$?
	[ $rc -ne 124 ]
'

test_done
