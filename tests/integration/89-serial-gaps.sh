#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Serial gaps counted on a trail the real receiver wrote (receiver/serial.c
# through tests/helpers/serialscan).  A real audisp-dist and forwarder ship
# the captured records with some events taken out:
#   - the enriched capture without serials 45100 and 45500-45502;
#   - the raw capture, taken after auditd was restarted (DAEMON_END,
#     DAEMON_START; serials 45889-45891 went by meanwhile), without 46000;
#   - a reboot: the raw capture again, serials restarting at 100, without
#     150, and once more after it (serials and time going on).
# The counter must report exactly the serials taken out, each absent from
# the trail, neither the restart's jump nor the reboot; read in small steps
# with its state saved and restored in between it must say the same; and
# it must not change a byte, a name or a time stamp of the trail.
# The receiver's own auditor first sends its parent a malformed message
# (AUDITDIST_TEST_AUDITOR_BADMSG): the parent must kill it and go on
# serving, and the auditor started again must count the same gaps.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

RAW=tests/data/sample-raw.log
ENR=tests/data/sample-enriched.log
RECV=$B/test/auditdistd	# with the auditor's test hook
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
SCAN=$B/tests/serialscan
HOST=web

need_root
need_cmd openssl ss perl stat find
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED" "$SCAN"; do
	[ -x "$b" ] || skip "no $b (not built yet: make; make $b)"
done
deadline 90

# drop FILE FROM TO [SHIFT [SECONDS]]: FILE without serials FROM..TO (auditd's
# own records kept), the others moved by SHIFT and their time by SECONDS.
drop()
{
	FROM=$2 TO=$3 SHIFT=${4:-0} SEC=${5:-0} perl -ne '
		my $d = /type=DAEMON_/;
		next if !$d && /msg=audit\(\d+\.\d+:(\d+)\)/ &&
		    $1 >= $ENV{FROM} && $1 <= $ENV{TO};
		s/(msg=audit\()(\d+)(\.\d+:)(\d+)\)/$1 . ($2 + $ENV{SEC}) . $3 . ($4 + $ENV{SHIFT}) . ")"/e
		    unless $d;
		print;' "$1"
}
{
	drop "$ENR" 45100 45100 | drop /dev/stdin 45500 45502
	drop "$RAW" 46000 46000
	drop "$RAW" 45942 45942 -45792 600
	drop "$RAW" 1 0 -45547 610
} > "$T/input" || fail "could not build the input"
grep -q ':150)' "$T/input" && fail "the input still holds serial 150"
want='gap boot=0 from=45100 to=45100
gap boot=0 from=45500 to=45502
gap boot=0 from=46000 to=46000
gap boot=1 from=150 to=150'

recv_setup
tdir=$trails/$HOST
test_recv_conf "$T/recv.conf" "127.0.0.1:$PORT" "timeout 5" "trail_size 256K" \
    "status_file \"$T/rstate/status\"" "$(test_recv_host "$HOST" "$PW")"
mkdir -m 0755 "$T/rstate"
chown "$FWD_USER" "$T/rstate"
feed_input "$T/input" "$T/input.feed"
test_sender_conf "$T/send.conf" "$HOST" "$T/spool" "127.0.0.1:$PORT" "$FP" "$PW" 5 "segment_size 64K"
size=$(stat -c %s "$T/input")

AUDITDIST_TEST_AUDITOR_BADMSG=1 bg_start recv "$T/recv.log" "$RECV" -f "$T/recv.conf"
RECV_PID=$BG_PID
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen"; }
wait_for 'grep -q "auditor: sent a malformed message; killed" "$T/recv.log"' 10 ||
    { show_tails "$T/recv.log"; fail "the parent did not refuse the auditor's malformed message"; }
[ -e "$T/rstate/serial/test-badmsg" ] || fail "the auditor did not send its malformed message"
first=$(pgrep -P "$RECV_PID" -x auditdistd-gaps || :)
bg_start send "$T/send.log" "$FEED" -b 4194304 -t 120 -w "$size:$T/go" "$T/input.feed" "$PLUGIN" -f "$T/send.conf"
if ! wait_for '[ "$(trail_size "$tdir")" -ge "$size" ]' 40; then
	show_tails "$T/send.log" "$T/recv.log"
	fail "the trail holds $(trail_size "$tdir") of $size bytes after 40 s"
