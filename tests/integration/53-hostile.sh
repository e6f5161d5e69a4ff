#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Hostile peers.  auditdistd serves three configured hosts: "legit", whose
# real audisp-dist ships a stream the whole time, and "other" and "loris",
# whose passwords adpeer (tests/helpers/adpeer.c) knows.  adpeer plays every
# scenario of a peer that lies, breaks the protocol or stalls: wrong or
# replayed proofs and challenges, unknown and malformed host names, writing
# for another host, wrong offsets, oversized (up to 2^32-1 bytes),
# malformed, empty, unknown and truncated frames, data before
# authentication, stalls and slow lorises at every stage, garbage inside
# TLS and plain TCP to the TLS port; openssl s_client connects without
# authenticating, asks for a TLS 1.2 renegotiation, and updates TLS 1.3
# keys.  Each must be refused with the expected answer, and with a log
# line about that connection that says why; nothing may be written anywhere
# but by the legitimate sender (listings before and after, and no
# ADPEER-POISON line anywhere); the legitimate sender's connection is not
# disturbed and its trail is the input byte for byte at the end.  Then
# adpeer ships as "other" and resumes, to show that the hostile traffic
# left its state intact.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

MB=${ADTEST_HOSTILE_MB:-8}
SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FWD=$B/audisp-dist-forwarder
FEED=$B/tests/feed
ADPEER=$B/tests/adpeer
read -r -a RECV_ARGS <<< "${ADTEST_RECV_ARGS:--f}"
TIMEOUT=3	# the receiver's "timeout": handshake and idle deadline

need_root
need_cmd openssl ss cmp perl stat find timeout
for b in "$RECV" "$PLUGIN" "$FWD" "$FEED" "$ADPEER"; do
	[ -x "$b" ] || skip "no $b (not built yet: make; make $FEED $ADPEER)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 270
t0=$(now_ms)

pki=$T/pki
mkdir -m 0755 "$pki"
tls_cert "$pki" recv
FP=$(tls_fingerprint "$pki/recv.pem")
PWL=$(rand_password)
PWO=$(rand_password)
PWS=$(rand_password)
PORT=$(free_port)
ADDR=127.0.0.1:$PORT
trails=$T/trails
mkdir -m 0750 "$trails"
printf '%s\n' "$PWO" > "$T/pw.other"
printf '%s\n' "$PWS" > "$T/pw.loris"
chmod 0600 "$T/pw.other" "$T/pw.loris"

rconf=$T/recv.conf
# The scenarios log in with a new spool each time: no series pin.
test_recv_conf "$rconf" "$ADDR" "timeout $TIMEOUT" "series_hold 0" \
    "$(test_recv_host legit "$PWL"
	test_recv_host other "$PWO"
	test_recv_host loris "$PWS")"

spool=$T/spool
conf=$T/sender.conf
test_sender_conf "$conf" "legit" "$spool" "$ADDR" "$FP" "$PWL" 5 \
    "segment_size 128K"

input=$T/input
sample_stream "$SAMPLE" $((MB * 1024 * 1024)) "$input"
feed_input "$input" "$input.feed"
size=$(stat -c %s "$input")

bg_start recv "$T/recv.log" "$RECV" "${RECV_ARGS[@]}" "$rconf"
RECV_PID=$BG_PID
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen on $ADDR"; }

# The legitimate sender ships steadily through the whole hostile phase.
bg_start legit "$T/legit.log" "$FEED" -b 4194304 -t 900 -r $((size / 60)) \
    -w "$size:$T/go.never" "$input.feed" "$PLUGIN" -f "$conf"
wait_for '[ "$(trail_size "$trails/legit")" -gt 0 ]' 20 ||
    { show_tails "$T/recv.log" "$T/legit.log"; fail "the legitimate sender shipped nothing within 20 s"; }

