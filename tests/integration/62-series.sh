#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Two senders with one host name (a cloned machine, a copied configuration),
# each a real audisp-dist and forwarder with its own spool, so two spool
# ids.  The host is pinned to the series it ships:
#   - while A ships, B's logins are refused with ERROR(ERR_SERIES) and A's
#     connection is not replaced; the trail holds A's records only; the
#     receiver's log and B's name the host, both spool ids and addresses;
#   - a third spool (adpeer) is refused too, while A is live and, once A
#     has stopped, for series_hold seconds (3 here, the host block's value
#     over the receiver block's 600);
#   - after that, B is taken as a new series, in a trail file of its own,
#     every one of its records there once.
# Before the fix, each login replaced the other and each sender sent its
# spool again as a new series, over and over.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FWD=$B/audisp-dist-forwarder
FEED=$B/tests/feed
ADPEER=$B/tests/adpeer
HOST=web
HOLD=3

need_root
need_cmd openssl ss cmp perl stat
for b in "$RECV" "$PLUGIN" "$FWD" "$FEED" "$ADPEER"; do
	[ -x "$b" ] || skip "no $b (not built yet: make; make $b)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 120

recv_setup
tdir=$trails/$HOST

rconf=$T/recv.conf
test_recv_conf "$rconf" "127.0.0.1:$PORT" "timeout 5" "series_hold 600" \
    "$(test_recv_host "$HOST" "$PW" "series_hold $HOLD")"

# A ships the sample; B the sample with serials moved past 900000 (A's are
# below 100000), so that every record says whose it is.
cp "$SAMPLE" "$T/a"
perl -pe 's/(msg=audit\(\d+\.\d+:)(\d+)\)/$1 . ($2 + 900000) . ")"/ge' "$SAMPLE" > "$T/b"
for s in a b; do
	feed_input "$T/$s" "$T/$s.feed"
	test_sender_conf "$T/$s.conf" "$HOST" "$T/spool-$s" "127.0.0.1:$PORT" "$FP" "$PW" 5 "segment_size 64K"
done
size_a=$(stat -c %s "$T/a")
size_b=$(stat -c %s "$T/b")
b_records()	# FILE...: how many of B's records
{
	cat "$@" /dev/null | grep -cE 'msg=audit\([0-9.]+:9[0-9]{5}\)' || :
}

start_sender()	# NAME [OFFSET]: the plugin on its input, from OFFSET
{
	local size
	size=$(stat -c %s "$T/$1")
	bg_start "$1" "$T/$1.log" "$FEED" -b 4194304 -t 300 -o "${2:-0}" \
	    -w "$((size - ${2:-0})):$T/$1.go" "$T/$1.feed" "$PLUGIN" -f "$T/$1.conf"
}

stop_sender()	# NAME: SIGTERM to the plugin, as auditd does
{
	local p plug
	p=$(bg_pid "$1")
	[ -n "$p" ] || { show_tails "$T/$1.log"; fail "$1: the feeder (and plugin) died early"; }
	plug=$(child_pid "$p")
	[ -n "$plug" ] || fail "$1: no plugin process under feed $p"
	kill -TERM "$plug"
	bg_stop "$1" 0 15 || fail "$1: audisp-dist did not exit within 15 s of SIGTERM"
}

peer()	# SPOOLID: a login of host web with this spool; what the receiver said
{
	timeout 20 "$ADPEER" -t 5 -n "$HOST" -i "$1" -w "$PW" -f "$FP" \
	    "127.0.0.1:$PORT" hello 2>&1 || :
}

bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen"; }

# --- A ships; B, with the same host name, is refused ---------------------------
start_sender a
if ! wait_for '[ "$(trail_size "$tdir")" -ge "$size_a" ]' 30; then
	show_tails "$T/a.log" "$T/recv.log"
	fail "A: the trail holds $(trail_size "$tdir") of $size_a bytes after 30 s"
fi
start_sender b
wait_for '[ -s "$T/spool-b/spool.id" ] && grep -q "series" "$T/b.log"' 20 || {
	show_tails "$T/b.log" "$T/recv.log"
	fail "hole 4: B (another spool, the same host name) was not refused with a series error within 20 s"; }
