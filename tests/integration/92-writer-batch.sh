#!/bin/bash
# Hosts that connect one after another, not in a wave, share writers: 60
# hosts start their handshakes 10 ms apart (tests/helpers/fleet -i), and
# the parent keeps collecting their asks for a writer while they keep
# coming (until none came for 50 ms, at most 300 ms after the first;
# receiver/pool.c), so that a few writers serve them all.  With a batch
# that closed 30 ms after its first ask, they got a writer for every two
# or three (12 to 20), each with its own memory and its own syncs: 10,000
# hosts whose handshakes came at 150 a second had 490 writers.  Then
# every host ships and its trail is compared with what it sent.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

N=60
GAP_MS=10
MAX_WRITERS=10
SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
FLEET=$B/tests/fleet

need_root
need_cmd openssl ss cmp awk pgrep
for b in "$RECV" "$FLEET"; do
	[ -e "$b" ] || skip "no $b (not built yet: make; make $FLEET)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 60
t0=$(now_ms)

recv_setup
ADDR=127.0.0.1:$PORT
out=$T/sent
mkdir "$out"
openssl rand -hex $((16 * N)) | fold -w 32 |
    awk '{ printf "b%d %s\n", NR, $0 }' > "$T/fleet.list"
rconf=$T/recv.conf
test_recv_conf "$rconf" "$ADDR" $'timeout 30\npidfile none' "writer_hosts 64" \
    "$(awk '{ printf "host %s {\n\tpassword \"%s\"\n}\n", $1, $2 }' "$T/fleet.list")"

bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
RECV_PID=$BG_PID
wait_for "port_listening $PORT" 20 ||
    { show_tails "$T/recv.log"; fail "auditdistd did not listen on $ADDR"; }

# writers: the trail writers (tests/lib.sh).
writers() { recv_writers "$RECV_PID"; }

bg_start fleet "$T/fleet.out" "$FLEET" -i "$GAP_MS" -f "$FP" -s 3 -t 50 \
    "$ADDR" "$T/fleet.list" "$SAMPLE" "$out"
wait_for "grep -q '^shipping' '$T/fleet.out'" 30 ||
    { show_tails "$T/fleet.out" "$T/recv.log"; fail "the fleet's handshakes did not end"; }
nw=$(writers | wc -l)
info "$(grep '^handshakes' "$T/fleet.out"): $nw writers"
[ "$nw" -ge 1 ] && [ "$nw" -le "$MAX_WRITERS" ] ||
    fail "$N hosts arriving ${GAP_MS} ms apart got $nw writers (at most $MAX_WRITERS expected; a writer per two or three is the batch that closes 30 ms after its first ask)"

bg_stop fleet 0 40 || { show_tails "$T/fleet.out"; fail "the fleet did not finish within 40 s"; }
[ "$BG_RC" = 0 ] || { show_tails "$T/fleet.out" "$T/recv.log"; fail "the fleet exited with status $BG_RC"; }
bad=0
while read -r h _; do
	trail_cat "$trails/$h" > "$T/trail.tmp"
	cmp -s "$T/trail.tmp" "$out/$h" || bad=$((bad + 1))
done < "$T/fleet.list"
[ "$bad" = 0 ] || fail "$bad of $N trails differ from what their senders shipped"
bg_stop recv TERM 30 || { show_tails "$T/recv.log"; fail "auditdistd did not stop"; }
[ "$BG_RC" = 0 ] || { show_tails "$T/recv.log"; fail "auditdistd exited with status $BG_RC"; }
log_sanity "$T/recv.log" auditdistd
echo "writer batch: $N hosts ${GAP_MS} ms apart in $nw writers, every trail exact ($(( ($(now_ms) - t0) / 1000 )) s)"
