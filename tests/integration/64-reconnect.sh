#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Hole 8: a receiver that comes back gets its records within seconds.
# audisp-dist is fed at a steady pace while its receiver is stopped for
# 32 s (the forwarder keeps failing to connect, its back-off growing);
# once the receiver is started again, shipping must resume (the trail
# grows) within the documented bound of the back-off for transient
# failures (5 s) plus 2 s.  With the old cap of 60 s the forwarder
# waited 24 to 32 s after its fifth failure: far beyond.  At the end the
# trail must be the input byte for byte.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

BOUND=5			# FWD_BACKOFF_MAX, as audisp-dist(8) says
DOWN=32
SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
need_root
need_cmd openssl ss cmp perl stat
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet)"
done
deadline 90

recv_setup
rconf=$T/recv.conf
test_recv_conf "$rconf" "127.0.0.1:$PORT" "timeout 5" \
    "$(test_recv_host back "$PW")"
test_sender_conf "$T/send.conf" back "$T/spool" "127.0.0.1:$PORT" "$FP" "$PW" 5 \
    "segment_size 16K"

# About 60 s of records at a steady pace, then a pause until the end.
sample_stream "$SAMPLE" 600000 "$T/input"
feed_input "$T/input" "$T/input.feed"
size=$(stat -c %s "$T/input")
rate=$((size / 60))

bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || fail "auditdistd did not listen"
bg_start send "$T/send.log" "$FEED" -r "$rate" -t 120 -w "$size:$T/go" \
    "$T/input.feed" "$PLUGIN" -f "$T/send.conf"
tdir=$trails/back
wait_for '[ "$(trail_size "$tdir")" -gt 0 ]' 15 ||
    { show_tails "$T/send.log" "$T/recv.log"; fail "nothing shipped in 15 s"; }

bg_stop recv TERM 15 || fail "auditdistd did not stop"
info "receiver stopped for $DOWN s"
sleep "$DOWN"
before=$(trail_size "$tdir")
bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || fail "auditdistd did not listen again"
t0=$(now_ms)
if ! wait_for '[ "$(trail_size "$tdir")" -gt "$before" ]' $((BOUND + 2)); then
	show_tails "$T/send.log"
	fail "hole 8: shipping did not resume within $((BOUND + 2)) s of the receiver coming back (trail stuck at $before bytes)"
fi
t1=$(now_ms)
grep -q 'retrying with backoff' "$T/send.log" ||
    fail "the sender never said it was retrying"

wait_for '[ "$(trail_size "$tdir")" -ge "$size" ]' 60 ||
    { show_tails "$T/send.log" "$T/recv.log"; fail "the trail holds $(trail_size "$tdir") of $size bytes"; }
trail_cat "$tdir" | cmp - "$T/input" || fail "the trail differs from the input"
touch "$T/go"
bg_stop send 0 15 || fail "audisp-dist did not exit at the end of its input"
bg_stop recv TERM 15 || fail "auditdistd did not stop"
echo "hole 8: receiver down ${DOWN} s; shipping resumed $((t1 - t0)) ms after it came back (bound ${BOUND} s + 2 s); trail == input"