ida=$(cat "$T/spool-a/spool.id")
idb=$(cat "$T/spool-b/spool.id")
[ "$ida" != "$idb" ] || fail "the two spools have one id ($ida)"
line=$(grep "login refused" "$T/recv.log" | grep "$idb" | head -n 1)
[ -n "$line" ] || { show_tails "$T/recv.log"; fail "hole 4: no 'login refused' line for spool $idb in the receiver's log"; }
for w in "host $HOST" "$ida from 127.0.0.1:[0-9]+ \\(live\\)" "spool $idb from 127.0.0.1:[0-9]+"; do
	grep -qE "$w" <<< "$line" || fail "hole 4: the receiver's line does not say /$w/: $line"
done
bline=$(grep "series" "$T/b.log" | head -n 1)
for w in "$HOST" "$ida" "$idb" "series_hold"; do
	grep -q "$w" <<< "$bline" || fail "hole 4: B's log line does not name $w: $bline"
done
info "receiver: ${line#*auditdistd: }"

# A third spool is refused while A is live.
idc=cccccccccccccccccccccccccccccccc
out=$(peer $idc)
grep -q "^ERROR 11 .*$ida.*(live).*$idc" <<< "$out" ||
    fail "hole 4: a third spool was not refused with ERROR 11 while A is live: $out"

# Both run for a while: the trail must stay A's, byte for byte.
sleep 3
trail_cat "$tdir" | cmp -s - "$T/a" || {
	show_tails "$T/recv.log"
	fail "hole 4: with two senders named $HOST, the trail ($(trail_size "$tdir") bytes, $(b_records $(trail_files "$tdir")) of B's records) is not A's input"; }
! grep -q "replaces the one" "$T/recv.log" ||
    fail "hole 4: a connection was replaced: $(grep "replaces the one" "$T/recv.log" | head -n 1)"
nref=$(grep -c "login refused.*$idb" "$T/recv.log" || :)

# --- A stops: B still waits series_hold; then it is a new series ------------------
stop_sender a
t_stop=$(now_ms)
out=$(peer $idc)
grep -q "^ERROR 11 .*$ida, last seen from 127.0.0.1:[0-9]* [0-9]* s ago.*$idc" <<< "$out" ||
    fail "hole 4: a new spool was not held off for series_hold after A stopped: $out"
# B's forwarder waits long after a serious error; a new plugin on its spool
# (all of B's records are in it) logs in at once.
stop_sender b
[ "$(b_records $(trail_files "$tdir"))" = 0 ] || fail "hole 4: B's records reached the trail while A held the host"
while [ $(( $(now_ms) - t_stop )) -lt $((HOLD * 1000 + 500)) ]; do
	sleep 0.2
done
start_sender b "$size_b"
want=$((size_a + size_b))
if ! wait_for '[ "$(trail_size "$tdir")" -ge "$want" ]' 30; then
	show_tails "$T/b.log" "$T/recv.log"
	fail "hole 4: B was not accepted as a new series: the trail holds $(trail_size "$tdir") of $want bytes 30 s after series_hold"
fi
cat "$T/a" "$T/b" > "$T/ab"
trail_cat "$tdir" | cmp -s - "$T/ab" || fail "hole 4: the trail is not A's input then B's, each once"
nb=0
for f in $(trail_files "$tdir"); do
	n=$(b_records "$f")
	total=$(wc -l < "$f")
	[ "$n" = 0 ] || [ "$n" = "$total" ] || fail "hole 4: $f holds records of both spools ($n of $total are B's)"
	nb=$((nb + n))
done
[ "$nb" = "$(wc -l < "$T/b")" ] || fail "hole 4: the trail holds $nb of B's $(wc -l < "$T/b") records"
acc=$(grep "host $HOST: accepting a new series $idb from 127.0.0.1:[0-9]*; the previous one ($ida) was last seen" "$T/recv.log" | head -n 1)
[ -n "$acc" ] || { show_tails "$T/recv.log"; fail "hole 4: no 'accepting a new series' line"; }
info "receiver: ${acc#*auditdistd: }"

stop_sender b
bg_stop recv TERM 15 || fail "auditdistd did not exit within 15 s of SIGTERM"
[ "$BG_RC" = 0 ] || { show_tails "$T/recv.log"; fail "auditdistd exited with status $BG_RC"; }
echo "hole 4: two senders named $HOST: B's spool refused $nref times (ERR_SERIES) while A shipped, A never replaced, the trail A's alone; held off ${HOLD} s after A stopped; then B accepted as a new series in its own file, its $nb records once"
