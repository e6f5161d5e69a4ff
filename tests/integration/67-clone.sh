#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Hole 4, a cloned machine: two senders with one host name and one spool
# id.  Sender a ships P and stops; its spool, spool.id included, is copied
# for b (the clone); then both run, a fed RA and b fed RB.  Every record
# says whose it is: node=orig, node=clonea, node=cloneb.  Two cases, each
# with a host of its own on one receiver:
#   stagger	a comes back first and is mid-stream (fed slowly) when b comes;
#   together	both come back at once: either may be first.
# The clone that ships first after the copy keeps the series:
#   - the other one's login with the common id replaces the first one's
#     connection (the same spool), but the tail in its WELCOME is the first
#     one's history: it starts a new series, which is refused (ERROR 11)
#     while the first one is live or was seen within series_hold; both
#     ends' logs say so, naming the host, both spool ids and the address;
#   - the trail files of the common series hold P, then the first one's
#     records, byte for byte: nothing of the other's, nothing lost, nothing
#     twice;
#   - once the first one has stopped and series_hold (8 s) has passed, the
#     other is accepted as a new series in trail files of its own, which
#     hold what its spool still had of P, then all of its records, once.
# Before the fix, the second clone resumed in the first one's segment where
# the receiver's bytes ended: one trail file spliced both clones' records,
# and records of each were lost.  ADTEST_CLONE_CASES="together" runs one.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
HOLD=8

need_root
need_cmd openssl ss cmp awk stat
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet: make; make $b)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 110

recv_setup
read -r -a CASES <<< "${ADTEST_CLONE_CASES:-stagger together}"

rconf=$T/recv.conf
test_recv_conf "$rconf" "127.0.0.1:$PORT" "timeout 5" "series_hold 600" "$(
	for c in "${CASES[@]}"; do
		test_recv_host "$c" "$PW" "series_hold $HOLD"
	done)"
# A receiver without series_hold (before the fix) is tested without it.
if ! "$RECV" -n -c "$rconf" > /dev/null 2>&1; then
	sed -i '/series_hold/d' "$rconf"
	info "this auditdistd has no series_hold; testing without it"
fi

# P, then the same records for RA and RB: only the node names differ, as
# on two clones that see the same events.
n=$(wc -l < "$SAMPLE")
head -n $((n / 3)) "$SAMPLE" | sed 's/^/node=orig /' > "$T/p"
tail -n +$((n / 3 + 1)) "$SAMPLE" | sed 's/^/node=clonea /' > "$T/a"
tail -n +$((n / 3 + 1)) "$SAMPLE" | sed 's/^/node=cloneb /' > "$T/b"
for s in p a b; do
	feed_input "$T/$s" "$T/$s.feed"
done
size_p=$(stat -c %s "$T/p")
size_r=$(stat -c %s "$T/a")
nr=$(wc -l < "$T/a")

count()		# NODE DIR: how many records of node NODE the trail DIR holds
{
	trail_cat "$2" | grep -c "^node=$1 " || :
}

