#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Fan-in: one auditdistd takes many senders at once.  adpeer opens N
# connections from one process (hosts fan-1 .. fan-N), each shipping the
# recorded sample over and over as new segments, paced, while a real
# audisp-dist ships a stream of its own and small trail files make every
# host rotate under load.  Afterwards each host's trail must be exactly
# what its connection had acknowledged (the sample so many times, then a
# prefix of it): nothing lost, nothing mixed between hosts; the real
# sender's trail is its input byte for byte, and the receiver answered a
# PING promptly in the middle of it all.
#
# ADTEST_FANIN_N, ADTEST_FANIN_SECONDS and ADTEST_FANIN_RATE (bytes per
# second per connection) change the load.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

N=${ADTEST_FANIN_N:-50}
SECS=${ADTEST_FANIN_SECONDS:-6}
RATE=${ADTEST_FANIN_RATE:-400000}
SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FWD=$B/audisp-dist-forwarder
FEED=$B/tests/feed
ADPEER=$B/tests/adpeer
read -r -a RECV_ARGS <<< "${ADTEST_RECV_ARGS:--f}"

need_root
need_cmd openssl ss cmp perl stat ausearch
for b in "$RECV" "$PLUGIN" "$FWD" "$FEED" "$ADPEER"; do
	[ -x "$b" ] || skip "no $b (not built yet: make; make $FEED $ADPEER)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 240
t0=$(now_ms)

recv_setup
printf '%s\n' "$PW" > "$T/pw"
chmod 0600 "$T/pw"
ADDR=127.0.0.1:$PORT

rconf=$T/recv.conf
test_recv_conf "$rconf" "$ADDR" "timeout 10" "trail_size 1M" "$(
	for ((i = 1; i <= N; i++)); do
		test_recv_host "fan-$i" "$PW"
	done
	test_recv_host real "$PW"
	test_recv_host pinger "$PW")"

spool=$T/spool
conf=$T/sender.conf
test_sender_conf "$conf" "real" "$spool" "$ADDR" "$FP" "$PW" 10 \
    "segment_size 128K"

input=$T/input
sample_stream "$SAMPLE" $((8 * 1024 * 1024)) "$input"
feed_input "$input" "$input.feed"
size=$(stat -c %s "$input")

bg_start recv "$T/recv.log" "$RECV" "${RECV_ARGS[@]}" "$rconf"
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen on $ADDR"; }

bg_start real "$T/real.log" "$FEED" -b 4194304 -t 900 -r $((size / SECS)) \
    -w "$size:$T/go.never" "$input.feed" "$PLUGIN" -f "$conf"
bg_start load "$T/load.out" "$ADPEER" -t 30 -n fan -W "$T/pw" -r "$RATE" \
    "$ADDR" load "$N" "$SECS" "$SAMPLE"

# In the middle of it: the receiver still answers at once.
wait_for "grep -q '^LOAD $N connections up' '$T/load.out'" 60 ||
    { show_tails "$T/load.out" "$T/recv.log"; fail "adpeer could not open $N connections"; }
sleep $((SECS / 2))
ping_out=$(timeout 30 "$ADPEER" -t 10 -n pinger -W "$T/pw" "$ADDR" ping) || :
ping_ms=$(echo "$ping_out" | sed -n 's/^ELAPSED //p')

bg_stop load 0 $((SECS + 60)) || fail "adpeer load did not finish within $((SECS + 60)) s"
rc=$BG_RC
if [ "$rc" != 0 ]; then
	show_tails "$T/load.out" "$T/recv.log"
	fail "adpeer load exited with status $rc"
fi
summary=$(grep '^LOAD n=' "$T/load.out") || fail "adpeer printed no summary"
info "$summary"

# Each host's trail: the sample (seq - 1) times, then SIZE bytes of it.
sz=$(stat -c %s "$SAMPLE")
checked=0 total=0
while read -r c _ seq asize _; do
	i=${c#c}
	dir=$trails/fan-$i
	want=$(( (seq - 1) * sz + asize ))
	have=$(trail_size "$dir")
	[ "$have" = "$want" ] ||
	    fail "fan-$i: the trail holds $have bytes; its connection had $want acknowledged (seq $seq size $asize)"
	if ! trail_cat "$dir" | perl -e '
		my ($f, $n, $rest) = @ARGV;
		open(my $fh, "<", $f) or die; local $/; my $s = <$fh>;
		my $want = ($s x $n) . substr($s, 0, $rest);
		my $got = <STDIN>;
		exit($got eq $want ? 0 : 1);' "$SAMPLE" $((seq - 1)) "$asize"; then
		fail "fan-$i: the trail is not the sample $((seq - 1)) times and $asize bytes (mixed or damaged)"
	fi
	checked=$((checked + 1))
	total=$((total + have))
done < <(grep -E '^c[0-9]+ ACK [0-9]+ [0-9]+ 1$' "$T/load.out")
[ "$checked" = "$N" ] || fail "adpeer reported the last ACK of $checked connections, not $N"
# ausearch reads a rotated host as a whole.
lines=$(trail_cat "$trails/fan-1" | wc -l)
raw=$(timeout 60 ausearch -if "$trails/fan-1" --raw 2>/dev/null | wc -l)
[ "$raw" = "$lines" ] || fail "ausearch -if $trails/fan-1 --raw: $raw records, the trail has $lines"

# The real sender.
if ! wait_for '[ "$(trail_size "$trails/real")" -ge "$size" ]' 90; then
	show_tails "$T/real.log" "$T/recv.log"
	fail "the real sender's trail holds $(trail_size "$trails/real") of $size bytes"
fi
trail_cat "$trails/real" | cmp - "$input" || fail "the real sender's trail is not its input byte for byte"

{ [ -n "$ping_ms" ] && [ "$ping_ms" -lt 2000 ]; } ||
    fail "a PING during the fan-in took ${ping_ms:-?} ms (or failed: $(echo "$ping_out" | tr '\n' ' '))"

p=$(child_pid "$(bg_pid real)")
[ -n "$p" ] || { show_tails "$T/real.log"; fail "the real audisp-dist is not running"; }
kill -TERM "$p"
bg_stop real 0 15 || fail "audisp-dist did not exit within 15 s of SIGTERM"
bg_stop recv TERM 15 || fail "auditdistd did not exit within 15 s of SIGTERM"
[ "$BG_RC" = 0 ] || { show_tails "$T/recv.log"; fail "auditdistd exited with status $BG_RC"; }
if grep -qE 'invariant failed|AddressSanitizer|runtime error' "$T/recv.log" "$T/real.log"; then
	show_tails "$T/recv.log"
	fail "an internal error was reported"
fi

t1=$(now_ms)
files=$(find "$trails" -path '*/.store/*' -name '????????????????' | wc -l)
echo "fanin: $N adpeer connections + 1 real sender; $total bytes from adpeer checked host by host," \
    "$size from the real sender byte-identical; $files trail files;" \
    "${summary#LOAD }; ping during load ${ping_ms} ms; $(( (t1 - t0) / 1000 )) s in all"
