#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# The status file as an administrator reads it, around a receiver whose
# pin is wrong and then fixed (audisp-dist(8), STATUS FILE):
#   hole 1: before the first connection the receiver read "unknown" and
#           the whole spool was counted as unacked; now "connecting" and
#           unacked.HOST=unknown until the receiver says what it holds.
#   hole 2: last_error was cut at 255 characters, in the middle of the
#           second fingerprint of a pin mismatch; now it is whole.
#   hole 3: last_error stayed after the receiver was connected again,
#           next to unacked=0; now it is cleared (last_error="",
#           last_error_time=none), and while current it has its time.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
need_root
need_cmd openssl ss stat
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet)"
done
deadline 90

recv_setup
tls_cert "$pki" other
WRONG=$(tls_fingerprint "$pki/other.pem")
rconf=$T/recv.conf
test_recv_conf "$rconf" "127.0.0.1:$PORT" "timeout 5" \
    "$(test_recv_host stat "$PW")"
conf=$T/send.conf
spool=$T/spool
test_sender_conf "$conf" stat "$spool" "127.0.0.1:$PORT" "$WRONG" "$PW" 5
status=$spool/status

# hole N ...: say it, go on (to show every hole), fail at the end.
HOLES=()
hole()
{
	echo "FAIL: hole $*"
	HOLES+=("hole ${1%:}")
}

sample_stream "$SAMPLE" 100000 "$T/input"
feed_input "$T/input" "$T/input.feed"
size=$(stat -c %s "$T/input")

# Receiver down at first: the plugin starts, spools, cannot connect.
bg_start send "$T/send.log" "$FEED" -t 80 -w "$size:$T/go" \
    "$T/input.feed" "$PLUGIN" -f "$conf"
wait_for '[ -s "$status" ]' 10 || fail "no status file $status"
first=$(grep -m 1 ' receiver\.recv=' "$status") ||
    fail "no receiver field in $status: $(head -n 1 "$status")"
info "first line: $first"
v=$(echo "$first" | tr ' ' '\n' | sed -n 's/^receiver\.recv=//p')
[ "$v" = connecting ] ||
    hole 1: "before the first connection receiver.recv=$v, not connecting"
wait_for '[ "$(status_value "$status" spool_bytes)" -gt 0 ] 2>/dev/null' 10 ||
    fail "nothing spooled: $(tail -n 1 "$status")"
line=$(tail -n 1 "$status")
v=$(status_value "$status" unacked.recv)
[ "$v" = unknown ] ||
    hole 1: "never connected, but unacked.recv=$v (spool_bytes=$(status_value "$status" spool_bytes)): $line"

# The receiver up, the pin wrong: an error naming both fingerprints, whole.
bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || fail "auditdistd did not listen"
wait_for '[ "$(status_value "$status" receiver.recv)" = error ]' 20 ||
    { show_tails "$T/send.log"; fail "the wrong pin never showed as receiver.recv=error: $(tail -n 1 "$status")"; }
line=$(tail -n 1 "$status")
err=$(echo "$line" | sed -n 's/.* last_error="\(.*\)"$/\1/p')
info "last_error=\"$err\" (${#err} characters)"
case $err in
*"$WRONG"*"$FP"* | *"$FP"*"$WRONG"*) ;;
*) hole 2: "last_error does not hold both fingerprints whole ($WRONG, $FP): $err" ;;
esac
t=$(status_value "$status" last_error_time)
case $t in
20[0-9][0-9]-*T*Z) ;;
*) hole 3: "a current error without its time: last_error_time=$t" ;;
esac
v=$(status_value "$status" unacked.recv)
[ "$v" = unknown ] || hole 1: "refused, yet unacked.recv=$v: $line"

# The administrator fixes the pin and reloads.
sed -i "s|$WRONG|$FP|" "$conf"
pid=$(child_pid "$(bg_pid send)")
[ -n "$pid" ] || fail "no audisp-dist under feed"
kill -HUP "$pid"
wait_for '[ "$(status_value "$status" unacked.recv)" = 0 ] &&
    [ "$(status_value "$status" receiver.recv)" = connected ]' 30 ||
    { show_tails "$T/send.log" "$T/recv.log"; fail "not shipped after the pin was fixed: $(tail -n 1 "$status")"; }
# One more line, written at the next interval, must say the same.
n=$(wc -l < "$status")
wait_for '[ "$(wc -l < "$status")" -gt "$n" ]' 5 || fail "the status is not written every second"
line=$(tail -n 1 "$status")
info "after recovery: ${line#* last_error_time=}"
case $line in
*' receiver.recv=connected unacked.recv=0 '*' last_error_time=none last_error=""') ;;
*) hole 3: "connected and acked, but the status still says: $line" ;;
esac

trail_cat "$trails/stat" | cmp - "$T/input" || fail "the trail differs from the input"

touch "$T/go"
bg_stop send 0 20 || fail "audisp-dist did not exit at the end of its input"
bg_stop recv TERM 15 || fail "auditdistd did not stop"
log_sanity "$T/send.log" audisp-dist
[ ${#HOLES[@]} = 0 ] || fail "still open: ${HOLES[*]}"
echo "hole 1: receiver.recv=connecting unacked.recv=unknown before the first connection; hole 2: last_error whole (${#err} characters, both fingerprints); hole 3: no stale error after recovery"
