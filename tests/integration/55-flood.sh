#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# A flood of idle connections.  While a legitimate audisp-dist ships, one
# unauthenticated client opens 1,000 TCP connections to the receiver and
# sends nothing on them (more than auditdistd's limit of connections not
# yet authenticated).  The connected sender must keep shipping, and a
# sender that connects during the flood must be served: a receiver that
# refuses every new connection while its slots are held by idle strangers
# can be kept from ever taking a reconnecting sender, by one client.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

FLOOD=${ADTEST_FLOOD_N:-1000}
TIMEOUT=${ADTEST_FLOOD_TIMEOUT:-10}	# the receiver's timeout
SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FWD=$B/audisp-dist-forwarder
FEED=$B/tests/feed
ADPEER=$B/tests/adpeer
read -r -a RECV_ARGS <<< "${ADTEST_RECV_ARGS:--f}"

need_root
need_cmd openssl ss cmp stat timeout
for b in "$RECV" "$PLUGIN" "$FWD" "$FEED" "$ADPEER"; do
	[ -x "$b" ] || skip "no $b (not built yet: make; make $FEED $ADPEER)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
[ "$(ulimit -n)" -ge $((FLOOD + 64)) ] || ulimit -n $((FLOOD + 64)) 2>/dev/null ||
    skip "cannot open $FLOOD descriptors (ulimit -n $(ulimit -n))"
deadline 180
t0=$(now_ms)

recv_setup
printf '%s\n' "$PW" > "$T/pw"
chmod 0600 "$T/pw"
ADDR=127.0.0.1:$PORT

rconf=$T/recv.conf
test_recv_conf "$rconf" "$ADDR" "timeout $TIMEOUT" \
    "$(test_recv_host legit "$PW"; test_recv_host late "$PW")"

spool=$T/spool
conf=$T/sender.conf
test_sender_conf "$conf" "legit" "$spool" "$ADDR" "$FP" "$PW" $TIMEOUT \
    "segment_size 128K"

input=$T/input
sample_stream "$SAMPLE" $((6 * 1024 * 1024)) "$input"
feed_input "$input" "$input.feed"
size=$(stat -c %s "$input")

bg_start recv "$T/recv.log" "$RECV" "${RECV_ARGS[@]}" "$rconf"
wait_for "port_listening $PORT" 10 || { show_tails -n 15 "$T/recv.log"; fail "auditdistd did not listen on $ADDR"; }
# Shipping for about 25 s, through the flood.
bg_start legit "$T/legit.log" "$FEED" -b 4194304 -t 900 -r $((size / 25)) \
    -w "$size:$T/go.never" "$input.feed" "$PLUGIN" -f "$conf"
wait_for '[ "$(trail_size "$trails/legit")" -gt 0 ]' 20 ||
    { show_tails -n 15 "$T/recv.log" "$T/legit.log"; fail "the sender shipped nothing within 20 s"; }

bg_start flood "$T/flood.out" "$ADPEER" -t $((TIMEOUT * 2)) "$ADDR" stall-tcp "$FLOOD"
wait_for "grep -q '^OPENED' '$T/flood.out'" 20 || { show_tails -n 15 "$T/flood.out"; fail "adpeer could not open $FLOOD connections"; }
before=$(trail_size "$trails/legit")
sleep 2

# A sender that comes now must get in.
late=$(timeout 30 "$ADPEER" -t 10 -n late -W "$T/pw" "$ADDR" hello 2>&1) && rc=0 || rc=$?
during=$(trail_size "$trails/legit")
bg_stop flood 0 $((TIMEOUT * 3)) || :
info "flood: $(grep '^CLOSED' "$T/flood.out" || echo '?'); late sender: exit $rc: $(echo "$late" | grep -v '^TLS' | tr '\n' ' ')"
full=$(grep -c 'too many connections' "$T/recv.log" || :)

[ "$during" -gt "$before" ] || fail "the connected sender shipped nothing during the flood ($before -> $during bytes)"

if ! wait_for '[ "$(trail_size "$trails/legit")" -ge "$size" ]' 90; then
	show_tails -n 15 "$T/recv.log" "$T/legit.log"
	fail "the trail holds $(trail_size "$trails/legit") of $size bytes"
fi
trail_cat "$trails/legit" | cmp - "$input" || fail "the legitimate trail is not the input byte for byte"

if [ "$rc" != 0 ]; then
	grep 'too many connections' "$T/recv.log" | head -2 | sed 's/^/  | /'
	fail "a sender connecting during a flood of $FLOOD idle connections was refused ($(echo "$late" | grep -vE '^(TLS|ELAPSED)' | head -1)): one client can lock every sender out for as long as it keeps its connections open"
fi

p=$(child_pid "$(bg_pid legit)")
[ -n "$p" ] || { show_tails -n 15 "$T/legit.log"; fail "audisp-dist is not running"; }
kill -TERM "$p"
bg_stop legit 0 15 || fail "audisp-dist did not exit within 15 s of SIGTERM"
bg_stop recv TERM 15 || fail "auditdistd did not exit within 15 s of SIGTERM"
[ "$BG_RC" = 0 ] || { show_tails -n 15 "$T/recv.log"; fail "auditdistd exited with status $BG_RC"; }

t1=$(now_ms)
echo "flood: $FLOOD idle connections; the connected sender kept shipping ($before -> $during bytes)," \
    "a new sender got in; receiver said 'too many connections' $full time(s); $(( (t1 - t0) / 1000 )) s in all"