# adpeer ships two segments as "other": the hostile scenarios then run
# against a host with a stored series (and continue it, with -i).
ID=$(openssl rand -hex 16)
head -n 1500 "$SAMPLE" > "$T/part1"
sed -n '1501,3000p' "$SAMPLE" > "$T/part2"
tail -n +3001 "$SAMPLE" > "$T/part3"
out=$(timeout 30 "$ADPEER" -t 10 -n other -W "$T/pw.other" -i "$ID" "$ADDR" good "$T/part1" "$T/part2") ||
    { echo "$out"; show_tails "$T/recv.log"; fail "adpeer could not ship as other"; }
echo "$out" | grep -q '^WELCOME .*proof=ok' || fail "adpeer good: no WELCOME with a good proof: $out"
echo "$out" | grep -q "^ACK 2 $(stat -c %s "$T/part2") 1$" || fail "adpeer good: no final ACK of seq 2: $out"
# "loris" authenticates once (which makes its directory) and later trickles
# DATA while the scenarios authenticate as "other" (which would replace it).
out=$(timeout 30 "$ADPEER" -t 10 -n loris -W "$T/pw.loris" "$ADDR" hello) ||
    { echo "$out"; show_tails "$T/recv.log"; fail "adpeer could not authenticate as loris"; }

listing()
{
	find "$trails" -path "$trails/legit" -prune -o -printf '%P %y %s %m\n' | sort
}
listing > "$T/listing.before"

# How the legitimate sender's connection is doing: connections the
# receiver logged for it (must not grow while adpeer attacks).
legit_conns()
{
	grep -cE "host legit: (connected from|the connection from .* replaces)" "$T/recv.log" || :
}
legit0=$(legit_conns)

