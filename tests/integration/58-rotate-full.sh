#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# The disk fills exactly while a new trail file is started.  auditdistd
# keeps its trails on a 2 MiB tmpfs with trail_size 64K; adpeer ships
# segments of a little more than 64K, so each one after the first starts
# a new file.  Before a rotation the rest of the tmpfs is taken by a
# filler file: the new file and its index are created, and writing the
# index's first line fails with ENOSPC.  The host must not be locked out:
# once the filler is gone, the next connection goes on by itself, both
# with the same receiver and after a restart while the disk was full, and
# the trail is every segment byte for byte.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
ADPEER=$B/tests/adpeer
HOST=rothost

need_root
need_cmd openssl ss cmp timeout mount umount stat
for b in "$RECV" "$ADPEER"; do
	[ -x "$b" ] || skip "no $b (not built yet: make; make $ADPEER)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 90
info "hole 2: a full disk during rotation locks a host out"

recv_setup
if ! out=$(mount -t tmpfs -o size=2m,mode=0750 adtest-rot "$trails" 2>&1); then
	skip "cannot mount a tmpfs here: $out"
fi
on_exit "umount '$trails' 2>/dev/null || umount -l '$trails' 2>/dev/null || cleanup_failed 'could not unmount $trails'"
tdir=$trails/$HOST

printf '%s\n' "$PW" > "$T/pw"
chmod 0600 "$T/pw"
ADDR=127.0.0.1:$PORT

rconf=$T/recv.conf
test_recv_conf "$rconf" "$ADDR" $'timeout 5\npidfile "none"' "trail_size 64K" \
    "$(test_recv_host "$HOST" "$PW")"

# Four segments of whole lines, each a little more than 64K.
awk -v dir="$T" 'n < 5 { if (len == 0) n++; print > (dir "/part" n);
    len += length($0) + 1; if (len >= 70000) len = 0 }' "$SAMPLE"
parts=()
for i in 1 2 3 4; do
	[ "$(stat -c %s "$T/part$i" 2>/dev/null || echo 0)" -ge 70000 ] || skip "$SAMPLE: too short for four segments of 70000 bytes"
	parts+=("$T/part$i")
done
ID=$(openssl rand -hex 16)

start_recv()
{
	bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
	wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen on $ADDR"; }
}

adpeer()
{
	timeout 30 "$ADPEER" -t 10 -n "$HOST" -W "$T/pw" -f "$FP" -i "$ID" "$ADDR" good "$@"
}

# Take every free byte of the tmpfs.
fill()
{
	local avail
	avail=$(stat -f -c '%a*%S' "$trails")
	avail=$((avail))
	[ "$avail" -gt 0 ] || return 0
	head -c "$avail" /dev/zero > "$trails/.filler" 2>/dev/null || :
}

# Ship segments 1..n-1 first, fill the disk, then segment n must fail
# while its new file is started.
full_rotation()
{
	local n=$1 files out rc
	files=$(ls "$tdir/.store" 2>/dev/null | grep -c -v idx || :)
	fill
	out=$(adpeer "${parts[@]:0:n}") && rc=0 || rc=$?
	[ "$rc" = 26 ] || { echo "$out"; show_tails "$T/recv.log"; fail "segment $n on a full disk: adpeer exited $rc, not 26 (ERROR 6 disk full)"; }
	[ "$(ls "$tdir/.store" | grep -c -v idx)" -gt "$files" ] ||
	    fail "the disk did not fill during rotation (no new trail file was created)"
	info "segment $n: disk full while its trail file was started ($(grep -c 'new trail file' "$T/recv.log") rotations logged)"
}

resume()
{
	local n=$1 out
	out=$(adpeer "${parts[@]:0:n}") ||
	    { echo "$out"; show_tails "$T/recv.log"; fail "hole 2: with room again, the host is still refused ($2)"; }
	echo "$out" | grep -q "^ACK $n $(stat -c %s "$T/part$n") 1$" || fail "no final ACK of seq $n ($2): $out"
}

start_recv
out=$(adpeer "${parts[@]:0:2}") || { echo "$out"; show_tails "$T/recv.log"; fail "adpeer could not ship segments 1 and 2"; }

# The same receiver: the disk fills, then space is freed.
full_rotation 3
out=$(adpeer "${parts[@]:0:3}") && fail "segment 3 was stored with a full disk: $out"
rm -f "$trails/.filler"
resume 3 "the same receiver"

# A restart while the disk is full, then space is freed.
full_rotation 4
bg_stop recv TERM 15 || fail "auditdistd did not exit within 15 s of SIGTERM"
start_recv
rm -f "$trails/.filler"
resume 4 "after a restart"

bg_stop recv TERM 15 || fail "auditdistd did not exit within 15 s of SIGTERM"
cat "${parts[@]}" > "$T/all"
trail_cat "$tdir" | cmp - "$T/all" || fail "the trail is not the four segments byte for byte"
for f in $(trail_files "$tdir"); do
	case $f in
	*/audit.log) want=640 ;;
	*) want=440 ;;
	esac
	[ "$(stat -c %a "$f")" = "$want" ] || fail "$f has mode $(stat -c %a "$f"), not $want"
done
if grep -q 'Permission denied' "$T/recv.log"; then
	grep 'Permission denied' "$T/recv.log" | head -3 | sed 's/^/  | /'
	fail "hole 2: the writer could not reopen the previous trail file"
fi
echo "hole 2: a full disk during rotation, with and without a restart, resumed by itself; trail intact"
