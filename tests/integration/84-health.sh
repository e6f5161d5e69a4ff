#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# The receiver's view of each host's health (auditdistd.conf(5) status_file,
# metrics_file, silence_alarm; docs/protocol.md "Health"), with the real
# binaries and five hosts:
#   quiet   ships, then sends nothing but heartbeats: connected, never silent;
#   killed  ships, then its plugin and forwarder are SIGKILLed: after
#           silence_alarm (3 s) it is logged once and shown silent (status,
#           metrics); started again, it is connected and not silent;
#   drop    its input holds a line that is not a record: the sender's
#           rejected line shows in the receiver's status and metrics, with
#           its reason, for that host alone;
#   full    ships to a second receiver that is down, with a 64K spool and
#           spool_full_action drop_new: its spool drops show in the
#           receiver's status and metrics (reason "spool"), for it alone;
#   old     a version 2 peer (adpeer -P 2): it still ships, and shows as
#           "no health reports"; silence_alarm 0 in its block;
#   ghost   configured, never connects, silence_alarm 0: "never".
# auditdistd -l prints them worst first, and the metrics file passes a
# strict Prometheus text-format parser (tests/helpers/promcheck.py).
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
ADPEER=$B/tests/adpeer
PROMCHECK=tests/helpers/promcheck.py
need_root
need_cmd openssl ss stat python3
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED" "$ADPEER"; do
	[ -x "$b" ] || skip "no $b (not built yet)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 90

recv_setup
mkdir -m 0755 "$T/state" "$T/textfile"
chown "$FWD_USER" "$T/state" "$T/textfile"
status=$T/state/status
prom=$T/textfile/auditdistd.prom
rconf=$T/recv.conf
test_recv_conf "$rconf" "127.0.0.1:$PORT" "timeout 5" "silence_alarm 3" \
    "status_file \"$status\"" "metrics_file \"$prom\"" "$(
	for h in quiet killed drop full; do
		test_recv_host "$h" "$PW"
	done
	for h in old ghost; do
		test_recv_host "$h" "$PW" "silence_alarm 0"
	done)"

HOLES=()
hole()
{
	echo "FAIL: hole $*"
	HOLES+=("hole ${1%:}")
}

# hv HOST KEY: KEY of HOST's line in the receiver's status file.
hv()
{
	grep " host=$1 " "$status" 2>/dev/null | tr ' ' '\n' |
	    sed -n "s/^$2=//p" | head -n 1
}

# metric NAME LABELS: its value in the metrics file, or nothing.
metric()
{
	awk -v k="$1$2" '$1 == k { print $2 }' "$prom" 2>/dev/null
}

sample_stream "$SAMPLE" 1 "$T/sample"
head -n 400 "$T/sample" > "$T/in-a"
sed -n '401,800p' "$T/sample" > "$T/in-b"
{ head -n 200 "$T/in-a"; echo 'this line is not an audit record'; tail -n 200 "$T/in-a"; } > "$T/in-drop"

# sender NAME INPUT: audisp-dist for host NAME, fed INPUT and then kept
# waiting (feed -w) for a file that never comes.
sender()
{
	local n=$1 in=$2 size
	[ -f "$T/$n.conf" ] || test_sender_conf "$T/$n.conf" "$n" "$T/spool-$n" \
	    "127.0.0.1:$PORT" "$FP" "$PW" 5
	feed_input "$in" "$T/$n.feed"
	size=$(stat -c %s "$in")
	bg_start "$n" "$T/$n.log" "$FEED" -t 85 -w "$size:$T/never" \
	    "$T/$n.feed" "$PLUGIN" -f -D "$T/state-$n" "$T/$n.conf"
}

# full: a second receiver that never answers keeps its spool full.
test_sender_conf "$T/full.conf" full "$T/spool-full" "127.0.0.1:$PORT" "$FP" "$PW" 5 \
    "$(printf 'segment_size 16K\nspool_max_size 64K\nspool_full_action drop_new')"
deadport=$(free_port)
sed -i '$d' "$T/full.conf"
printf '\thost down {\n\t\tremote "tls://127.0.0.1:%s"\n\t\tfingerprint "%s"\n\t\tpassword "%s"\n\t}\n}\n' \
    "$deadport" "$FP" "$PW" >> "$T/full.conf"

bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen"; }
sender quiet "$T/in-a"
sender killed "$T/in-a"
sender drop "$T/in-drop"
sender full "$T/sample"

# A version 2 sender ships as before.
out=$(timeout 30 "$ADPEER" -P 2 -n old -w "$PW" -f "$FP" "127.0.0.1:$PORT" \
    good "$T/in-b" 2>&1) || { echo "$out"; fail "adpeer -P 2 failed"; }
