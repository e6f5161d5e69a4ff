#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# audisp-dist's metrics file (metrics_file, audisp-dist(8) METRICS) as
# node_exporter's textfile collector reads it, while a stream is shipped
# at a steady rate and the receiver is stopped and started again:
#   hole 1: there was no metrics file: the numbers of the status file in
#           the Prometheus text format, passing a strict parser (HELP and
#           TYPE first, one TYPE per family, names, labels, values, no
#           duplicate series), mode 0644;
#   hole 2: its values move: records in, shipped bytes per receiver, and,
#           with the receiver stopped, connected 0, unacked bytes growing
#           and a counted error; after it is back, everything shipped;
#   hole 3: it is replaced atomically: a reader in a tight loop never sees
#           it half-written.
# promtool is not used: Debian ships it only inside the whole server.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
need_root
need_cmd openssl ss stat python3
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 90

# tests/helpers/promcheck.py parses it strictly.
PROMCHECK=tests/helpers/promcheck.py

recv_setup
rconf=$T/recv.conf
test_recv_conf "$rconf" "127.0.0.1:$PORT" "timeout 5" \
    "$(test_recv_host met "$PW")"
mkdir -m 0755 "$T/textfile"
prom=$T/textfile/auditdist.prom
conf=$T/send.conf
spool=$T/spool
test_sender_conf "$conf" met "$spool" "127.0.0.1:$PORT" "$FP" "$PW" 5 \
    "metrics_file \"$prom\""

HOLES=()
hole()
{
	echo "FAIL: hole $*"
	HOLES+=("hole ${1%:}")
}

# metric NAME [LABELS]: its value in the metrics file, or nothing.
metric()
{
	awk -v k="$1${2:-}" '$1 == k { print $2 }' "$prom" 2>/dev/null
}

# About 20 s of input at 20 KB/s, the last record held back until "go".
sample_stream "$SAMPLE" 1 "$T/sample"
head -n 1700 "$T/sample" > "$T/input"
feed_input "$T/input" "$T/input.feed"
size=$(stat -c %s "$T/input")
lines=$(wc -l < "$T/input")
t0=$(date +%s)

bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || fail "auditdistd did not listen"
bg_start send "$T/send.log" "$FEED" -t 80 -r 20000 -w "$size:$T/go" \
    "$T/input.feed" "$PLUGIN" -f "$conf"
wait_for '[ -s "$prom" ]' 10 ||
    { show_tails "$T/send.log"; fail "hole 1: no metrics file $prom"; }
bg_start reader "$T/reader.log" python3 "$PROMCHECK" -loop "$prom" \
    "$T/stop" "$T/reader.out"

out=$(python3 "$PROMCHECK" "$prom") ||
    { sed 's/^/  | /' "$prom"; hole 1: "the metrics file does not parse: $out"; }
mode=$(stat -c %a "$prom")
[ "$mode" = 644 ] || hole 1: "the metrics file has mode $mode, not 644"
for m in records_in_total in_bytes_total dropped_records_total \
    rejected_records_total spool_bytes spool_segments \
    oldest_unshipped_age_seconds kernel_lost_total kernel_backlog \
    start_time_seconds; do
	[ -n "$(metric "auditdist_$m")" ] || hole 1: "no auditdist_$m"
done
R='{receiver="recv"}'
for m in connected unacked_bytes shipped_bytes_total \
    last_ack_timestamp_seconds errors_total; do
	[ -n "$(metric "auditdist_receiver_$m" "$R")" ] ||
	    hole 1: "no auditdist_receiver_$m$R"
done
st=$(metric auditdist_start_time_seconds)
if [ "${st:-0}" -lt "$t0" ] || [ "$st" -gt "$(date +%s)" ]; then
	hole 1: "start_time_seconds=$st, not between $t0 and now"
fi

# Shipping: records in and shipped bytes grow, the receiver connected.
wait_for '[ "$(metric auditdist_receiver_connected "$R")" = 1 ] &&
    [ "$(metric auditdist_receiver_shipped_bytes_total "$R")" -gt 0 ]' 15 ||
    hole 2: "never connected and shipping: $(grep receiver "$prom")"
