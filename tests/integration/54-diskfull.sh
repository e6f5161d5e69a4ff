#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# The receiver's disk fills up mid-stream.  auditdistd keeps its trails on
# a 2 MiB tmpfs and a sender ships a stream of several MiB into it.  When
# the file system is full the receiver must log it once (not once per
# retry), keep only whole lines (the trail a byte prefix of the input, each
# file ending with a newline), and refuse with ERR_DISK_FULL; the sender
# must keep what was not acknowledged in its spool and back off.  When the
# file system grows (remount, 64 MiB) the stream must complete by itself,
# byte-identical.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

MB=${ADTEST_DISKFULL_MB:-6}
WATCH=${ADTEST_DISKFULL_WATCH:-12}	# seconds to watch the full disk
SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FWD=$B/audisp-dist-forwarder
FEED=$B/tests/feed
read -r -a RECV_ARGS <<< "${ADTEST_RECV_ARGS:--f}"
HOST=fullhost

need_root
need_cmd openssl ss cmp perl stat mount umount findmnt
for b in "$RECV" "$PLUGIN" "$FWD" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet: make; make $FEED)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 240
t0=$(now_ms)

recv_setup
if ! out=$(mount -t tmpfs -o size=2m,mode=0750 adtest-full "$trails" 2>&1); then
	skip "cannot mount a tmpfs here: $out"
fi
# Registered before anything is started in it: runs last.
on_exit "umount '$trails' 2>/dev/null || umount -l '$trails' 2>/dev/null || cleanup_failed 'could not unmount $trails'"
tdir=$trails/$HOST

input=$T/input
sample_stream "$SAMPLE" $((MB * 1024 * 1024)) "$input"
feed_input "$input" "$input.feed"
size=$(stat -c %s "$input")


rconf=$T/recv.conf
test_recv_conf "$rconf" "127.0.0.1:$PORT" "timeout 5" "trail_size 512K" \
    "$(test_recv_host "$HOST" "$PW")"

spool=$T/spool
conf=$T/sender.conf
test_sender_conf "$conf" "$HOST" "$spool" "127.0.0.1:$PORT" "$FP" "$PW" 5 \
    "$(printf '%s\n' "segment_size 64K" "spool_max_size 0")"

FULL_RE='no space|disk full|ENOSPC|file system is full'

bg_start recv "$T/recv.log" "$RECV" "${RECV_ARGS[@]}" "$rconf"
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen on port $PORT"; }
bg_start send "$T/send.log" "$FEED" -b 4194304 -t 900 -w "$size:$T/go.never" \
    "$input.feed" "$PLUGIN" -f "$conf"
FEED_PID=$BG_PID

if ! wait_for "grep -qiE '$FULL_RE' '$T/recv.log'" 60; then
	show_tails "$T/recv.log" "$T/send.log"
	df -k "$trails" | sed 's/^/  | /'
	fail "the receiver logged no full disk within 60 s (trail $(trail_size "$tdir") bytes on a 2 MiB tmpfs)"
fi
t_full=$(now_ms)
info "disk full after $(( (t_full - t0) / 1000 )) s: $(grep -iE "$FULL_RE" "$T/recv.log" | head -1 | cut -c1-200)"

# Watch the full disk for a while: the sender retries, the receiver holds.
sleep "$WATCH"
pid_alive "$FEED_PID" || { show_tails "$T/send.log"; fail "audisp-dist died while the receiver's disk was full"; }
pid_alive "${_BG_PIDS[recv]}" || { show_tails "$T/recv.log"; fail "auditdistd died with a full disk"; }
full_lines=$(grep -ciE "$FULL_RE" "$T/recv.log" || :)
[ "$full_lines" = 1 ] || {
	grep -iE "$FULL_RE" "$T/recv.log" | head -5 | cut -c1-200 | sed 's/^/  | /'
	fail "the receiver logged the full disk $full_lines times in ${WATCH}+ s (once per episode expected)"; }

# Whole lines only, and a prefix of the input.
held=$(trail_size "$tdir")
{ [ "$held" -gt 0 ] && [ "$held" -lt "$size" ]; } || fail "the trail holds $held of $size bytes while the disk is full"
for f in $(trail_files "$tdir"); do
	[ "$(tail -c 1 "$f" | od -An -tx1 | tr -d ' ')" = 0a ] ||
	    fail "$f ends inside a record while the disk is full"
done
trail_cat "$tdir" | cmp -n "$held" - "$input" ||
    fail "the trail is not a byte prefix of the input while the disk is full"