# start_sender NAME INPUT OFFSET [FEED-OPTION...]: NAME's audisp-dist is
# fed INPUT from OFFSET; it stays running at the end of INPUT.
start_sender()
{
	local name=$1 in=$2 off=$3 size
	shift 3
	size=$(stat -c %s "$T/$in")
	bg_start "$name" "$T/$name.log" "$FEED" -b 4194304 -t 120 -o "$off" "$@" \
	    -w "$((size - off)):$T/$name.go" "$T/$in.feed" "$PLUGIN" -f "$T/$name.conf"
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

# series_files STORE ID: the trail files (oldest first) whose index names ID.
series_files()
{
	local idx
	for idx in $(find "$1" -name '*.idx' | sort); do
		! grep -q "^S $2 " "$idx" || echo "${idx%.idx}"
	done
}

# The clone that ships first is w, the other l (each "a" or "b").
w=
l=
# found_loser H ID0: true once exactly one of H's clones ships another id.
found_loser()
{
	local ia ib
	ia=$(cat "$T/spool-$1-a/spool.id")
	ib=$(cat "$T/spool-$1-b/spool.id")
	if [ "$ia" = "$2" ] && [ "$ib" != "$2" ]; then
		w=a l=b
	elif [ "$ib" = "$2" ] && [ "$ia" != "$2" ]; then
		w=b l=a
	else
		return 1
	fi
}

# Both clones' records in one trail: spliced.
spliced()	# DIR
{
	[ "$(count clonea "$1")" -gt 0 ] && [ "$(count cloneb "$1")" -gt 0 ]
}

# The case being run: its host, trail, the common spool id, the new one;
# what is counted for the summary.
h=
tdir=
id0=
idl=
nrepl=
nref=
ysize=

# a ships P and stops; b gets a copy of its spool.
copy_spool()
{
	local s

	for s in a b; do
		test_sender_conf "$T/$h-$s.conf" "$h" "$T/spool-$h-$s" \
		    "127.0.0.1:$PORT" "$FP" "$PW" 5 "segment_size 64K"
	done
	rmdir "$T/spool-$h-b"

	start_sender "$h-a" p 0
	wait_for '[ "$(trail_size "$tdir")" -ge "$size_p" ]' 30 || {
		show_tails "$T/$h-a.log" "$T/recv.log"; fail "$h: P not shipped within 30 s"; }
	stop_sender "$h-a"
	trail_cat "$tdir" | cmp -s - "$T/p" || fail "$h: the trail is not P after a shipped it"
	cp -a "$T/spool-$h-a" "$T/spool-$h-b"
	id0=$(cat "$T/spool-$h-a/spool.id")
	info "$h: spool $id0 copied with $(spool_segments "$T/spool-$h-b" | wc -l) segment(s)"
}

# Both clones run: one keeps the series, the other (l) starts a new one,
# which is refused; both ends say so.
run_both()
{
	local newl line s

	if [ "$h" = stagger ]; then
		start_sender "$h-a" a 0 -r 150000
		wait_for '[ "$(trail_size "$tdir")" -ge $((size_p + 65536)) ]' 20 || {
			show_tails "$T/$h-a.log" "$T/recv.log"; fail "$h: a not shipping after the copy"; }
		start_sender "$h-b" b 0
	elif ((RANDOM % 2)); then	# either may win: both must be right
		start_sender "$h-a" a 0
		start_sender "$h-b" b 0
	else
		start_sender "$h-b" b 0
		start_sender "$h-a" a 0
	fi
	wait_for '{ found_loser "$h" "$id0" &&
	    grep -q "login refused: host $h is shipping spool $id0" "$T/recv.log"; } ||
	    spliced "$tdir"' 20 || {
		show_tails "$T/$h-a.log" "$T/$h-b.log" "$T/recv.log"
		fail "hole 4 ($h): within 20 s no clone started a new series and was refused ($(grep -c "host $h: the connection from .* replaces" "$T/recv.log") replacements; the trail holds $(count clonea "$tdir") of a's and $(count cloneb "$tdir") of b's $nr records)"; }
	! spliced "$tdir" || { show_tails -n 40 "$T/$h-a.log" "$T/$h-b.log" "$T/recv.log"
		fail "hole 4 ($h): the trail holds both clones' records ($(count clonea "$tdir") of a's, $(count cloneb "$tdir") of b's)"; }
	found_loser "$h" "$id0" || fail "hole 4 ($h): both clones ship new series"
	[ "$h" != stagger ] || [ "$w" = a ] ||
	    fail "hole 4 ($h): a, which shipped first, lost the series to b"
	idl=$(cat "$T/spool-$h-$l/spool.id")

	newl=$(grep "holds what this spool does not" "$T/$h-$l.log" | head -n 1)
	grep -qF "new series $idl (was $id0)" <<< "$newl" || {
		show_tails "$T/$h-$l.log"; fail "hole 4 ($h): $l's log does not say it started new series $idl (was $id0)"; }
	grep -q 'new_series=1' "$T/spool-$h-$l/status" ||
	    fail "hole 4 ($h): $l's status file does not show the new series"
	line=$(grep "login refused: host $h is" "$T/recv.log" | grep "$idl" | head -n 1)
	[ -n "$line" ] || { show_tails "$T/recv.log"; fail "hole 4 ($h): no 'login refused' line for spool $idl"; }
	for s in "spool $id0" "spool $idl from 127.0.0.1:[0-9]+" "127.0.0.1:[0-9]+: login refused"; do
		grep -qE "$s" <<< "$line" || fail "hole 4 ($h): the receiver's refusal does not say /$s/: $line"
	done
	line=$(grep "series_hold" "$T/$h-$l.log" | head -n 1)
	for s in "host $h" "$id0" "$idl" "127.0.0.1"; do
		grep -q "$s" <<< "$line" || fail "hole 4 ($h): $l's log does not name $s in the refusal: $line"
	done
	info "$h, $l: ${newl#*audisp-dist*: }"
}

