#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# No position is reported before the bytes behind it are synced, even by a
# writer that starts after another died with its bytes in the page cache
# only.  auditdistd runs with tests/shim/syncorder.c preloaded: in every
# process it follows the trail files and directories that are dirty
# (written, or opened for writing as they were left, or listed) until
# fsync/fdatasync, and records a violation whenever a process writes to a
# socket while one is dirty.  The shim also kills a writer (SIGKILL) at
# the sync of a trail file (once at the data's, once at the index's), so
# the next writer recovers from what was never synced.  adpeer ships three
# segments around those crashes; the trail must be them, byte for byte,
# and no violation may be recorded.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
ADPEER=$B/tests/adpeer
SHIM=$B/tests/syncorder.so
HOST=synchost

need_root
need_cmd openssl ss cmp timeout mount umount
for b in "$RECV" "$ADPEER" "$SHIM"; do
	[ -e "$b" ] || skip "no $b (not built yet: make; make $ADPEER $SHIM)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 90
info "hole 1: a position reported before the bytes behind it were synced"

# The trails on a file system of their own: the shim follows only it.
recv_setup
if mount -t tmpfs -o size=16m,mode=0750 adtest-sync "$trails" 2>/dev/null; then
	on_exit "umount '$trails' 2>/dev/null || umount -l '$trails' 2>/dev/null || cleanup_failed 'could not unmount $trails'"
else
	info "no tmpfs: the trails share $T's file system"
fi
tdir=$trails/$HOST

printf '%s\n' "$PW" > "$T/pw"
chmod 0600 "$T/pw"
ADDR=127.0.0.1:$PORT

rconf=$T/recv.conf
test_recv_conf "$rconf" "$ADDR" $'timeout 5\npidfile "none"' \
    "$(test_recv_host "$HOST" "$PW")"

head -n 1000 "$SAMPLE" > "$T/part1"
sed -n '1001,2000p' "$SAMPLE" > "$T/part2"
sed -n '2001,3000p' "$SAMPLE" > "$T/part3"
cat "$T/part1" "$T/part2" "$T/part3" > "$T/all"
ID=$(openssl rand -hex 16)

viol=$T/syncorder.log
crash=$T/syncorder.crash
: > "$viol"
echo off > "$crash"
chmod 0666 "$viol" "$crash"	# the writers run as $FWD_USER

bg_start recv "$T/recv.log" env LD_PRELOAD="$(realpath "$SHIM")" \
    SYNCORDER_ROOT="$trails" SYNCORDER_LOG="$viol" SYNCORDER_CRASH="$crash" \
    "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen on $ADDR"; }

adpeer()
{
	timeout 30 "$ADPEER" -t 10 -n "$HOST" -W "$T/pw" -f "$FP" -i "$ID" "$ADDR" "$@"
}

# Segment 1, then a writer that dies at the sync of segment 2's data.
out=$(adpeer good "$T/part1") || { echo "$out"; show_tails "$T/recv.log"; fail "adpeer good part1"; }
echo data > "$crash"
out=$(adpeer good "$T/part1" "$T/part2") && fail "the writer was to die at its data sync, yet: $out"
wait_for 'grep -q "^crash .*name=0" "$viol"' 10 || { echo "$out"; show_tails "$T/recv.log"; fail "the writer did not die at its data sync"; }
info "writer killed before its data sync: $(grep -c '^crash' "$viol") crash(es)"

# A new writer recovers; the sender resumes from what it says.
out=$(adpeer good "$T/part1" "$T/part2") || { echo "$out"; show_tails "$T/recv.log"; fail "adpeer good after the crash"; }
echo "$out" | grep -q '^WELCOME ' || fail "no WELCOME after the crash: $out"
info "after the data crash: $(echo "$out" | grep '^WELCOME' | cut -c1-150)"

# Then one that dies at the sync of segment 3's index line.
echo idx > "$crash"
out=$(adpeer good "$T/part1" "$T/part2" "$T/part3") && fail "the writer was to die at its index sync, yet: $out"
wait_for 'grep -q "^crash .*name=.*\.idx" "$viol"' 10 || { echo "$out"; show_tails "$T/recv.log"; fail "the writer did not die at its index sync"; }
out=$(adpeer good "$T/part1" "$T/part2" "$T/part3") || { echo "$out"; show_tails "$T/recv.log"; fail "adpeer good after the index crash"; }
echo "$out" | grep -q "^ACK 3 $(stat -c %s "$T/part3") 1$" || fail "no final ACK of seq 3: $out"

trail_cat "$tdir" | cmp - "$T/all" || fail "the trail is not the three segments byte for byte"
bg_stop recv TERM 15 || fail "auditdistd did not exit within 15 s of SIGTERM"

crashes=$(grep -c '^crash' "$viol" || :)
[ "$crashes" = 2 ] || { cat "$viol"; fail "expected 2 writer crashes, the shim saw $crashes"; }
if grep -q '^violation' "$viol"; then
	grep '^violation' "$viol" | head -5 | sed 's/^/  | /'
	fail "hole 1: $(grep -c '^violation' "$viol") socket write(s) while trail data was not synced"
fi
echo "hole 1: no position reported before its bytes were synced ($crashes writers killed before a sync, the trail intact)"
