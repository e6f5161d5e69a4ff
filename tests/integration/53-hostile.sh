#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Hostile peers.  auditdistd serves two configured hosts: "legit", whose
# real audisp-dist ships a stream the whole time, and "other", whose
# password adpeer (tests/helpers/adpeer.c) knows.  adpeer plays every
# scenario of a peer that lies, breaks the protocol or stalls: wrong or
# replayed proofs, unknown and malformed host names, writing for another
# host, wrong offsets, oversized, malformed and unknown frames, data before
# authentication, stalls at every stage, garbage inside TLS and plain TCP
# to the TLS port; openssl s_client connects without authenticating.  Each
# must be refused with the expected answer, and with a log line that says
# why; nothing may be written anywhere but by the legitimate sender
# (listings before and after, and no ADPEER-POISON line anywhere); the
# legitimate sender's connection is not disturbed and its trail is the
# input byte for byte at the end.  Then adpeer ships as "other" and
# resumes, to show that the hostile traffic left its state intact.
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
PORT=$(free_port)
ADDR=127.0.0.1:$PORT
trails=$T/trails
mkdir -m 0750 "$trails"
printf '%s\n' "$PWO" > "$T/pw.other"
chmod 0600 "$T/pw.other"

rconf=$T/recv.conf
cat > "$rconf" <<EOF
timeout $TIMEOUT
receiver {
	listen "tls://$ADDR"
	directory "$trails"
	user "$FWD_USER"
	certfile "$pki/recv.pem"
	keyfile "$pki/recv.key"
	host legit {
		remote "tls://127.0.0.1"
		password "$PWL"
	}
	host other {
		remote "tls://127.0.0.1"
		password "$PWO"
	}
}
EOF
chmod 0600 "$rconf"

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
)
# Stalls take the receiver's timeout each: run them together, in the
# background, while the others run.
STALLS=(
	"3#^CLOSED 20/20#handshake timed out#-t $((TIMEOUT * 4)) stall-tcp 20"
	"3,30#^(CLOSED|ERROR 10)#handshake timed out#-t $((TIMEOUT * 4)) stall-tls"
	"3,30#^(CLOSED|ERROR 10)#handshake timed out#-t $((TIMEOUT * 4)) -n other stall-hello"
	"3,30#^(CLOSED|ERROR 10)#handshake timed out#-t $((TIMEOUT * 4)) $A stall-auth"
	"3,30#^(CLOSED|ERROR 10)#nothing received#-t $((TIMEOUT * 4)) $A stall-data"
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

run()		# SPEC: run one adpeer scenario and check it
{
	local spec=$1 args rc=0 i=${#results[@]}
	IFS='#' read -r _ _ _ args <<< "$spec"
	split_args "$args"
	local logpos
	logpos=$(stat -c %s "$T/recv.log")
	timeout 60 "$ADPEER" "${OPTS[@]}" "$ADDR" "${REST[@]}" > "$T/scen.$i" 2>&1 || rc=$?
	results+=("$i")
	check "$T/scen.$i" "$rc" "$spec"
	# The receiver's log says why (give it a moment to write).
	IFS='#' read -r _ _ logre _ <<< "$spec"
	if [ -n "$logre" ] && ! wait_for "tail -c +$((logpos + 1)) '$T/recv.log' | grep -qiE '$logre'" 3; then
		failures+=("adpeer ${REST[*]} (${OPTS[*]}): no receiver log line /$logre/ among: $(tail -c +$((logpos + 1)) "$T/recv.log" | tail -n 3 | tr '\n' ';' | cut -c1-300)")
	fi
	info "$(printf '%-28s' "${REST[*]}") exit $rc: $(grep -vE '^(TLS|CHALLENGE|ELAPSED|EOF$)' "$T/scen.$i" | tr '\n' ' ' | cut -c1-150)"
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

# The stalls.
for i in "${!STALLS[@]}"; do
	bg_stop "stall$i" 0 60 || :
	check "$T/adpeer.stall$i" "$BG_RC" "${STALLS[i]}"
	IFS='#' read -r _ _ logre _ <<< "${STALLS[i]}"
	grep -qiE "$logre" "$T/recv.log" || failures+=("stall $i: no receiver log line /$logre/")
	info "stall $i: exit $BG_RC: $(grep -vE '^(TLS|CHALLENGE|ELAPSED)' "$T/adpeer.stall$i" | tr '\n' ' ' | cut -c1-150)"
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
echo "hostile: ${#SCENARIOS[@]} scenarios + ${#STALLS[@]} stalls (24 stalled connections) + 2 s_client refused as expected;" \
    "nothing written outside the legitimate trail; legit $size bytes byte-identical," \
    "$((legit1 - legit0)) reconnects during the attacks; other shipped and resumed;" \
    "hostile phase $(( (t_hostile - t0) / 1000 )) s, $(( (t1 - t0) / 1000 )) s in all"