in1=$(metric auditdist_records_in_total)
sh1=$(metric auditdist_receiver_shipped_bytes_total "$R")
wait_for '[ "$(metric auditdist_receiver_shipped_bytes_total "$R")" -gt "$sh1" ] &&
    [ "$(metric auditdist_records_in_total)" -gt "$in1" ]' 10 ||
    hole 2: "records in ($in1) or shipped bytes ($sh1) do not grow"
la=$(metric auditdist_receiver_last_ack_timestamp_seconds "$R")
[ "${la:-0}" -ge "$t0" ] || hole 2: "last_ack_timestamp_seconds=$la, before the test began"
info "shipping: records_in $in1 -> $(metric auditdist_records_in_total), shipped $sh1 -> $(metric auditdist_receiver_shipped_bytes_total "$R")"

# The receiver stops: connected 0, unacked bytes grow, an error counted.
bg_stop recv TERM 15 || fail "auditdistd did not stop"
wait_for '[ "$(metric auditdist_receiver_connected "$R")" = 0 ] &&
    [ "$(metric auditdist_receiver_unacked_bytes "$R")" -gt 0 ]' 15 ||
    hole 2: "receiver stopped, yet: $(grep 'receiver_\(connected\|unacked\)' "$prom")"
u1=$(metric auditdist_receiver_unacked_bytes "$R")
wait_for '[ "$(metric auditdist_receiver_unacked_bytes "$R")" -gt "$u1" ]' 10 ||
    hole 2: "receiver stopped, but unacked bytes stay $u1"
wait_for '[ "$(metric auditdist_receiver_errors_total "$R")" -ge 1 ]' 10 ||
    hole 2: "receiver stopped, but errors_total=$(metric auditdist_receiver_errors_total "$R")"
info "receiver down: unacked $u1 -> $(metric auditdist_receiver_unacked_bytes "$R"), errors $(metric auditdist_receiver_errors_total "$R")"

# Back: everything read, everything shipped, nothing unacked.
bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || fail "auditdistd did not listen again"
wait_for '[ "$(metric auditdist_records_in_total)" = "$lines" ] &&
    [ "$(metric auditdist_receiver_unacked_bytes "$R")" = 0 ] &&
    [ "$(metric auditdist_receiver_connected "$R")" = 1 ]' 40 ||
    { show_tails "$T/send.log"; hole 2: "not all read and shipped: $(grep -v '^#' "$prom" | tr '\n' ' ')"; }
v=$(metric auditdist_receiver_shipped_bytes_total "$R")
[ "$v" = "$size" ] ||
    hole 2: "shipped_bytes_total=$v, but the receiver got $size bytes"
v=$(metric auditdist_in_bytes_total)
[ "$v" = "$size" ] || hole 2: "in_bytes_total=$v, input $size bytes"
out=$(python3 "$PROMCHECK" "$prom") || hole 1: "at the end: $out"

touch "$T/stop"
bg_stop reader 0 10 || fail "the reader did not stop"
read -r summary < "$T/reader.out" || fail "no reader summary"
info "reader: $summary"
case $summary in
*' bad=0') ;;
*) sed 's/^/  | /' "$T/reader.out"; hole 3: "a reader saw a broken metrics file" ;;
esac
versions=$(echo "$summary" | sed -n 's/.*versions=\([0-9]*\).*/\1/p')
[ "${versions:-0}" -ge 10 ] || hole 3: "the reader saw only $versions versions"

trail_cat "$trails/met" | cmp - "$T/input" || fail "the trail differs from the input"
touch "$T/go"
bg_stop send 0 20 || fail "audisp-dist did not exit at the end of its input"
bg_stop recv TERM 15 || fail "auditdistd did not stop"
log_sanity "$T/send.log" audisp-dist
[ ! -e "$prom.tmp" ] || fail "a temporary file $prom.tmp was left behind"
[ ${#HOLES[@]} = 0 ] || fail "still open: ${HOLES[*]}"
echo "issue 13: hole 1: metrics file parses strictly, mode $mode; hole 2: records in, shipped ($size bytes), connected 0 and unacked growing while the receiver was down; hole 3: never half-written ($summary)"
