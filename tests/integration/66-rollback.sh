#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Hole 3: a spool rolled back (a VM snapshot reverted, a backup restored)
# reuses segment numbers the receiver holds with other bytes.  Records
# A are shipped; the spool is copied aside (the snapshot); records B are
# shipped; the copy is put back and records C are fed.  The forwarder
# must see that the receiver holds what the spool does not before it
# believes any ack, and audisp-dist must start a new series: at the end
# every record of A, B and C is in the receiver's trail files, C (and
# what the snapshot held) in trail files of their own, no trail file
# holds two series, and both ends say so.  Two shapes, two senders:
#   newer	B spans many segments: the receiver's segment is newer than
#		any in the restored spool;
#   same	B and C go to the same segment number: only the tail of
#		the receiver's copy (WELCOME) tells them apart.
# ADTEST_ROLLBACK_SHAPES="newer" runs one of them.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
need_root
need_cmd openssl ss cmp perl stat comm sort
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet)"
done
deadline 90

recv_setup
read -r -a SHAPES <<< "${ADTEST_ROLLBACK_SHAPES:-newer same}"
rconf=$T/recv.conf
test_recv_conf "$rconf" "127.0.0.1:$PORT" "timeout 5" "series_hold 1" "$(
	for h in "${SHAPES[@]}"; do
		test_recv_host "$h" "$PW"
	done)"
# series_hold comes with the receiver's side of this fix; without it,
# the receiver takes a new series at once anyway.
if ! "$RECV" -n -c "$rconf" > /dev/null 2>&1 && ! "$RECV" -n "$rconf" > /dev/null 2>&1; then
	sed -i '/series_hold/d' "$rconf"
	info "this auditdistd has no series_hold; testing without it"
fi
test_sender_conf "$T/newer.conf" newer "$T/spool-newer" "127.0.0.1:$PORT" "$FP" "$PW" 5 \
    "segment_size 4K"
test_sender_conf "$T/same.conf" same "$T/spool-same" "127.0.0.1:$PORT" "$FP" "$PW" 5 \
    "segment_size 1M"
sed -i 's/segment_age 1$/segment_age 3600/' "$T/same.conf"

# Three parts of one stream: A, B, C, every record unique.
sample_stream "$SAMPLE" 150000 "$T/all"
n=$(wc -l < "$T/all")
head -n $((n / 4)) "$T/all" > "$T/A"
sed -n "$((n / 4 + 1)),$((n / 2))p" "$T/all" > "$T/B"
tail -n +$((n / 2 + 1)) "$T/all" > "$T/C"
for p in A B C; do
	feed_input "$T/$p" "$T/$p.feed"
done

bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || fail "auditdistd did not listen"

# start_one HOST PART [FEED-OPTION...]: HOST's audisp-dist is fed PART.
start_one()
{
	local h=$1 p=$2 size
	shift 2
	size=$(stat -c %s "$T/$p")
	rm -f "$T/go-$h"
	bg_start "send-$h" "$T/$h.log" "$FEED" -t 60 "$@" -w "$size:$T/go-$h" \
	    "$T/$p.feed" "$PLUGIN" -f "$T/$h.conf"
}
# run_part PART: every sender is fed PART.
run_part()
{
	local h
	for h in "${SHAPES[@]}"; do
		start_one "$h" "$1"
	done
}
stop_part()
{
	local h
	for h in "${SHAPES[@]}"; do
		touch "$T/go-$h"
		bg_stop "send-$h" 0 15 || fail "$h: audisp-dist did not exit at the end of its input"
	done
}
shipped()	# HOST FILE: the trail ends with FILE
{
	[ "$(trail_size "$trails/$1")" -ge "$(stat -c %s "$2")" ] &&
	    trail_cat "$trails/$1" | tail -c "$(stat -c %s "$2")" | cmp -s - "$2"
}