# Nothing torn anywhere in the store either (the links are the same files).
for f in "$tdir"/.store/????????????????; do
	[ -s "$f" ] || continue
	[ "$(tail -c 1 "$f" | od -An -tx1 | tr -d ' ')" = 0a ] ||
	    fail "store file $f ends inside a record"
done

# The sender keeps everything the receiver does not have.
u=$(status_value "$spool/status" unacked.recv)
case $u in
''|0|unknown) fail "the status says unacked.recv=$u while the receiver holds $held of $size bytes" ;;
esac
mapfile -t segs < <(spool_segments "$spool")
spooled=$(cat "${segs[@]}" /dev/null | wc -c)
[ $((held + spooled)) -ge "$size" ] ||
    fail "receiver $held + spool $spooled bytes < input $size: the sender dropped unacknowledged segments"

# It retries, and backs off: the connections the receiver accepted from
# this host while the disk was full (it logs each, but the full disk only
# once).  An exponential backoff from 1 s (1, 2, 4, 8 s, less 25% jitter)
# makes about 4 in 12 s; a fixed 1 s pace makes 12.
attempts=$(grep -cE "host $HOST: connected from" "$T/recv.log" || :)
attempts=$((attempts - 1))	# the first one filled the disk
retry_check()
{
	[ "$attempts" -ge 2 ] ||
	    fail "the sender reconnected $attempts times in ${WATCH}+ s of full disk: it does not retry"
	[ "$attempts" -le $((WATCH / 2)) ] ||
	    fail "the sender reconnected $attempts times in ${WATCH}+ s of full disk: its backoff does not grow (every refused attempt sends DATA again)"
}
info "while full: receiver holds $held bytes, spool $spooled, unacked.recv=$u, $attempts retries in ${WATCH}+ s"

# Grow the file system: the stream must complete by itself.
mount -o remount,size=64m "$trails" || fail "could not grow the tmpfs"
t_grow=$(now_ms)
if ! wait_for '[ "$(trail_size "$tdir")" -ge "$size" ]' 120; then
	show_tails "$T/recv.log" "$T/send.log"
	echo "status: $(tail -n 1 "$spool/status" 2>/dev/null)"
	fail "the trail holds $(trail_size "$tdir") of $size bytes 120 s after the disk grew"
fi
t_done=$(now_ms)
wait_for '[ "$(status_value "$spool/status" unacked.recv)" = 0 ]' 15 ||
    fail "the trail is complete but the status says: $(tail -n 1 "$spool/status")"
trail_cat "$tdir" | cmp - "$input" || fail "after the disk grew, the trail is not the input byte for byte"
wait_for '[ -z "$(find "$spool" -maxdepth 1 -name "*.seg")" ]' 10 ||
    fail "shipped segments are still in the spool"
full_lines=$(grep -ciE "$FULL_RE" "$T/recv.log" || :)

p=$(child_pid "$FEED_PID")
[ -n "$p" ] || { show_tails "$T/send.log"; fail "audisp-dist is not running"; }
kill -TERM "$p"
bg_stop send 0 15 || fail "audisp-dist did not exit within 15 s of SIGTERM"
bg_stop recv TERM 15 || fail "auditdistd did not exit within 15 s of SIGTERM"
[ "$BG_RC" = 0 ] || { show_tails "$T/recv.log"; fail "auditdistd exited with status $BG_RC"; }
if grep -qE 'invariant failed|AddressSanitizer|runtime error' "$T/recv.log" "$T/send.log"; then
	show_tails "$T/recv.log" "$T/send.log"
	fail "an internal error was reported"
fi

retry_check

# The sender was told why: ERROR(ERR_DISK_FULL) reaches it (its log or
# its status's last_error name it), not a bare connection reset.
if ! grep -qiE 'disk.full' "$T/send.log" "$spool/status"; then
	echo "sender log:"; grep -iE 'forwarder: host' "$T/send.log" | head -5 | cut -c1-200 | sed 's/^/  | /'
	echo "status last_error values:"; grep -o 'last_error=.*' "$spool/status" | sort | uniq -c | cut -c1-200 | sed 's/^/  | /'
	fail "the sender never learnt that the receiver's disk was full (ERROR disk-full lost: the receiver closes with unread input, so the kernel resets the connection)"
fi

t1=$(now_ms)
echo "diskfull: full after $(( (t_full - t0) / 1000 )) s holding $held of $size bytes (whole lines);" \
    "logged $full_lines time(s); $attempts retries while full; unacked while full: $u; the stream completed" \
    "$(( (t_done - t_grow) / 1000 )).$(( (t_done - t_grow) % 1000 / 100 )) s after the disk grew, byte-identical;" \
    "$(( (t1 - t0) / 1000 )) s in all"
