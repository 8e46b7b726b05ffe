#!/bin/sh
# t0021-blobs: file contents in the store -- content-addressed, stored once,
# chunked by content so a small edit stores little, streamed both ways.
. "${srcdir:-$(dirname "$0")/..}/tests/lib.sh"

S=$TMP/s
chunks() { "$TEST_TOOL" store-query "$S" "SELECT count(*) || ' ' || coalesce(sum(size), 0) FROM chunks"; }

test_expect_success 'a content comes back byte for byte, and its id is its xxh3-128' '
	head -c 5000000 /dev/urandom >big &&
	"$TEST_TOOL" blob-put "$S" big >put &&
	read -r id size peak <put &&
	[ "$size" = 5000000 ] &&
	"$TEST_TOOL" blob-get "$S" "$id" 2>/dev/null | cmp - big &&
	if command -v xxhsum >/dev/null; then
		[ "$(xxhsum -H2 big | cut -d" " -f1)" = "$id" ] || [ "$(xxhsum -H128 big | cut -d" " -f1)" = "$id" ]
	fi
'

test_expect_success 'reads at any offset (history/ reads files this way)' '
	id=$(cut -d" " -f1 put) &&
	for at in 0 1 16383 16384 2500000 4999990; do
		"$TEST_TOOL" blob-pread "$S" "$id" $at 70000 >got &&
		dd if=big bs=1 skip=$at count=70000 2>/dev/null | cmp - got || { echo "at $at"; exit 1; }
	done &&
	"$TEST_TOOL" blob-pread "$S" "$id" 5000000 10 >got && [ ! -s got ]
'

test_expect_success 'chunks are cut by content: 4 to 64 KiB (the last may be shorter), and cover the content' '
	"$TEST_TOOL" store-query "$S" "SELECT min(c.size) >= 4096 FROM blob_chunks bc JOIN chunks c ON c.id = bc.chunk
		JOIN blobs b ON b.id = bc.blob WHERE bc.off + c.size < b.size" >out &&
	"$TEST_TOOL" store-query "$S" "SELECT max(size) <= 65536, sum(size) FROM chunks" >>out &&
	[ "$(cat out | tr "\n" " ")" = "1 1|5000000 " ] &&
	[ "$("$TEST_TOOL" store-query "$S" "SELECT chunks FROM blobs")" -gt 100 ]
'

test_expect_success 'the same content twice is stored once' '
	before=$(chunks) && id=$(cut -d" " -f1 put) &&
	"$TEST_TOOL" blob-put "$S" big >put2 && [ "$(cut -d" " -f1 put2)" = "$id" ] &&
	[ "$(chunks)" = "$before" ] &&
	[ "$("$TEST_TOOL" store-query "$S" "SELECT count(*) FROM blobs")" = 1 ]
'

test_expect_success 'a small edit in the middle of a big file stores one or two new chunks, not the file' '
	before=$(chunks) && id=$(cut -d" " -f1 put) &&
	cp big edited && printf "EDITED" | dd of=edited bs=1 seek=2500000 conv=notrunc 2>/dev/null &&
	"$TEST_TOOL" blob-put "$S" edited >put3 && [ "$(cut -d" " -f1 put3)" != "$id" ] &&
	after=$(chunks) &&
	added=$(( ${after#* } - ${before#* } )) && echo "added $added bytes" &&
	[ $added -gt 0 ] && [ $added -le $((2 * 65536)) ] &&
	"$TEST_TOOL" blob-get "$S" "$(cut -d" " -f1 put3)" 2>/dev/null | cmp - edited
'

test_expect_success 'bytes inserted at the start shift everything, and still store little' '
	before=$(chunks) &&
	{ printf "a new first line\n"; cat big; } >shifted &&
	"$TEST_TOOL" blob-put "$S" shifted >put4 &&
	after=$(chunks) &&
	added=$(( ${after#* } - ${before#* } )) && echo "added $added bytes" &&
	[ $added -le $((2 * 65536)) ] &&
	"$TEST_TOOL" blob-get "$S" "$(cut -d" " -f1 put4)" 2>/dev/null | cmp - shifted
'

test_expect_success 'empty and tiny contents are blobs too' '
	: >empty && printf x >one &&
	"$TEST_TOOL" blob-put "$S" empty >pe && [ "$(cut -d" " -f2 pe)" = 0 ] &&
	"$TEST_TOOL" blob-get "$S" "$(cut -d" " -f1 pe)" 2>/dev/null >got && [ ! -s got ] &&
	"$TEST_TOOL" blob-put "$S" one >po &&
	"$TEST_TOOL" blob-get "$S" "$(cut -d" " -f1 po)" 2>/dev/null | cmp - one
'

# AddressSanitizer keeps freed memory in quarantine: without it, the peak
# measures what is live, as in a normal build.
no_quarantine="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=0:thread_local_quarantine_size_kb=0"

test_expect_success 'a big content is never held whole in memory, storing or reading' '
	export ASAN_OPTIONS="$no_quarantine" &&
	head -c 67108864 /dev/urandom >huge &&
	"$TEST_TOOL" blob-put "$S" huge >ph && read -r hid hsize hpeak <ph &&
	echo "put: peak $hpeak kB for 65536 kB" && [ "$hpeak" -lt 32768 ] &&
	"$TEST_TOOL" blob-get "$S" "$hid" 2>err | cmp - huge &&
	gpeak=$(sed -n "s/^peak_kb //p" err) && echo "get: peak $gpeak kB" && [ "$gpeak" -lt 32768 ]
'

test_expect_success 'an unknown blob is an error, not empty content' '
	! "$TEST_TOOL" blob-get "$S" 00000000000000000000000000000000 >out 2>err &&
	grep -q "not in the store" err
'

test_expect_success 'verify checks every chunk and blob, and finds a changed chunk' '
	rm -f huge &&
	"$LIGHTHOUSECTL" --state "$S" verify >out && grep -q "^ok: 6 blobs" out &&
	cp -r "$S" "$TMP/bad" &&
	"$TEST_TOOL" store-query -w "$TMP/bad" "UPDATE chunks SET data = zeroblob(size) WHERE rowid = 3" &&
	! "$LIGHTHOUSECTL" --state "$TMP/bad" verify >out &&
	grep -q "^bad: chunk [0-9a-f]\{32\}: its bytes do not match its id or size" out
'

test_expect_success 'verify finds a blob whose chunk list lost a chunk' '
	rm -rf "$TMP/bad" && cp -r "$S" "$TMP/bad" &&
	"$TEST_TOOL" store-query -w "$TMP/bad" "DELETE FROM blob_chunks WHERE off = (SELECT min(off) FROM blob_chunks WHERE off > 0)" &&
	! "$LIGHTHOUSECTL" --state "$TMP/bad" verify >out &&
	grep -q "^bad: blob [0-9a-f]\{32\}: its chunk list has a hole" out
'

test_expect_success 'sealed contents wait for the event that names them: 200 make one commit' '
	"$TEST_TOOL" blob-seal "$TMP/seal" 200 >out &&
	cat out &&
	grep -qx "commits 1" out &&
	grep -qx "held 200" out
'

test_expect_success 'a content sealed with no event after it is stored when its writer is freed' '
	grep -qx "alone held 1" out
'

test_expect_success 'a sealed writer takes nothing more' '
	grep -qx "add after seal Invalid argument" out
'

test_done