# --- the scenarios ------------------------------------------------------------------
# Each: allowed adpeer exit codes # stdout regex # receiver log regex #
# adpeer's arguments (options, then the scenario).  Exit codes: 21 ERROR
# protocol, 22 version, 23 auth, 25 offset, 30 timeout, 3 closed without
# ERROR, 5 reset.  A: as "other", continuing its stored series (seq 2,
# complete); N: as "other", a new series.
A="-t 15 -n other -W $T/pw.other -i $ID"
N="-t 15 -n other -W $T/pw.other"
SCENARIOS=(
	"23#^ERROR 3 authentication failed#other.*wrong password proof#$A wrong-password"
	"23#^ERROR 3 authentication failed#legit.*wrong password proof#-t 15 -n legit -w wrong-guess wrong-password"
	"23#^ERROR 3 authentication failed#unknown host#-t 15 -w guess unknown-host"
	"23#^ERROR 3 authentication failed#other.*no password proof#$A empty-auth"
	"23#^ERROR 3 authentication failed#legit.*wrong password proof#-t 15 -n legit cross-proof other $PWO"
	"23#^conn3 ERROR 3 authentication failed#other.*wrong password proof#$A replayed-proof"
	"21#^ERROR 1 #spool id#$A -i 00000000000000000000000000000000 hello"
	"22#^ERROR 2 #version#$A bad-version"
	"21#^ERROR 1 #magic#$A bad-magic"
	"21#^ERROR 1 #host name#$A host-slash"
	"21#^ERROR 1 #host name#$A host-dotdot"
	"21#^ERROR 1 #host name#$A host-dot"
	"21#^ERROR 1 #host name#$A host-nul"
	"21#^ERROR 1 #host name#$A host-empty"
	"21#^ERROR 1 #host name|HELLO of#$A host-long"
	"21#^ERROR 1 #host name#$A host-space"
	"21#^ERROR 1 #unexpected HELLO#$A rehello legit"
	"25#^ERROR 5 #expected#$A wrong-offset"
	"25#^ERROR 5 #expected#$N wrong-offset"
	"25#^ERROR 5 #expected#$A new-seq-offset"
	"25#^ERROR 5 #expected#$N new-seq-offset"
	"25#^ERROR 5 #expected#$A old-seq"
	"25#^ERROR 5 #expected#$A segend-mismatch"
	"25#^ERROR 5 #expected#$N segend-mismatch"
	"21#^ERROR 1 malformed SEGEND#malformed SEGEND#$N segend-at 0 0"
	"21#^ERROR 1 #at most#$A oversized-frame"
	"21#^ERROR 1 #at most#$A oversized-frame 1048641"
	"21#^ERROR 1 #at most#$A -E hello oversized-frame"
	"21#^ERROR 1 #at most#$A -E auth oversized-frame 1048641"
	"21#^ERROR 1 #before authentication#$A -E hello oversized-frame 1048640"
	"21#^ERROR 1 #before authentication#$A -E auth oversized-frame 65536"
	"21#^ERROR 1 #padding#$A bad-padding"
	"21#^ERROR 1 #padding#$A -E hello bad-padding"
	"21#^ERROR 1 #type 99#$A unknown-type"
	"21#^ERROR 1 #type 0#$A unknown-type 0"
	"21#^ERROR 1 #type 200#$A -E auth unknown-type 200"
	"21#^ERROR 1 #malformed PING#$A trailing-bytes"
	"21#^ERROR 1 #newline#$A data-without-newline"
	"21#^ERROR 1 #malformed DATA#$A empty-data"
	"21#^ERROR 1 #expected HELLO, got DATA#$A data-before-hello"
	"21#^ERROR 1 #expected AUTH, got DATA#$A data-before-auth"
	"21#^ERROR 1 #protocol error#$A garbage 4096"
	"3,5#^(EOF|RESET)#TLS handshake failed#$A -T garbage 4096"
	"3,5#^(EOF|RESET)#TLS handshake failed#$A -T http"
	"3,5#^(EOF|RESET|TLS-RECORD)#TLS handshake failed#$A -T hello"
	# Lengths near 2^32 and 2^31: the header's length is an unsigned u32.
	"21#^ERROR 1 frame of 4294967288 bytes \(at most#frame of 4294967288 bytes \(at most#$A oversized-frame 4294967288"
	"21#^ERROR 1 frame of 2147483648 bytes \(at most#frame of 2147483648 bytes \(at most#$A oversized-frame 2147483648"
	"21#^ERROR 1 frame of 4294967288 bytes \(at most#frame of 4294967288 bytes#$A -E hello oversized-frame 4294967288"
	"21#^ERROR 1 frame of 2147483648 bytes \(at most#frame of 2147483648 bytes#$A -E hello oversized-frame 2147483648"
	"21#^ERROR 1 frame of 4294967295 bytes \(at most#frame of 4294967295 bytes#$A -E auth oversized-frame 4294967295"
	"21#^ERROR 1 frame of 2147483648 bytes \(at most#frame of 2147483648 bytes#$A -E auth oversized-frame 2147483648"
	# Frames cut short, then the sender closes (TLS close_notify, or a
	# bare FIN; in the payload or in the header): nothing of a cut DATA
	# is stored, and the next connection resumes where the last one did.
	"3#^SAME resume point#host other: .* closed the connection \(#$A truncated-frame tls"
	"3#^SAME resume point#host other: .* closed the connection \(#$A truncated-frame tcp"
	"3#^SAME resume point#host other: .* closed the connection \(#$A truncated-frame tcp 5"
	"3#^EOF\$#closed the connection while waiting for HELLO#$A -E hello truncated-frame tls"
	"3#^EOF\$#closed the connection while waiting for AUTH#$A -E auth truncated-frame tcp"
	# Replays: a proof over an old challenge, the challenge sent back as
	# the answer, DATA pipelined behind a wrong proof.
	"23#^conn2 ERROR 3 authentication failed#other.*wrong password proof#$A replayed-challenge"
	"21#^ERROR 1 expected AUTH, got CHALLENGE#expected AUTH, got CHALLENGE#$A echo-challenge"
	"23#^ERROR 3 authentication failed#other.*wrong password proof#$A -s 3 wrong-password-pipelined"
	# Two HELLOs in one TLS record; empty frames of each type the
	# receiver decodes; lengths inside messages that do not add up.
	"21#^ERROR 1 expected AUTH, got HELLO#expected AUTH, got HELLO#$A double-hello legit"
	"21#^ERROR 1 malformed HELLO#malformed HELLO#$A -E hello raw-frame 1 0"
	"21#^ERROR 1 expected AUTH, got BYE#expected AUTH, got BYE#$A -E auth raw-frame 11 0"
	"21#^ERROR 1 unexpected AUTH#unexpected AUTH#$A raw-frame 3 0"
	"21#^ERROR 1 malformed DATA#malformed DATA#$A raw-frame 5 0"
	"21#^ERROR 1 malformed SEGEND#malformed SEGEND#$A raw-frame 6 0"
	"21#^ERROR 1 unexpected ACK#unexpected ACK#$A raw-frame 7 0"
	"21#^ERROR 1 malformed PING#malformed PING#$A raw-frame 8 0"
	"21#^ERROR 1 malformed PONG#malformed PONG#$A raw-frame 9 0"
	"21#^ERROR 1 malformed ERROR#malformed ERROR#$A raw-frame 10 0"
	"21#^ERROR 1 malformed BYE#malformed BYE#$A raw-frame 11 8"
	"21#^ERROR 1 malformed AUTH#malformed AUTH#$A auth-length 31"
	"21#^ERROR 1 malformed AUTH#malformed AUTH#$A auth-length 33"
	"21#^ERROR 1 malformed HELLO#malformed HELLO#$A hello-hostlen 65535"
	"22#^ERROR 2 protocol version 0 #version 0 is not supported#$A bad-version 0"
	"22#^ERROR 2 protocol version 65535 #version 65535 is not supported#$A bad-version 65535"
	"23#^CHALLENGE version=2\$#other.*no password proof#$A bad-version 2"
	"21#^ERROR 1 malformed DATA#malformed DATA#$N data-at 0 0"
	"21#^ERROR 1 malformed DATA#malformed DATA#$A data-at 3 18446744073709551600"
	"25#^ERROR 5 SEGEND: .* size 18446744073709551615#SEGEND: expected#$A segend-at 2 18446744073709551615"
)
# Stalls take the receiver's timeout each: run them together, in the
# background, while the others run.
STALLS=(
	"3#^CLOSED 20/20#handshake timed out#-t $((TIMEOUT * 4)) stall-tcp 20"
	"3,30#^(CLOSED|ERROR 10)#handshake timed out#-t $((TIMEOUT * 4)) stall-tls"
	"3,30#^(CLOSED|ERROR 10)#handshake timed out#-t $((TIMEOUT * 4)) -n other stall-hello"
	"3,30#^(CLOSED|ERROR 10)#handshake timed out#-t $((TIMEOUT * 4)) $A stall-auth"
	"3,30#^(CLOSED|ERROR 10)#nothing received#-t $((TIMEOUT * 4)) $A stall-data"
	# Slow loris: a byte a second, never a whole frame.  The handshake's
	# deadline, set at accept, does not move (not even for the whole
	# HELLO that slow AUTH sends after a 1 s pause); afterwards only whole
	# frames move it.  Closed within a second after TIMEOUT.
	"30#^TRICKLED ([2-9]|[1-9][0-9]+) of .*closed ${TIMEOUT}[0-9]{3} ms after connecting#handshake timed out \(waiting for HELLO\)#-t $((TIMEOUT * 4)) $A -E hello slow-frame 1000"
	"30#^TRICKLED ([2-9]|[1-9][0-9]+) of .*closed ${TIMEOUT}[0-9]{3} ms after connecting#handshake timed out \(waiting for AUTH\)#-t $((TIMEOUT * 4)) $A -E auth slow-frame 1000 1000"
	"30#^TRICKLED ([2-9]|[1-9][0-9]+) of .*closed ${TIMEOUT}[0-9]{3} ms after connecting#loris.*nothing received for $TIMEOUT s#-t $((TIMEOUT * 4)) -n loris -W $T/pw.loris slow-frame 1000"
)