# w goes on (its connection was replaced by l's login with the common id);
# l's forwarder waits long after a serious error, so a new plugin on its
# spool (all of l's records are in it) logs in at once, and meets w live.
hold_off()
{
	wait_for '[ "$(trail_size "$tdir")" -ge $((size_p + size_r)) ]' 30 || {
		show_tails "$T/$h-$w.log" "$T/recv.log"
		fail "hole 4 ($h): $w did not ship all its records ($(trail_size "$tdir") of $((size_p + size_r)) bytes)"; }
	stop_sender "$h-$l"
	start_sender "$h-$l" "$l" "$size_r"
	# Refused either way: w connected (live), or between two of its
	# connections (seen a moment ago, within series_hold).
	wait_for 'grep -Eq "login refused: host $h is shipping spool $id0(,| from 127.0.0.1:[0-9]* \(live\);) .*spool $idl from" "$T/recv.log"' 10 || {
		show_tails "$T/$h-$l.log" "$T/recv.log"
		fail "hole 4 ($h): $l's new series was not refused while $w is live"; }
	[ "$(count "clone$l" "$tdir")" = 0 ] ||
	    fail "hole 4 ($h): $l's records reached the trail while $w held the host"
	nrepl=$(grep -c "host $h: the connection from .* replaces the one" "$T/recv.log" || :)
	nref=$(grep -c "login refused: host $h is .*$idl" "$T/recv.log" || :)
}

# w stops; after series_hold, l is a new series.
take_over()
{
	local t_stop

	stop_sender "$h-$w"
	t_stop=$(now_ms)
	stop_sender "$h-$l"
	while [ $(( $(now_ms) - t_stop )) -lt $((HOLD * 1000 + 500)) ]; do
		sleep 0.2
	done
	start_sender "$h-$l" "$l" "$size_r"
	wait_for '[ "$(count "clone$l" "$tdir")" -ge "$nr" ]' 30 || {
		show_tails "$T/$h-$l.log" "$T/recv.log"
		fail "hole 4 ($h): $l was not accepted as a new series: $(count "clone$l" "$tdir") of its $nr records stored 30 s after series_hold"; }
	stop_sender "$h-$l"
}

# Each series in trail files of its own, and all of it there once.
check_store()
{
	local idx ids fy acc

	for idx in "$tdir"/.store/*.idx; do
		ids=$(awk '$1 == "S" { print $2 }' "$idx" | sort -u | wc -l)
		[ "$ids" -le 1 ] || fail "hole 4 ($h): $idx holds $ids series"
	done
	# shellcheck disable=SC2046,SC2002
	cat $(series_files "$tdir/.store" "$id0") | cmp -s - <(cat "$T/p" "$T/$w") ||
	    fail "hole 4 ($h): the trail files of series $id0 are not P then $w's records, each once"
	fy=$(series_files "$tdir/.store" "$idl")
	[ -n "$fy" ] || fail "hole 4 ($h): no trail file of series $idl"
	# shellcheck disable=SC2086
	ysize=$(cat $fy | wc -c)
	# shellcheck disable=SC2086
	{ cat $fy | tail -c "$size_r" | cmp -s - "$T/$l" &&
	    cmp -s <(cat $fy | head -c $((ysize - size_r))) <(tail -c $((ysize - size_r)) "$T/p"); } ||
	    fail "hole 4 ($h): the trail files of series $idl are not the end of P then $l's records, each once"
	acc=$(grep "host $h: accepting a new series $idl from 127.0.0.1:[0-9]*; the previous one ($id0)" "$T/recv.log" | head -n 1)
	[ -n "$acc" ] || { show_tails "$T/recv.log"; fail "hole 4 ($h): no 'accepting a new series' line for $idl"; }
	info "receiver: ${acc#*auditdistd*: }"
}

# clones CASE: the host named CASE is cloned, as said above.
clones()
{
	h=$1
	tdir=$trails/$1
	copy_spool
	run_both
	hold_off
	take_over
	check_store
	echo "hole 4 ($h): clones with one host name and spool id: $w, first, kept series $id0, its files P then $w's records exactly; $l's login replaced $w's connection ($nrepl replacement(s)), found another history, started series $idl, was refused $nref time(s) (once with $w live), both ids named on both ends; after $w stopped and series_hold ${HOLD} s, $l's files hold all $nr of its records once after $((ysize - size_r)) bytes of P; no file holds two series"
}

bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen"; }
for c in "${CASES[@]}"; do
	clones "$c"
done
bg_stop recv TERM 15 || fail "auditdistd did not exit within 15 s of SIGTERM"
[ "$BG_RC" = 0 ] || { show_tails "$T/recv.log"; fail "auditdistd exited with status $BG_RC"; }