case $out in
*"CHALLENGE version=2"*) ;;
*) hole 4: "the receiver did not answer a version 2 HELLO with version 2: $out" ;;
esac
trail_cat "$trails/old" | cmp -s - "$T/in-b" || hole 4: "the version 2 peer's trail differs from what it sent"

boot=$(cat /proc/sys/kernel/random/boot_id)
wait_for '[ "$(hv quiet state)" = connected ] && [ "$(hv killed state)" = connected ] &&
    [ "$(hv drop rejected_records)" = 1 ] && [ "$(hv quiet records_stored)" = 400 ] &&
    [ "$(hv killed records_stored)" = 400 ] && [ "$(hv old records_stored)" = 400 ]' 30 ||
	{ show_tails "$T/recv.log" "$T/quiet.log"; cat "$status" 2>/dev/null; fail "the status file never showed the three senders shipped"; }
# The auditor reads the trails every 2 s: serial_gaps is "unknown" until then.
wait_for '[ "$(hv quiet serial_gaps)" = 0 ]' 10 || hole 1: "quiet: serial_gaps=$(hv quiet serial_gaps) 10 s after it shipped"
info "$(grep ' host=quiet ' "$status")"
for k in "protocol 3" "health yes" "boot_id $boot" "format enriched" "dropped_records 0" \
    "rejected_records 0" "unacked_bytes 0" "serial_gaps 0" "silence_alarm 3"; do
	set -- $k
	[ "$(hv quiet "$1")" = "$2" ] || hole 1: "quiet: $1=$(hv quiet "$1"), not $2"
done
case $(hv quiet last_record_time) in
20[0-9][0-9]-*T*Z | 19[0-9][0-9]-*T*Z) ;;
*) hole 1: "quiet: no last_record_time: $(hv quiet last_record_time)" ;;
esac
[ "$(hv old protocol)" = 2 ] && [ "$(hv old health)" = none ] &&
    [ "$(hv old state)" = idle ] || hole 4: "the version 2 peer: $(grep ' host=old ' "$status")"
[ "$(hv ghost state)" = never ] || hole 5: "ghost, never connected: state=$(hv ghost state)"

# Kill the whole sender side of "killed"; "quiet" stays, idle.
hq=$(hv quiet health_time)
pid=$(child_pid "$(bg_pid killed)")
[ -n "$pid" ] || fail "no audisp-dist under feed"
# shellcheck disable=SC2046
kill -KILL "$pid" $(descendants "$pid")
t0=$(date +%s)
wait_for '[ "$(hv killed state)" = silent ]' 15 ||
    { cat "$status"; fail "killed: not shown silent within 15 s"; }
info "killed shown silent after $(( $(date +%s) - t0 )) s"
bg_stop killed 0 5 || :
[ "$(metric auditdist_receiver_host_silent '{host="killed"}')" = 1 ] ||
    wait_for '[ "$(metric auditdist_receiver_host_silent "{host=\"killed\"}")" = 1 ]' 8 ||
    hole 2: "metrics: host_silent of killed is $(metric auditdist_receiver_host_silent '{host="killed"}')"
sleep 4		# two more rounds: still one warning
[ "$(hv quiet health_time)" \> "$hq" ] ||
    hole 3: "quiet's heartbeat (health report) did not come again: health_time=$(hv quiet health_time), was $hq"