fi
trail_cat "$tdir" | cmp -s - "$T/input" || fail "the trail is not the input"
nfiles=$(find "$tdir/.store" -name '????????????????' | wc -l)
[ "$nfiles" -ge 3 ] || fail "the trail has $nfiles files; the test wants rotations"

snapshot() { (cd "$tdir" && find . -printf '%p %s %T@ %C@ %m %i\n' | sort); }
snapshot > "$T/before"
"$SCAN" "$tdir" > "$T/scan" 2>&1 || { cat "$T/scan"; fail "serialscan failed"; }
snapshot > "$T/after"
cmp -s "$T/before" "$T/after" || { diff "$T/before" "$T/after" | head; fail "reading changed the trail"; }

got=$(grep '^gap' "$T/scan" | sed 's/ time=.*//')
[ "$got" = "$want" ] || fail "gaps: got
$got
want
$want"
stats=$(grep '^stats' "$T/scan")
for kv in "bytes=$size" bad=0 boots=1 restarts=8 gaps=4 missing=6 skipped=0 cutback=0; do
	grep -qw "$kv" <<< "$stats" || fail "not $kv: $stats"
done
# Each serial counted missing is absent from the trail, in its boot.
for s in 45100 45500 45501 45502 46000 150; do
	! trail_cat "$tdir" | grep -v 'type=DAEMON_' | grep -q ":$s)" ||
	    fail "serial $s is counted missing but the trail holds it"
done

# In steps of 50,000 bytes, the state saved and read back in between.
: > "$T/steps"
for i in $(seq 1 80); do
	"$SCAN" -m 50000 -s "$T/serial.state" "$tdir" > "$T/step" 2>&1 || { cat "$T/step"; fail "step $i failed"; }
	grep '^gap' "$T/step" >> "$T/steps" || :
	grep -qw "bytes=$size" "$T/step" && break
done
grep -qw "bytes=$size" "$T/step" || fail "80 steps of 50,000 bytes did not read $size bytes"
got=$(sed 's/ time=.*//' "$T/steps")
[ "$got" = "$want" ] || fail "gaps read in $i steps: got
$got"
# (libauparse gives an event cut by a save as two: events may differ.)
nev() { grep '^stats' "$1" | sed 's/ events=[0-9]*//'; }
[ "$(nev "$T/step")" = "$(nev "$T/scan")" ] ||
    fail "read in $i steps: $(nev "$T/step"), at once: $(nev "$T/scan")"
grep -q '^serial 1$' "$T/serial.state" || fail "the saved state is not a state"

# The receiver served on (the trail is whole); the auditor is back and
# counted the same gaps (it is started again 10 s after it was killed).
kill -0 "$RECV_PID" 2>/dev/null || fail "the receiver is gone"
hv() { grep " host=$HOST " "$T/rstate/status" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$1=//p"; }
wait_for '[ "$(hv serial_gaps)" = 4 ] && [ "$(hv missing_serials)" = 6 ]' 30 ||
    { show_tails "$T/recv.log"; cat "$T/rstate/status" >&2; fail "no serial gaps from the auditor started again"; }
again=$(pgrep -P "$RECV_PID" -x auditdistd-gaps || :)
if [ -z "$again" ] || [ "$again" = "$first" ]; then
	fail "the auditor is not running again (was ${first:-none}, now ${again:-none})"
fi
grep -q "auditor (serial gaps) killed by signal 9" "$T/recv.log" || fail "the auditor's end was not logged"
[ "$(sed 's/^[^ ]* host=[^ ]* /gap /; s/ missing=.*//' "$T/rstate/serial/$HOST.gaps")" = "$want" ] ||
    fail "$HOST.gaps: $(cat "$T/rstate/serial/$HOST.gaps")"
touch "$T/go"
info "serial gaps: $(sed "s/gap //" <<< "$want" | paste -sd ";" -), the same in $i steps ($(wc -c < "$T/serial.state") bytes of state); $nfiles trail files unchanged; the auditor killed for a malformed message, back with the same gaps"