run_part A
for h in "${SHAPES[@]}"; do
	wait_for "shipped $h '$T/A'" 20 || { show_tails "$T/$h.log" "$T/recv.log"; fail "$h: A not shipped"; }
done
stop_part
for h in "${SHAPES[@]}"; do
	cp -a "$T/spool-$h" "$T/snap-$h"		# the snapshot
done
run_part B
for h in "${SHAPES[@]}"; do
	wait_for "shipped $h '$T/B'" 20 || { show_tails "$T/$h.log" "$T/recv.log"; fail "$h: B not shipped"; }
done
stop_part
info "A and B shipped; putting the snapshots back"

# The receiver is away while C is spooled for "same": when it connects,
# C is in the segment the receiver holds B in, more of it than B.  For
# "newer", C comes slowly once the receiver is back: the spool's newest
# segment is still older than the receiver's when the forwarder connects.
bg_stop recv TERM 15 || fail "auditdistd did not stop"
for h in "${SHAPES[@]}"; do
	rm -rf "$T/spool-$h"
	cp -a "$T/snap-$h" "$T/spool-$h"
done
[[ " ${SHAPES[*]} " != *" same "* ]] || start_one same C
sleep 2
bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || fail "auditdistd did not listen again"
[[ " ${SHAPES[*]} " != *" newer "* ]] || start_one newer C -r 60000

for h in "${SHAPES[@]}"; do
	if ! wait_for "shipped $h '$T/C'" 45; then
		show_tails "$T/$h.log" "$T/recv.log"
		echo "status: $(tail -n 1 "$T/spool-$h/status" 2>/dev/null)"
		fail "hole 3 ($h): C did not reach the receiver after the rollback"
	fi
done
stop_part
bg_stop recv TERM 15 || fail "auditdistd did not stop"

for h in "${SHAPES[@]}"; do
	store=$trails/$h/.store
	# Every record fed, at least once, in some trail file.
	missing=$(comm -23 <(sort -u "$T/all") <(cat "$store"/[0-9a-f]*[0-9a-f] | sort -u) | wc -l)
	[ "$missing" = 0 ] || fail "hole 3 ($h): $missing records fed are in no trail file"
	# One series per trail file, and two series in all.
	for idx in "$store"/*.idx; do
		ids=$(awk '$1 == "S" { print $2 }' "$idx" | sort -u | wc -l)
		[ "$ids" -le 1 ] || fail "hole 3 ($h): $idx holds $ids series"
	done
	nser=$(cat "$store"/*.idx | awk '$1 == "S" { print $2 }' | sort -u | wc -l)
	[ "$nser" -ge 2 ] || fail "hole 3 ($h): the records sent again are not a new series ($nser series)"
	# The new series ends with C (and the record that ended the input),
	# in order, in files of its own.
	last=$(find "$store" -name '*.idx' | sort | tail -n 1)
	newid=$(awk '$1 == "S" { print $2; exit }' "$last")
	files=$(for idx in $(find "$store" -name '*.idx' | sort); do
		grep -q "^S $newid " "$idx" && echo "${idx%.idx}"; done)
	# shellcheck disable=SC2086
	cat $files | tail -c "$(stat -c %s "$T/C.feed")" | cmp -s - "$T/C.feed" ||
	    fail "hole 3 ($h): the new series' trail files do not end with C"
	grep -q 'holds what this spool does not' "$T/$h.log" ||
	    fail "hole 3 ($h): audisp-dist did not say it started a new series"
	grep -q 'new_series=1' "$T/spool-$h/status" ||
	    fail "hole 3 ($h): the status file does not show the new series"
	grep -qi "host $h: new series" "$T/recv.log" ||
	    fail "hole 3 ($h): the receiver's log does not show the new series"
	info "$h: $(grep -h 'holds what this spool does not' "$T/$h.log" | head -n 1 | cut -c1-240)"
done
echo "hole 3: a rolled-back spool (receiver's segment newer; same segment, other bytes) starts a new series; every record of A, B, C is in the trail, the new series in its own trail files"
