#!/bin/sh
# t0014-interpreters: what interpreter one-liners run, delete and write is
# seen and judged like a shell command.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

# Inputs are written here, outside the single-quoted test bodies, so that
# they can hold any quotes: parse NAME parses the file NAME.
cd "$TMP" || exit 1
parse() { "$TEST_TOOL" shell "$(cat "$TMP/$1")"; }

cat >py <<'EOC'
python3 -c "import os, shutil, subprocess; os.system(\"rm -rf /\"); subprocess.run([\"git\", \"push\", \"-f\"]); shutil.rmtree('/srv'); open('/etc/hosts', 'a')"
EOC
cat >pl <<'EOC'
perl -le 'system "shutdown now" or die; unlink "/etc/passwd"; print `id`'
EOC
cat >rb <<'EOC'
ruby -e 'FileUtils.rm_rf("/usr"); system("rm", "-rf", "/var")'
EOC
cat >js <<'EOC'
node -e "require('child_process').execSync('reboot'); fs.rmSync('/opt', {recursive: true}); fs.unlinkSync('a.txt')"
EOC
cat >php <<'EOC'
php -r 'shell_exec("halt");'
EOC
cat >awk <<'EOC'
awk 'BEGIN { system("poweroff") } { print | "sh"; print > "/etc/motd" }' f
EOC
cat >vars <<'EOC'
python3 -c "d = '/srv'; import os; os.system('rm -rf ' + d + '/x'); os.system(cmd); os.remove(f)"
EOC
cat >fstr <<'EOC'
python3 -c "import os; os.system(f'rm -rf {top}/cache')"
EOC
cat >heredoc <<'EOC'
python3 - <<'EOF'
import shutil
shutil.rmtree("/home")
EOF
EOC
cat >herestr <<'EOC'
node <<< "require('child_process').exec('reboot')"
EOC
cat >pipe <<'EOC'
echo 'import os; os.system("halt")' | sudo python3
EOC
cat >harmless <<'EOC'
python3 -c "import asyncio; asyncio.run(main()); print('rm -rf /'); [1].remove(1)"
EOC
cat >harmless2 <<'EOC'
perl -pi -e 's/"/x/; s/a/b/' f; awk '{ if ($1 > 2) print $1 }' f
EOC
cat >regex <<'EOC'
perl -e 's/x/"/; system("reboot")'
EOC
cat >ls <<'EOC'
python3 -c "import os; os.system('ls')"
EOC
awk 'BEGIN { printf "python3 -c '"'"'"; for (i = 0; i < 300; i++) printf "os.system(\"ls\"); "; print "'"'"'" }' >long

test_expect_success 'python -c: os.system, subprocess lists, shutil.rmtree, open for writing' '
	parse py >out &&
	grep -q "^\[rm\] <rm> <-rf> </> wrappers=python3 ctx=0x900 depth=2" out &&
	grep -q "^\[git\] <git> <push> <-f> wrappers=python3 ctx=0x800" out &&
	grep -q "^\[rm\] <rm> <-rf> <--> </srv> wrappers=python3 ctx=0x800" out &&
	grep -q "^\[:\] <:> redir(0,1,/etc/hosts) wrappers=python3" out &&
	grep -q "^\[python3\] <python3> <-c>" out
'

test_expect_success 'perl, ruby, node, php and awk one-liners' '
	parse pl >out &&
	grep -q "^\[shutdown\] <shutdown> <now> wrappers=perl" out &&
	grep -q "^\[rm\] <rm> <--> </etc/passwd> wrappers=perl" out &&
	grep -q "^\[id\] <id> wrappers=perl" out &&
	parse rb >out &&
	grep -q "^\[rm\] <rm> <-rf> <--> </usr> wrappers=ruby" out &&
	grep -q "^\[rm\] <rm> <-rf> </var> wrappers=ruby" out &&
	parse js >out &&
	grep -q "^\[reboot\] <reboot> wrappers=node" out &&
	grep -q "^\[rm\] <rm> <-rf> <--> </opt> wrappers=node" out &&
	grep -q "^\[rm\] <rm> <--> <a.txt> wrappers=node" out &&
	parse php | grep -q "^\[halt\] <halt> wrappers=php" &&
	parse awk >out &&
	grep -q "^\[poweroff\] <poweroff> wrappers=awk" out &&
	grep -q "^\[sh\] <sh> wrappers=awk" out &&
	grep -q "^\[:\] <:> redir(0,1,/etc/motd) wrappers=awk" out
'

test_expect_success 'variables and unknown parts of the code' '
	parse vars >out &&
	grep -q "^\[rm\] <rm> <-rf> </srv/x> wrappers=python3" out &&
	grep -q "^\[\] <?>\* wrappers=python3" out &&
	grep -q "^\[rm\] <rm> <--> <?>\* wrappers=python3" out &&
	parse fstr | grep -q "^\[rm\] <rm> <-rf> <?/cache>\* wrappers=python3"
'

test_expect_success 'programs on stdin: here-documents, here-strings and pipes' '
	parse heredoc | grep -q "^\[rm\] <rm> <-rf> <--> </home> ctx=0xc00" &&
	parse herestr | grep -q "^\[reboot\] <reboot> ctx=0xd00" &&
	parse pipe | grep -q "^\[halt\] <halt> wrappers=sudo ctx=0xd10"
'

test_expect_success 'the harmless stays harmless' '
	parse harmless >out && [ "$(grep -c . out)" -eq 1 ] &&
	parse harmless2 >out && [ "$(grep -c . out)" -eq 2 ]
'

test_expect_success 'a quote in a Perl regex cannot hide a call' '
	parse regex | grep -q "^\[reboot\]"
'

test_expect_success 'code too long to read is a run-time command, not a pass' '
	parse long | grep -q "^\[\] <?>\* wrappers=python3"
'

test_expect_success 'context interpreter matches commands found in code' '
	cat >ctx.policy <<-\EOP &&
	version 1
	rule t.interp ask
	  command ls
	  context interpreter
	EOP
	"$TEST_TOOL" judge --policy ctx.policy "$(cat ls)" >out; [ $? -eq 3 ] &&
	grep -qx "rule: t.interp" out &&
	"$TEST_TOOL" judge --policy ctx.policy "ls" >out; [ $? -eq 0 ]
'

test_done