# split_args ARGS: adpeer's options (OPTS) and the scenario with its
# arguments (REST); adpeer takes the address between them.
split_args()
{
	local words k=0
	read -r -a words <<< "$1"
	OPTS=() REST=()
	while [ $k -lt ${#words[@]} ]; do
		case ${words[k]} in
		-T|-v)	OPTS+=("${words[k]}"); k=$((k + 1)) ;;
		-*)	OPTS+=("${words[k]}" "${words[k + 1]}"); k=$((k + 2)) ;;
		*)	REST=("${words[@]:k}"); break ;;
		esac
	done
}

for i in "${!STALLS[@]}"; do
	IFS='#' read -r _ _ _ args <<< "${STALLS[i]}"
	split_args "$args"
	bg_start "stall$i" "$T/adpeer.stall$i" timeout 60 "$ADPEER" "${OPTS[@]}" "$ADDR" "${REST[@]}"
done

failures=()
check()		# RESULT-FILE RC SPEC
{
	local file=$1 rc=$2 codes re logre args ok=0 c
	IFS='#' read -r codes re logre args <<< "$3"
	for c in ${codes//,/ }; do
		[ "$rc" = "$c" ] && ok=1
	done
	if [ "$ok" = 0 ]; then
		failures+=("adpeer $args: exit $rc, expected $codes: $(tr '\n' ';' < "$file" | cut -c1-300)")
		return
	fi
	if [ -n "$re" ] && ! grep -qE "$re" "$file"; then
		failures+=("adpeer $args: no line /$re/ in: $(tr '\n' ';' < "$file" | cut -c1-300)")
		return
	fi
	# A receiver that sent ERROR must close at once.
	if grep -qE '^(OPEN|AFTER-ERROR) ' "$file"; then
		failures+=("adpeer $args: $(grep -E '^(OPEN|AFTER-ERROR) ' "$file" | head -1)")
	fi
}

# peer_addr FILE: the address adpeer connected from, as the receiver's log
# names it (its first connection's; else, with conn1.., its last one's).
peer_addr()
{
	local a
	a=$(sed -n 's/^FROM //p' "$1" | head -n 1)
	[ -n "$a" ] || a=$(sed -n 's/^conn[0-9]* FROM //p' "$1" | tail -n 1)
	printf '%s' "$a"
}

# log_says BYTE ADDR REGEX: a receiver log line past BYTE (and about ADDR,
# when given) matches REGEX.
log_says()
{
	tail -c +$(($1 + 1)) "$T/recv.log" |
	    if [ -n "$2" ]; then grep -F -e "$2:" -e "$2 "; else cat; fi |
	    grep -iE "$3" > /dev/null
}

run()		# SPEC: run one adpeer scenario and check it
{
	local spec=$1 args rc=0 i=${#results[@]}
	IFS='#' read -r _ _ _ args <<< "$spec"
	split_args "$args"
	local logpos addr
	logpos=$(stat -c %s "$T/recv.log")
	timeout 60 "$ADPEER" "${OPTS[@]}" "$ADDR" "${REST[@]}" > "$T/scen.$i" 2>&1 || rc=$?
	results+=("$i")
	check "$T/scen.$i" "$rc" "$spec"
	# The receiver's log says why (give it a moment to write).
	IFS='#' read -r _ _ logre _ <<< "$spec"
	addr=$(peer_addr "$T/scen.$i")
	if [ -n "$logre" ] && ! wait_for "log_says $logpos '$addr' '$logre'" 3; then
		failures+=("adpeer ${REST[*]} (${OPTS[*]}): no receiver log line /$logre/${addr:+ about $addr} among: $(tail -c +$((logpos + 1)) "$T/recv.log" | tail -n 3 | tr '\n' ';' | cut -c1-300)")
	fi
	info "$(printf '%-28s' "${REST[*]}") exit $rc: $(grep -vE '^((conn[0-9] )?(FROM|TLS|CHALLENGE)|ELAPSED|EOF$)' "$T/scen.$i" | tr '\n' ' ' | cut -c1-150)"
}

results=()
for s in "${SCENARIOS[@]}"; do
	run "$s"
done

# A failed authentication is delayed, but must not hold up anyone else:
# while a wrong password waits out its second, a good peer is served.
# shellcheck disable=SC2086 # A is words
timeout 30 "$ADPEER" $A "$ADDR" wrong-password > "$T/scen.slow" 2>&1 &
slow=$!
sleep 0.2
# shellcheck disable=SC2086 # A is words
ping_out=$(timeout 30 "$ADPEER" $A "$ADDR" ping) || failures+=("ping during a failing authentication: $ping_out")
wait "$slow" || :
ping_ms=$(echo "$ping_out" | sed -n 's/^ELAPSED //p')
slow_ms=$(sed -n 's/^ELAPSED //p' "$T/scen.slow")
[ -n "$ping_ms" ] && [ "$ping_ms" -lt 800 ] ||
    failures+=("a ping took ${ping_ms:-?} ms while another peer's authentication was failing (not served meanwhile)")
[ -n "$slow_ms" ] && [ "$slow_ms" -ge 900 ] ||
    failures+=("a wrong password was answered after ${slow_ms:-?} ms, not after the 1 s delay")
# An unknown host is answered like a wrong password, after the same delay.
for i in "${results[@]}"; do
	if grep -q '^ERROR 3' "$T/scen.$i"; then
		ms=$(sed -n 's/^ELAPSED //p' "$T/scen.$i" | tail -1)
		[ "$ms" -ge 900 ] || failures+=("scenario $i: ERROR 3 after $ms ms (no 1 s delay): $(head -3 "$T/scen.$i" | tr '\n' ';')")
	fi
done

# openssl s_client: TLS without any auditdist handshake, then nothing; and
# then a line of text.
rc=0
s0=$(now_ms)
timeout $((TIMEOUT * 4)) openssl s_client -connect "$ADDR" -servername localhost -quiet \
    < /dev/null > "$T/sclient.1" 2>&1 || rc=$?
s1=$(now_ms)
[ "$rc" != 124 ] || failures+=("openssl s_client saying nothing was not disconnected within $((TIMEOUT * 4)) s")
info "s_client, silent: closed after $(( (s1 - s0) / 1000 )).$(( (s1 - s0) % 1000 / 100 )) s (rc $rc)"
rc=0
printf 'HELLO legit\r\n' | timeout $((TIMEOUT * 4)) openssl s_client -connect "$ADDR" \
    -servername localhost -quiet > "$T/sclient.2" 2>&1 || rc=$?
[ "$rc" != 124 ] || failures+=("openssl s_client sending text was not disconnected within $((TIMEOUT * 4)) s")

# A TLS 1.2 client asks to renegotiate ("R", s_client's command) before any
# HELLO: the receiver refuses (a no_renegotiation alert, which s_client
# reports as "no renegotiation" and answers with a fatal alert that the
# receiver logs), and keeps serving the others.
logpos=$(stat -c %s "$T/recv.log")
rc=0
{ printf 'R\n'; sleep 1; } | timeout $((TIMEOUT * 4)) openssl s_client -tls1_2 \
    -connect "$ADDR" -servername localhost > "$T/sclient.reneg" 2>&1 || rc=$?
if ! grep -q '^New, TLSv1.2' "$T/sclient.reneg" || ! grep -q '^RENEGOTIATING' "$T/sclient.reneg"; then
	failures+=("openssl s_client -tls1_2 did not get to ask for a renegotiation: $(tail -n 3 "$T/sclient.reneg" | tr '\n' ';')")
elif ! grep -q ':no renegotiation:' "$T/sclient.reneg" || [ "$rc" = 0 ] || [ "$rc" = 124 ]; then
	failures+=("a TLS 1.2 renegotiation was not refused (s_client rc $rc): $(grep -aA3 '^RENEGOTIATING' "$T/sclient.reneg" | tr '\n' ';' | cut -c1-300)")
elif ! wait_for "log_says $logpos '' 'TLS read: .*alert handshake failure'" 3; then
	failures+=("no receiver log line about the refused renegotiation: $(tail -c +$((logpos + 1)) "$T/recv.log" | tail -n 3 | tr '\n' ';')")
fi
info "s_client -tls1_2, renegotiation: rc $rc: $(grep -a -m1 'no renegotiation' "$T/sclient.reneg" | cut -c1-120)"
# A TLS 1.3 key update that asks for one back ("K") is part of TLS 1.3:
# the connection goes on under the new keys, and a PING instead of HELLO
# is then refused as usual.
logpos=$(stat -c %s "$T/recv.log")
rc=0
{ printf 'K\n'; sleep 0.3; printf '\0\0\0\10\10\0\0\0\0\0\0\0\0\0\0\1'; sleep 1; } |
    timeout $((TIMEOUT * 4)) openssl s_client -tls1_3 -connect "$ADDR" \
    -servername localhost > "$T/sclient.keyupdate" 2>&1 || rc=$?
if ! grep -q '^KEYUPDATE' "$T/sclient.keyupdate"; then
	failures+=("openssl s_client -tls1_3 did not send a key update: $(tail -n 3 "$T/sclient.keyupdate" | tr '\n' ';')")
elif ! grep -aq 'expected HELLO, got PING' "$T/sclient.keyupdate"; then
	failures+=("after a TLS 1.3 key update, a PING was not answered with ERROR (s_client rc $rc): $(grep -aA3 '^KEYUPDATE' "$T/sclient.keyupdate" | tr '\n' ';' | cut -c1-300)")
elif ! wait_for "log_says $logpos '' 'expected HELLO, got PING'" 3; then
	failures+=("no receiver log line about the PING after a key update: $(tail -c +$((logpos + 1)) "$T/recv.log" | tail -n 3 | tr '\n' ';')")
fi
info "s_client -tls1_3, key update then PING: rc $rc: $(grep -ao 'expected HELLO, got PING' "$T/sclient.keyupdate")"

# The stalls.
for i in "${!STALLS[@]}"; do
	bg_stop "stall$i" 0 60 || :
	check "$T/adpeer.stall$i" "$BG_RC" "${STALLS[i]}"
	IFS='#' read -r _ _ logre _ <<< "${STALLS[i]}"
	addr=$(peer_addr "$T/adpeer.stall$i")
	log_says 0 "$addr" "$logre" || failures+=("stall $i: no receiver log line /$logre/${addr:+ about $addr}")
	info "stall $i: exit $BG_RC: $(grep -vE '^(FROM|TLS|CHALLENGE|ELAPSED)' "$T/adpeer.stall$i" | tr '\n' ' ' | cut -c1-150)"
done

# --- nothing written, nobody disturbed -----------------------------------------------
listing > "$T/listing.after"
if ! cmp -s "$T/listing.before" "$T/listing.after"; then
	diff "$T/listing.before" "$T/listing.after" | head -20 | sed 's/^/  | /'
	failures+=("files outside the legitimate host's directory changed during the hostile phase")
fi
if grep -rlaF ADPEER-POISON "$trails" > "$T/poisoned"; then
	failures+=("a frame sent after a refused one was stored: $(tr '\n' ' ' < "$T/poisoned")")
fi
if [ -n "$(find "$T" / -maxdepth 1 -name '*adpeer-escape*' 2>/dev/null)" ]; then
	failures+=("a host name with '/' made a file outside the trails")
fi
pid_alive "$RECV_PID" || { show_tails "$T/recv.log"; fail "auditdistd died during the hostile phase"; }
legit1=$(legit_conns)
[ "$legit1" = "$legit0" ] ||
    failures+=("the legitimate sender connected $((legit1 - legit0)) more times during the hostile phase (was it kicked out?)")

if [ "${#failures[@]}" -gt 0 ]; then
	printf '  - %s\n' "${failures[@]}"
	show_tails "$T/recv.log"
	fail "${#failures[@]} hostile scenario check(s) failed"
fi
t_hostile=$(now_ms)

# --- the legitimate trail is intact -------------------------------------------------------
if ! wait_for '[ "$(trail_size "$trails/legit")" -ge "$size" ]' 120; then
	show_tails "$T/recv.log" "$T/legit.log"
	fail "the legitimate trail holds $(trail_size "$trails/legit") of $size bytes"
fi
wait_for '[ "$(status_value "$spool/status" unacked.recv)" = 0 ]' 15 ||
    fail "the legitimate sender's status: $(tail -n 1 "$spool/status")"
trail_cat "$trails/legit" | cmp - "$input" || fail "the legitimate trail is not the input byte for byte"

# --- and "other" still works: resume and continue its series ------------------------------
# shellcheck disable=SC2086 # A is words
out=$(timeout 60 "$ADPEER" $A "$ADDR" good "$T/part1" "$T/part2" "$T/part3") ||
    fail "adpeer good as other, continued: $out"
echo "$out" | grep -q "^WELCOME id=$ID seq=2 size=$(stat -c %s "$T/part2") complete=1 proof=ok" ||
    fail "adpeer good: the resume point is not the end of seq 2: $out"
echo "$out" | grep -q '^RESUME seq=3 offset=0' || fail "adpeer good: did not resume at seq 3: $out"
echo "$out" | grep -q "^ACK 3 $(stat -c %s "$T/part3") 1$" || fail "adpeer good: no final ACK of seq 3: $out"
# shellcheck disable=SC2086
out=$(timeout 60 "$ADPEER" $A "$ADDR" good "$T/part1" "$T/part2" "$T/part3") || fail "adpeer good, again: $out"
echo "$out" | grep -q '^RESUME nothing to send' || fail "adpeer good, again: the receiver did not say it had it all: $out"
trail_cat "$trails/other" | cmp - "$SAMPLE" || fail "other's trail is not what adpeer sent"
# A wrong offset is refused with the real position.
# shellcheck disable=SC2086
out=$(timeout 30 "$ADPEER" $A "$ADDR" wrong-offset) || :
echo "$out" | grep -q '^ERROR 5 .*seq 4' || fail "wrong offset after seq 3: $out"

p=$(child_pid "$(bg_pid legit)")
[ -n "$p" ] || { show_tails "$T/legit.log"; fail "the legitimate audisp-dist is not running"; }
kill -TERM "$p"
bg_stop legit 0 15 || fail "audisp-dist did not exit within 15 s of SIGTERM"
bg_stop recv TERM 15 || fail "auditdistd did not exit within 15 s of SIGTERM"
[ "$BG_RC" = 0 ] || { show_tails "$T/recv.log"; fail "auditdistd exited with status $BG_RC"; }
if grep -qE 'invariant failed|AddressSanitizer|runtime error' "$T/recv.log" "$T/legit.log"; then
	show_tails "$T/recv.log"
	fail "an internal error was reported"
fi

t1=$(now_ms)
echo "hostile: ${#SCENARIOS[@]} adpeer scenarios + ${#STALLS[@]} stalls ($((${#STALLS[@]} + 19)) stalled connections) + 4 s_client refused as expected;" \
    "nothing written outside the legitimate trail; legit $size bytes byte-identical," \
    "$((legit1 - legit0)) reconnects during the attacks; other shipped and resumed;" \
    "hostile phase $(( (t_hostile - t0) / 1000 )) s, $(( (t1 - t0) / 1000 )) s in all;" \
    "$((${#SCENARIOS[@]} + ${#STALLS[@]} + 4)) distinct hostile inputs"