n=$(grep -c 'host killed: silent for' "$T/recv.log" || :)
[ "$n" = 1 ] || hole 2: "killed's silence was logged $n times, not once"
for h in quiet drop; do
	[ "$(hv $h state)" = connected ] || hole 3: "$h, idle but alive: state=$(hv $h state)"
	! grep -q "host $h: silent" "$T/recv.log" || hole 3: "$h was logged silent"
	[ "$(metric auditdist_receiver_host_silent "{host=\"$h\"}")" = 0 ] ||
	    hole 3: "metrics: $h host_silent=$(metric auditdist_receiver_host_silent "{host=\"$h\"}")"
done

# Drops, with the reason, for that host alone.
[ "$(metric auditdist_sender_dropped_total '{host="drop",reason="malformed"}')" = 1 ] ||
    hole 6: "metrics: drop's malformed drops: $(grep 'dropped_total{host="drop"' "$prom")"
[ "$(metric auditdist_sender_dropped_total '{host="quiet",reason="malformed"}')" = 0 ] ||
    hole 6: "metrics: quiet's malformed drops: $(grep 'dropped_total{host="quiet"' "$prom")"
[ "$(metric auditdist_sender_dropped_total '{host="drop",reason="spool"}')" = 0 ] ||
    hole 6: "metrics: drop's spool drops: $(grep 'dropped_total{host="drop"' "$prom")"
wait_for '[ "$(metric auditdist_sender_dropped_total "{host=\"full\",reason=\"spool\"}")" -gt 0 ] 2>/dev/null' 10 ||
    hole 6: "metrics: full's spool drops: $(grep 'dropped_total{host="full"' "$prom")"
[ "$(hv full dropped_records)" -gt 0 ] 2>/dev/null ||
    hole 6: "status: full's dropped_records=$(hv full dropped_records)"
for h in quiet drop killed; do
	[ "$(metric auditdist_sender_dropped_total "{host=\"$h\",reason=\"spool\"}")" = 0 ] ||
	    hole 6: "metrics: $h's spool drops: $(grep "dropped_total{host=\"$h\"" "$prom")"
done
# A burst bigger than the spool keeps the records that fit, the first ones.
# The status file is written every status_interval: it may lag the trail.
wait_for '[ "$(hv full records_stored)" = "$(trail_cat "$trails/full" | wc -l)" ]' 8 ||
    hole 6: "full: its status says records_stored=$(hv full records_stored), its trail holds $(trail_cat "$trails/full" | wc -l)"
trail_cat "$trails/full" > "$T/full.trail"
n=$(wc -l < "$T/full.trail")
[ "$n" -gt 0 ] && head -n "$n" "$T/sample" | cmp -s - "$T/full.trail" ||
    hole 6: "full: a burst over spool_max_size kept $n records; the trail is not the input's first ones"
info "full: $(grep ' host=full ' "$status" | tr ' ' '\n' | grep -E '^(dropped|rejected|records_stored|unacked)' | tr '\n' ' ')"
[ "$(metric auditdist_receiver_records_stored_total '{host="quiet"}')" = 400 ] ||
    hole 7: "metrics: records_stored_total of quiet: $(metric auditdist_receiver_records_stored_total '{host="quiet"}')"
[ -n "$(metric auditdist_sender_kernel_lost_total '{host="quiet"}')" ] ||
    hole 7: "metrics: no kernel_lost_total for quiet"
[ -z "$(metric auditdist_sender_kernel_lost_total '{host="old"}')" ] ||
    hole 7: "metrics: a kernel_lost_total for the version 2 peer"
out=$(python3 "$PROMCHECK" "$prom") || hole 7: "the metrics file is not Prometheus text: $out"
[ "$(stat -c %a "$prom")" = 644 ] || hole 7: "metrics file mode $(stat -c %a "$prom")"

# The table: silent first, then the most lost or dropped.
"$RECV" -l -c "$rconf" > "$T/list" 2>&1 || { cat "$T/list"; fail "auditdistd -l failed"; }
cat "$T/list"
order=$(awk 'NR > 1 { printf "%s ", $1 }' "$T/list")
case $order in
"killed full drop "*) ;;
*) hole 8: "auditdistd -l order: $order" ;;
esac
head -n 1 "$T/list" | grep -q '^HOST  *STATE  *LAST_SEEN  *KERNEL_LOST  *MISSING  *DROPPED  *REJECTED  *UNACKED  *RECORDS$' ||
    hole 8: "auditdistd -l header: $(head -n 1 "$T/list")"
[ "$(awk '$1 == "drop" { print $7 }' "$T/list")" = 1 ] || hole 8: "-l: drop's REJECTED column"

# "killed" comes back.
sender killed "$T/in-b"
wait_for '[ "$(hv killed state)" = connected ] && [ "$(hv killed records_stored)" = 800 ]' 20 ||
    { show_tails "$T/killed.log"; fail "killed did not come back: $(grep ' host=killed ' "$status")"; }
wait_for '[ "$(metric auditdist_receiver_host_silent "{host=\"killed\"}")" = 0 ]' 8 ||
    hole 2: "metrics: killed is back, host_silent=$(metric auditdist_receiver_host_silent '{host="killed"}')"
grep -q 'host killed: heard from again' "$T/recv.log" || hole 2: "killed's return was not logged"

for h in quiet killed drop full; do
	bg_stop "$h" TERM 10 || :
done
bg_stop recv TERM 10 || :
log_sanity "$T/recv.log" auditdistd
if [ "${#HOLES[@]}" -gt 0 ]; then
	show_tails "$T/recv.log"
	fail "${HOLES[*]}"
fi
info "health: heartbeat keeps quiet connected; killed silent and logged once, back; drops by reason; v2 ships; -l worst first"
