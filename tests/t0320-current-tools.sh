#!/bin/sh
# t0320-current-tools: real tools work inside current/. One session -- a
# small C project built with make, git init/add/commit/status/stash/
# checkout, sed -i, vim and a script that write a file and rename it over
# the original, tar x, cp -a, rsync -a, find, grep -r -- runs on a real
# directory and in current/; what the tools print and the trees they
# leave must be the same.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"
require_fuse
FSOPS=$builddir/tests/fsops
for t in git make cc tar; do
	command -v $t >/dev/null || skip_all "needs $t"
done

# no make of ours around the session's make; fixed identities and dates:
# git's hashes come out the same in both places
unset MAKEFLAGS MAKELEVEL MFLAGS
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@example.org GIT_COMMITTER_NAME=t \
	GIT_COMMITTER_EMAIL=t@example.org GIT_AUTHOR_DATE='2026-01-01T00:00:00Z' \
	GIT_COMMITTER_DATE='2026-01-01T00:00:00Z' GIT_CONFIG_NOSYSTEM=1 HOME=$TMP LC_ALL=C
git config --global init.defaultBranch main
git config --global advice.detachedHead false

# the material: a C project and a tarball of it, made natively
SRC=$TMP/src
mkdir -p "$SRC/lib" "$SRC/docs"
cat >"$SRC/main.c" <<'C'
#include <stdio.h>
#include "lib/util.h"
int main(void) { printf("sum=%d\n", add(2, 3)); return 0; }
C
cat >"$SRC/lib/util.h" <<'C'
int add(int a, int b);
C
cat >"$SRC/lib/util.c" <<'C'
#include "util.h"
int add(int a, int b) { return a + b; }
C
printf 'prog: main.o lib/util.o\n\tcc -o prog main.o lib/util.o\n%%.o: %%.c lib/util.h\n\tcc -c -o $@ $<\nclean:\n\trm -f prog *.o lib/*.o\n' >"$SRC/Makefile"
printf 'first line\nTODO fix this\nlast line\n' >"$SRC/docs/notes.txt"
ln -s ../main.c "$SRC/docs/main-link.c"
ln "$SRC/docs/notes.txt" "$SRC/docs/notes-hardlink.txt"
chmod 640 "$SRC/docs/notes.txt"
touch -d '2025-06-01 12:00:00' "$SRC/lib/util.h"
tar -C "$TMP" -cf "$TMP/src.tar" src

session() {
	set -e
	echo "== make"
	cp -a "$SRC" build && cd build
	make -s && ./prog
	make 2>&1 | sed 's/ for .*//'
	sleep 1.1 && touch lib/util.c && make | sort
	./prog
	make -s clean && ls
	cd ..

	echo "== git"
	mkdir repo && cd repo
	git init -q . && cp -a "$SRC"/. . && git add . && git commit -qm first
	git log --format='%H %s'
	echo change >>main.c && git status --porcelain
	git stash -q && git status --porcelain && cat main.c | tail -1
	git stash pop -q && git diff --stat
	git commit -qam second && git checkout -q -b topic HEAD~1
	tail -1 main.c && git checkout -q main && tail -1 main.c
	git ls-files -s
	git status --porcelain --ignored
	git fsck --no-progress 2>&1 && git gc -q && git count-objects | sed 's/, .*//'
	cd ..

	echo "== sed -i, vim, write and rename"
	cp "$SRC/docs/notes.txt" notes.txt
	sed -i 's/TODO/DONE/' notes.txt && cat notes.txt
	if command -v vim >/dev/null; then
		vim -u NONE -i NONE -es '+set nocompatible backupcopy=no writebackup' \
			'+%s/first/1st/' '+wq' notes.txt && cat notes.txt
	fi
	printf 'rewritten\n' >.notes.txt.swp && mv .notes.txt.swp notes.txt && cat notes.txt
	ls -a

	echo "== tar x"
	mkdir untar && tar -C untar -xf "$TMP/src.tar" && ls -R untar | head -20
	stat -c '%n %a %Y' untar/src/lib/util.h

	echo "== cp -a, rsync -a"
	cp -a "$SRC" copied && stat -c '%n %a %h %Y' copied/lib/util.h copied/docs/notes.txt
	if command -v rsync >/dev/null; then
		rsync -a "$SRC/" synced/ && stat -c '%n %a %h %Y' synced/lib/util.h synced/docs/notes.txt
		echo extra >>"$SRC/../extra.txt"
		rsync -a --delete "$SRC/" synced/ && ls synced
	fi

	echo "== find, grep -r"
	find . -path ./repo/.git -prune -o -name '*.c' -print | sort
	find . -path ./repo/.git -prune -o -type l -print | sort
	find . -path ./repo/.git -prune -o -newer "$SRC/lib/util.h" -name util.h -print | sort
	grep -rn --exclude-dir=.git 'add(' . | sort
	grep -rl DONE . | sort
}

REAL=$TMP/real
mkdir -p "$REAL" "$PROJ/w"
test_start_daemon

test_expect_success 'make, git, sed -i, vim, tar, cp -a, rsync -a, find and grep -r: the same in current/' '
	(cd "$REAL" && session) >real.out 2>&1 &&
	(cd "$MNT/current/w" && session) >mnt.out 2>&1 &&
	diff -u real.out mnt.out &&
	grep -qx "sum=5" mnt.out && grep -q "^DONE fix this" mnt.out && grep -qx rewritten mnt.out &&
	grep -q "^./build/lib/util.c:2:int add" mnt.out
'

test_expect_success 'and left the same tree (git internals aside: the index holds inode numbers)' '
	(cd "$REAL" && "$FSOPS" tree .) | grep -v "^repo/.git" >real.tree &&
	(cd "$MNT/current/w" && "$FSOPS" tree .) | grep -v "^repo/.git" >mnt.tree &&
	(cd "$PROJ/w" && "$FSOPS" tree .) | grep -v "^repo/.git" >proj.tree &&
	diff -u real.tree mnt.tree && diff -u mnt.tree proj.tree &&
	[ $(wc -l <mnt.tree) -gt 40 ]
'

test_expect_success 'git sees the repository made through the mount as clean from outside' '
	[ -z "$(cd "$PROJ/w/repo" && git status --porcelain)" ] &&
	[ "$(cd "$PROJ/w/repo" && git rev-parse HEAD)" = "$(cd "$REAL/repo" && git rev-parse HEAD)" ]
'

test_stop_daemon
test_done
