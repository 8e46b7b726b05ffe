#!/bin/sh
# t0017-learned-rules: decisions remembered as rules (in-process): exact
# and pattern rules, what they may replace, quorum, the cwd condition.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

judge() { "$TEST_TOOL" judge --learned learned.policy "$@" || true; }

test_expect_success 'an exact rule answers the same request, from the same folder only' '
	"$TEST_TOOL" learn learned.7 "terraform destroy -auto-approve" >learned.policy &&
	grep -qx "rule learned.7 allow" learned.policy &&
	grep -qx "  raw ^terraform destroy -auto-approve\\\\z" learned.policy &&
	grep -qx "  cwd /home/agent/project" learned.policy &&
	judge "terraform destroy -auto-approve" >out &&
	head -1 out | grep -qx allow && grep -qx "rule: learned.7" out &&
	grep -qx "tier: learned" out && grep -qx "reason: decided in a test" out &&
	judge "terraform destroy" >out && grep -qx "rule: cloud.iac-destroy" out &&
	judge --cwd /home/agent/other "terraform destroy -auto-approve" >out &&
	grep -qx "rule: cloud.iac-destroy" out && grep -qx "escalate: yes" out
'

test_expect_success 'quotes, newlines and metacharacters are matched literally' '
	req="kubectl delete ns \"a b\" | tee \$(echo x).log
echo [done]" &&
	"$TEST_TOOL" learn --decision deny learned.8 "$req" >learned.policy &&
	judge "$req" >out && head -1 out | grep -qx deny && grep -qx "rule: learned.8" out &&
	judge "kubectl delete ns \"a b\" | tee \$(echo x).log" >out && ! grep -q learned out
'

test_expect_success 'a pattern rule: same command, subcommand and options, operands in the same place' '
	"$TEST_TOOL" learn --kind pattern learned.9 "terraform destroy -auto-approve -var-file=a.tfvars" >learned.policy &&
	grep -qx "  command terraform" learned.policy && grep -qx "  subcommand destroy" learned.policy &&
	grep -qx "  not path !@project" learned.policy &&
	for c in "terraform destroy" "terraform destroy -auto-approve -var-file=b.tfvars" \
		"cd sub && terraform destroy -auto-approve"; do
		judge "$c" | grep -qx "rule: learned.9" || { echo "not learned: $c"; exit 1; }
	done &&
	judge "cd sub && terraform destroy -auto-approve" | head -1 | grep -qx allow &&
	for c in "terraform destroy -target=x" "cd /srv && terraform destroy"; do
		judge "$c" | grep -qx "rule: cloud.iac-destroy" || { echo "learned: $c"; exit 1; }
	done
'

test_expect_success 'a pattern outside the project keeps to the folder its paths shared' '
	"$TEST_TOOL" learn --kind pattern learned.10 "Write /srv/app/conf/a.conf
x=1" >learned.policy &&
	grep -q "^class learned.10.places /srv/app/conf/\\*\\*$" learned.policy &&
	judge "Write /srv/app/conf/b.conf
y=2" | grep -qx "rule: learned.10" &&
	judge "Write /srv/app/other.conf
y=2" >out && ! grep -q learned out
'

test_expect_success 'learned rules replace only escalations: a learned allow cannot undo a deny' '
	cat >learned.policy <<-\EOP &&
	rule learned.all allow
	  command rm terraform
	  reason learned: anything goes
	EOP
	judge "rm -rf /" >out && head -1 out | grep -qx deny && grep -qx "rule: fs.rm-broad" out &&
	judge "terraform destroy" | grep -qx "rule: learned.all" &&
	judge "git status" | grep -qx "rule: dev.git"
'

test_expect_success 'learned rules: only rule and class, ids learned.*; the prefix is theirs' '
	printf "set quorum 2\n" >learned.policy &&
	! "$TEST_TOOL" judge --learned learned.policy ls 2>err &&
	grep -q "^policy/learned:1: learned rules hold only .rule. and .class. statements, not .set." err &&
	printf "rule other allow\n  command ls\n" >learned.policy &&
	! "$TEST_TOOL" judge --learned learned.policy ls 2>err &&
	grep -q "^policy/learned:1: a learned rule is .rule learned.ID allow|ask|deny." err &&
	printf "rule learned.x allow\n  command ls\n" >p.policy &&
	! "$LIGHTHOUSECTL" policy check p.policy >out &&
	grep -q "^p.policy:1: rule ids beginning .learned.. are kept for learned rules" out
'

test_expect_success 'quorum: set for the policy, or per escalating rule' '
	cat >q.policy <<-\EOP &&
	include builtin:default
	set quorum 2
	rule t.drop escalate
	  command mydb
	  subcommand drop
	  quorum 3
	  tags database
	EOP
	"$TEST_TOOL" judge --policy q.policy "mydb drop prod" >out || true
	grep -qx "quorum: 3" out && grep -qx "tags: database" out &&
	"$TEST_TOOL" judge --policy q.policy "terraform destroy" >out || true
	grep -qx "quorum: 2" out &&
	printf "rule t.a allow\n  quorum 2\nset quorum 0\n" >bad.policy &&
	! "$LIGHTHOUSECTL" policy check bad.policy >out &&
	grep -q "^bad.policy:2: .quorum. is for rules that escalate; rule .t.a. does not" out &&
	grep -q "^bad.policy:3: .quorum. must be a number from 1 to 16" out
'

test_expect_success 'cwd: a condition on the working directory' '
	cat >c.policy <<-\EOP &&
	rule t.in-tmp allow
	  cwd /tmp /tmp/**
	  command make
	  priority 1
	rule t.elsewhere deny
	  command make
	EOP
	"$TEST_TOOL" judge --policy c.policy --cwd /tmp/x make | grep -qx "rule: t.in-tmp" &&
	{ "$TEST_TOOL" judge --policy c.policy --cwd /srv make || true; } | grep -qx "rule: t.elsewhere"
'

test_done
