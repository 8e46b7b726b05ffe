#!/bin/sh
# t0010-shell-parse: the shell parser sees the commands bash would run.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

parse() { "$TEST_TOOL" shell "$1"; }

test_expect_success 'splits ; && || | and keeps quotes' '
	out=$(parse "ls -l; echo \"a;b\" && cat x | grep y || true")
	echo "$out" | grep -q "^\[ls\] <ls> <-l>" &&
	echo "$out" | grep -q "^\[echo\] <echo> <a;b>" &&
	echo "$out" | grep -q "^\[grep\] <grep> <y> from=cat" &&
	[ "$(echo "$out" | wc -l)" -eq 5 ]
'

test_expect_success 'sees through sudo, env, nice and sh -c' '
	parse "sudo -u root env A=1 nice -n 5 sh -c \"rm -rf ~\"" >out &&
	grep -q "^\[rm\] <rm> <-rf> </home/agent> wrappers=sudo env nice sh" out
'

test_expect_success 'propagates a variable and splits its value' '
	parse "x=/; y=\"-r -f\"; rm \$y \$x" >out &&
	grep -q "^\[rm\] <rm> <-r> <-f> </>" out
'

test_expect_success 'marks unknown expansions as dynamic' '
	parse "rm -rf \$DIR/\$(date)" >out &&
	grep -q "<\$DIR/\$(date)>\*" out &&
	grep -q "^\[date\]" out
'

test_expect_success 'parses substitutions, backticks and process substitution' '
	parse "echo \$(id) \`whoami\` <(date)" >out &&
	grep -q "^\[id\]" out && grep -q "^\[whoami\]" out && grep -q "^\[date\]" out
'

test_expect_success 'decodes escapes and ANSI-C quotes' '
	q=$(printf "\047") &&
	parse "\\rm -rf \$${q}\\x2f${q} r\"\"m" >out &&
	grep -q "^\[rm\] <rm> <-rf> </> <rm>" out
'

test_expect_success 'reads here-documents fed to a shell as scripts' '
	parse "$(printf "bash <<EOF\nrm -rf /tmp/x\nEOF\n")" >out &&
	grep -q "^\[rm\] <rm> <-rf> </tmp/x> ctx=0x400 depth=1" out
'

test_expect_success 'expands aliases defined earlier in the line' '
	parse "alias ll=\"ls -l\"; ll /tmp" >out &&
	grep -q "^\[ls\] <ls> <-l> </tmp> ctx=0 depth=1" out
'

test_expect_success 'flattens if, for, while, case and functions' '
	parse "if true; then a1; else a2; fi; for i in 1; do a3; done; while false; do a4; done; case x in y) a5;; esac; f() { a6; }" >out &&
	for c in a1 a2 a3 a4 a5 a6; do grep -q "^\[$c\]" out; done
'

test_expect_success 'find -exec and xargs run their commands' '
	parse "find /srv -exec rm -f {} \\; ; ls | xargs rm -rf" >out &&
	grep -q "^\[rm\] <rm> <-f> </srv/\*> wrappers=find" out &&
	grep -q "^\[rm\] <rm> <-rf> <{input}>\* from=ls wrappers=xargs" out
'

test_expect_success 'expands unquoted braces, bounded, as bash does' '
	parse "rm -rf /{bin,etc} ~/{.ssh,.aws}" >out &&
	grep -q "^\[rm\] <rm> <-rf> </bin> </etc> </home/agent/.ssh> </home/agent/.aws> ctx" out &&
	parse "echo {a,b}{1,2} {1..7..3} {x..z} {a,{b,c}}d" >out &&
	grep -q "<a1> <a2> <b1> <b2> <1> <4> <7> <x> <y> <z> <ad> <bd> <cd> ctx" out &&
	parse "echo {} {x} {a,b \"{c,d}\" x={e,f}" >out &&
	grep -q "<{}> <{x}> <{a,b> <{c,d}> <x=e> <x=f> ctx" out &&
	parse "x={a,b}; echo \$x >f{1,2}" >out &&
	grep -q "^\[echo\] <echo> <{a,b}> redir(0,1,f{1,2})" out &&
	parse "echo {1..100000}" | grep -q "<{1..100000}> ctx"
'

test_expect_success 'binds a for loop variable to each listed value' '
	parse "for d in / {a,b}; do rm -rf \$d; done >log; echo \$d" >out &&
	grep -q "^\[rm\] <rm> <-rf> </> redir(0,1,log)" out &&
	grep -q "^\[rm\] <rm> <-rf> <a> redir(0,1,log)" out &&
	grep -q "^\[rm\] <rm> <-rf> <b> redir(0,1,log)" out &&
	grep -q "^\[echo\] <echo> <b> ctx" out &&
	parse "for x in a b; do while read y; do rm \$x\$y; done; done" >out &&
	grep -q "<a\$y>\*" out && grep -q "<b\$y>\*" out &&
	parse "for f in *.c \$(ls); do rm \$f; done" | grep -q "<\$f>\*"
'

test_expect_success 'a cd moves what follows, inside the shell that ran it' '
	parse "cd /srv && rm -rf *; (cd /tmp; rm a); rm b; bash -c \"cd /opt\"; rm c; cd \$X; rm d" >out &&
	grep -q "^\[rm\] <rm> <-rf> <\*> ctx=0 depth=0 cwd=/srv" out &&
	grep -q "^\[rm\] <rm> <a> ctx=0x20 depth=1 cwd=/tmp" out &&
	grep -q "^\[rm\] <rm> <b> ctx=0 depth=0 cwd=/srv" out &&
	grep -q "^\[rm\] <rm> <c> ctx=0 depth=0 cwd=/srv" out &&
	grep -q "^\[rm\] <rm> <d> ctx=0 depth=0 cwd=?" out
'

test_expect_success 'known defaults, pwd, xargs input and printf text' '
	parse "rm -rf \${D:-/} \$(pwd)/x" >out &&
	grep -q "^\[rm\] <rm> <-rf> </> <?>\* </home/agent/project/x>" out &&
	parse "echo / /tmp | xargs rm -rf; printf \"a\\\\nb\" | xargs -I{} rm {}/x" >out &&
	grep -q "^\[rm\] <rm> <-rf> </> </tmp> from=echo wrappers=xargs" out &&
	grep -q "^\[rm\] <rm> <a/x> from=printf" out && grep -q "^\[rm\] <rm> <b/x> from=printf" out &&
	parse "printf \"\\\\x72\\\\x6d -rf %s\" / | sh" | grep -q "^\[rm\] <rm> <-rf> </> ctx=0x400"
'

test_expect_success 'reports unterminated quotes without a crash' '
	parse "echo \"abc" | grep -q "^error: unterminated double quote" &&
	parse "echo '"'"'abc" | grep -q "^error: unterminated single quote" &&
	parse "(ls" | grep -q "^error: unexpected end of input"
'

test_expect_success 'bounds the nesting depth' '
	cmd=$(printf "\$(%.0s" $(seq 1 30))ls$(printf ")%.0s" $(seq 1 30)) &&
	parse "$cmd" | grep -q "nesting too deep"
'

test_done
