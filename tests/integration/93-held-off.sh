#!/bin/bash
# A sender held off by the receiver itself is not "silent".  Two hosts
# share one writer (writer_hosts 2); the writer is stopped (SIGSTOP) for
# several times the receiver's timeout while both ship (tests/helpers/
# adpeer, each up to its 4 MiB window), so that the writer's queue fills
# and the network process stops reading both connections.  They must
# survive that: when the writer goes on, every byte is acknowledged and
# the trails are what was sent.  Before, the receiver closed them with
# "nothing received for N s" (the senders' PONGs were never read): in a
# restart storm of 10,000 senders, writers of 64 hosts with backlogs held
# connections off for longer than the timeout, again and again.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
ADPEER=$B/tests/adpeer
TIMEOUT=3
STOP_S=12

need_root
need_cmd openssl ss cmp timeout pgrep
for b in "$RECV" "$ADPEER"; do
	[ -e "$b" ] || skip "no $b (not built yet: make; make $ADPEER)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 80

recv_setup
printf '%s\n' "$PW" > "$T/pw"
chmod 0600 "$T/pw"
ADDR=127.0.0.1:$PORT
rconf=$T/recv.conf
test_recv_conf "$rconf" "$ADDR" "timeout $TIMEOUT"$'\npidfile "none"' \
    "writer_hosts 2" "$(test_recv_host held1 "$PW"; test_recv_host held2 "$PW")"
# About 18 MB of whole records each: more than the senders' windows.
for _ in $(seq 16); do cat "$SAMPLE"; done > "$T/seg"
bytes=$(stat -c %s "$T/seg")

bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
RECV_PID=$BG_PID
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen on $ADDR"; }
# writers: the trail writers (tests/lib.sh).
writers() { recv_writers "$RECV_PID"; }

for h in held1 held2; do
	bg_start "$h" "$T/$h.out" timeout 70 "$ADPEER" -t 40 -r 4000000 \
	    -b 65536 -n "$h" -W "$T/pw" -f "$FP" "$ADDR" good "$T/seg"
done
wait_for '[ -n "$(writers)" ]' 10 || { show_tails "$T/recv.log"; fail "no writer"; }
set -- $(writers)
[ "$#" = 1 ] || fail "the two hosts got $# writers (one expected: writer_hosts 2)"
w=$1
kill -STOP "$w"
on_exit "kill -CONT $w 2>/dev/null || :"
sleep "$STOP_S"
kill -CONT "$w"
! grep -q "nothing received" "$T/recv.log" ||
    { show_tails "$T/recv.log"; fail "a connection held off by its stopped writer was closed as silent: $(grep "nothing received" "$T/recv.log" | head -n 1)"; }

for h in held1 held2; do
	bg_stop "$h" 0 60 || { show_tails "$T/$h.out" "$T/recv.log"; fail "adpeer $h did not finish"; }
	[ "$BG_RC" = 0 ] || { show_tails "$T/$h.out" "$T/recv.log"; fail "adpeer $h exited with status $BG_RC"; }
	grep -q "^ACK 1 $bytes " "$T/$h.out" || { show_tails "$T/$h.out"; fail "$h: not every byte acknowledged"; }
	trail_cat "$trails/$h" > "$T/trail"
	cmp -s "$T/trail" "$T/seg" || fail "$h: the trail is not what was sent"
done
bg_stop recv TERM 20 || fail "auditdistd did not stop"
[ "$BG_RC" = 0 ] || { show_tails "$T/recv.log"; fail "auditdistd exited with status $BG_RC"; }
log_sanity "$T/recv.log" auditdistd
echo "held off: two hosts' writer stopped ${STOP_S} s (timeout ${TIMEOUT} s) under their windows; both connections stayed, every byte acked, the trails exact"
