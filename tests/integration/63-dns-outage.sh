#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# A DNS outage must not stall the receiver.  auditdistd runs in a private
# mount namespace whose /etc/resolv.conf names a local UDP "server" that
# reads every query and never answers (the machine's own configuration is
# not touched).  While host "web" ships (adpeer, rate-limited, every ACK
# time-stamped), a reload adds host "far" whose remote is a DNS name: its
# lookup hangs for about 16 s.  The network process must keep reading and
# acknowledging web's data all along (no gap of 2 s between ACKs), and the
# lookup must fail later on its own, logged.  Before the fix the reload ran
# getaddrinfo in the event loop and every sender waited for it.
# Also: auditdistd -n checks that configuration without any lookup.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
ADPEER=$B/tests/adpeer
DNS=127.0.0.77
RATE=200000

need_root
need_cmd openssl ss perl python3 unshare mount setpriv
for b in "$RECV" "$ADPEER"; do
	[ -x "$b" ] || skip "no $b (not built yet: make; make $b)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
[ -z "$(ss -Huan "( sport = :53 )" 2>/dev/null | grep -F "$DNS:53")" ] ||
    skip "something already listens on $DNS:53"
unshare -m --propagation private true 2>/dev/null || skip "no mount namespaces here (unshare -m)"
deadline 90

recv_setup

# The DNS server that never answers: it reads and drops.
cat > "$T/sink.py" <<'EOF'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 53))
open(sys.argv[2], "w").close()
n = 0
while True:
    s.recvfrom(4096)
    n += 1
    with open(sys.argv[2], "w") as f:
        f.write("%d\n" % n)
EOF
bg_start sink "$T/sink.log" python3 "$T/sink.py" "$DNS" "$T/queries"
wait_for '[ -e "$T/queries" ]' 10 || { show_tails "$T/sink.log"; fail "the DNS sink did not start"; }
printf 'nameserver %s\noptions timeout:8 attempts:2\n' "$DNS" > "$T/resolv.conf"

conf()	# FILE [EXTRA-HOST-BLOCK]
{
	test_recv_conf "$1" "127.0.0.1:$PORT" $'timeout 5\npidfile none' \
	    "$(test_recv_host web "$PW")" ${2:+"$2"}
}
far='host far {
	remote "tls://sender.invalid.example"
	password "x"
}'
conf "$T/recv.conf"
conf "$T/recv2.conf" "$far"

# The configuration check looks nothing up: it answers at once.
t=$(now_ms)
out=$(timeout 10 unshare -m --propagation private sh -c \
    'mount --bind "$1" /etc/resolv.conf && exec "$2" -n "$3"' sh \
    "$T/resolv.conf" "$RECV" "$T/recv2.conf" 2>&1) || fail "auditdistd -n: $out"
[ $(( $(now_ms) - t )) -lt 3000 ] || fail "auditdistd -n took $(( $(now_ms) - t )) ms"
grep -q "configuration OK" <<< "$out" || fail "auditdistd -n said: $out"

# Started as the user it would become, since every process of it reads
# the file again on SIGHUP, and the file must then be that user's.
chown "$FWD_USER" "$T/recv.conf" "$pki/recv.key" "$trails"
bg_start recv "$T/recv.log" unshare -m --propagation private sh -c \
    'mount --bind "$1" /etc/resolv.conf && exec setpriv --reuid "$2" --regid "$2" --clear-groups "$3" -f "$4"' sh \
    "$T/resolv.conf" "$(id -u "$FWD_USER")" "$RECV" "$T/recv.conf"
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen"; }

# web ships for about 10 s; each line of adpeer gets a time stamp.
sample_stream "$SAMPLE" $((RATE * 10)) "$T/input"
bg_start web "$T/web.out" sh -c '"$@" | perl -MTime::HiRes=time -ne '\''$|=1; printf "%d %s", time()*1000, $_'\''' sh \
    "$ADPEER" -v -t 30 -b 16384 -r "$RATE" -n web -w "$PW" -f "$FP" \
    "127.0.0.1:$PORT" good "$T/input"
wait_for '[ "$(grep -c " ACK " "$T/web.out")" -ge 5 ]' 10 || {
	show_tails "$T/web.out" "$T/recv.log"; fail "web: no acknowledgements in 10 s"; }

cp "$T/recv2.conf" "$T/recv.conf"
t_hup=$(now_ms)
kill -HUP "$(bg_pid recv)"
wait_for '[ -s "$T/queries" ]' 5 || fail "no DNS query reached the sink within 5 s of the reload"
wait_for '[ -z "$(bg_pid web)" ]' 40 || { show_tails "$T/web.out"; fail "web: adpeer did not finish"; }
grep -q "^[0-9]* ELAPSED" "$T/web.out" || { show_tails "$T/web.out" "$T/recv.log"; fail "web: adpeer did not finish its stream"; }
t_end=$(sed -n 's/^\([0-9]*\) ELAPSED.*/\1/p' "$T/web.out")

# The longest wait for an ACK from the reload to the end of the stream.
gap=$(awk -v h="$t_hup" '$2 == "ACK" { if ($1 >= h) { g = $1 - p; if (g > m) m = g } p = ($1 > h ? $1 : h) } END { print m + 0 }' "$T/web.out")
n=$(awk -v h="$t_hup" '$2 == "ACK" && $1 >= h { n++ } END { print n + 0 }' "$T/web.out")
secs=$(( (t_end - t_hup) / 1000 ))
info "after the reload: $n ACKs in $secs s, at most $gap ms apart"
[ "$n" -ge 10 ] && [ "$gap" -lt 2000 ] || {
	show_tails "$T/web.out" "$T/recv.log"
	fail "hole 7: during the DNS lookup of the reload web waited $gap ms for an ACK ($n ACKs in the $secs s after it)"; }
grep -q "host web: .*closed\|host web: .*said goodbye" "$T/recv.log" || :
# The lookup was still hanging when the stream ended, and fails on its own.
if wait_for 'grep -q "host far: remote \"tls://sender.invalid.example\": " "$T/recv.log"' 30; then
	t_fail=$(now_ms)
	(( t_fail - t_hup >= 8000 )) || fail "the lookup failed after $((t_fail - t_hup)) ms: that was no outage"
	info "$(grep "host far: " "$T/recv.log" | head -n 1 | sed 's/^.*auditdistd: //')"
else
	show_tails "$T/recv.log"
	fail "no line about host far's failed lookup 30 s after the reload"
fi
bg_stop recv TERM 15 || fail "auditdistd did not exit within 15 s of SIGTERM"
[ "$BG_RC" = 0 ] || { show_tails "$T/recv.log"; fail "auditdistd exited with status $BG_RC"; }
echo "hole 7: a reload whose lookup hung $(( (t_fail - t_hup) / 1000 )) s (DNS that never answers): web kept shipping, $n ACKs at most $gap ms apart; auditdistd -n looks nothing up"
