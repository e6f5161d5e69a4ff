#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# End to end under a real auditd: a private auditd 3.x runs audisp-dist as
# its plugin (installed, with its forwarder beside it, in $T/bin), the
# forwarder ships over loopback TLS to auditdistd, and after 2,000 audited
# execs `ausearch -if DIR/HOST -k KEY` on the receiver's trail finds the
# same events, by serial number, as ausearch on auditd's own log.  The
# trail, with auditd's type=EOE records removed, must also be a byte prefix
# of auditd's log.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

N=${ADTEST_EXECS:-2000}
KEY=adship$$
RULE=("always,exit" -F arch=b64 -S execve -F path=/usr/bin/true -k "$KEY")
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FWD=$B/audisp-dist-forwarder
read -r -a RECV_ARGS <<< "${ADTEST_RECV_ARGS:--f}"
HOST=e2e-$$

need_root
need_cmd auditd auditctl ausearch openssl ss cmp pgrep flock timeout
[ -x /usr/bin/true ] || skip "no /usr/bin/true"
[ "$(uname -m)" = x86_64 ] || skip "the rule is written for arch=b64 (x86_64)"
for b in "$RECV" "$PLUGIN" "$FWD"; do
	[ -x "$b" ] || skip "no $b (not built yet: make)"
done
deadline 300
t0=$(now_ms)

show_logs()
{
	show_tails "$@"
	if command -v journalctl >/dev/null 2>&1; then
		echo "--- journal of audisp-dist since the start"
		journalctl -q --no-pager -o short-precise --since "@$((t0 / 1000))" \
		    -t audisp-dist -t audisp-dist-forwarder 2>/dev/null | tail -n 25 |
		    cut -c1-300 | sed 's/^/  | /'
	fi
}

recv_setup

rconf=$T/recv.conf
cat > "$rconf" <<EOF
timeout 5
receiver {
	listen "tls://127.0.0.1:$PORT"
	directory "$trails"
	user "$FWD_USER"
	certfile "$pki/recv.pem"
	keyfile "$pki/recv.key"
	trail_size 1M
	host $HOST {
		remote "tls://127.0.0.1"
		password "$PW"
	}
}
EOF
chmod 0600 "$rconf"

spool=$T/spool
conf=$T/sender.conf
test_sender_conf "$conf" "$HOST" "$spool" "127.0.0.1:$PORT" "$FP" "$PW" 5 \
    "segment_size 256K"

bg_start recv "$T/recv.log" "$RECV" "${RECV_ARGS[@]}" "$rconf"
wait_for "port_listening $PORT" 10 || { show_logs "$T/recv.log"; fail "auditdistd did not listen on port $PORT"; }

# auditd 3.0.9 runs only root-owned plugins with at least mode 0750; the
# plugin runs the forwarder from its own directory.
plugin=$(plugin_install "$PLUGIN")
plugin_install "$FWD" >/dev/null
out=$(timeout 10 "$plugin" -n "$conf" 2>&1) || fail "audisp-dist -n $conf: $out"
write_plugin_conf "$T/plugins.d" "$plugin" "-D$T/state $conf"

auditd_private_start "$T/auditd" "$T/plugins.d"
wait_for '[ -n "$(pgrep -P "$AUDITD_PID")" ]' 10 || fail "auditd did not start the plugin"
if ! wait_for '[ "$(auditd_plugin_pids | wc -l)" -ge 2 ]' 10; then
	show_logs "$T/recv.log"
	fail "the plugin started no forwarder within 10 s (processes under auditd: $(auditd_plugin_pids | tr '\n' ' '))"
fi
# Shipping works before the workload (auditd's DAEMON_START, at least).
if ! wait_for '[ "$(trail_size "$trails/$HOST")" -gt 0 ]' 20; then
	show_logs "$T/recv.log"
	echo "status: $(tail -n 1 "$spool/status" 2>/dev/null)"
	fail "nothing reached the receiver within 20 s of auditd's start"
fi
procs0=$(auditd_plugin_pids | sort | tr '\n' ' ')
lost0=$(audit_status lost)

audit_rule_add "${RULE[@]}"
w0=$(now_ms)
for ((i = 0; i < N; i++)); do
	/usr/bin/true
done
w1=$(now_ms)
audit_rule_del "${RULE[@]}"
lost1=$(audit_status lost)

serials()	# FILE-OR-DIR: the serial numbers of the KEY events, sorted
{
	timeout 60 ausearch -if "$1" -k "$KEY" --raw 2>/dev/null |
	    sed -n 's/.*msg=audit([0-9]*\.[0-9]*:\([0-9]*\)).*/\1/p' | sort -u
}

# Wait until the receiver holds as many KEY events as we ran execs.
if ! wait_for '[ "$(serials "$trails/$HOST" | wc -l)" -ge "$N" ]' 90; then
	show_logs "$T/recv.log"
	echo "status: $(tail -n 1 "$spool/status" 2>/dev/null)"
	fail "the receiver holds $(serials "$trails/$HOST" | wc -l) of $N events after 90 s"
fi
w2=$(now_ms)
procs1=$(auditd_plugin_pids | sort | tr '\n' ' ')
[ "$procs0" = "$procs1" ] ||
    fail "the plugin or forwarder processes changed during the run ($procs0-> $procs1): did one die?"
wait_for '[ "$(status_value "$spool/status" unacked.recv)" = 0 ]' 15 ||
    fail "status never said unacked.recv=0: $(tail -n 1 "$spool/status")"

auditd_private_stop 30 || fail "auditd, the plugin or the forwarder did not exit on their own"
[ "$AUDITD_RC" = 0 ] || fail "auditd exited with status $AUDITD_RC"

serials "$AUDITD_LOG" > "$T/serials.log"
serials "$trails/$HOST" > "$T/serials.trail"
n_log=$(wc -l < "$T/serials.log")
n_trail=$(wc -l < "$T/serials.trail")
if ! cmp -s "$T/serials.log" "$T/serials.trail"; then
	diff "$T/serials.log" "$T/serials.trail" | head -10
	fail "ausearch -k $KEY: $n_trail events on the receiver, $n_log in auditd's log, not the same"
fi
[ "$n_log" -ge "$N" ] ||
    fail "ausearch -k $KEY found $n_log events in auditd's log, expected $N (kernel lost $((lost1 - lost0)))"

# The trail is the plugin stream: without EOE, a prefix of auditd's log.
trail_cat "$trails/$HOST" | strip_eoe > "$T/trail-noeoe"
tsz=$(stat -c %s "$T/trail-noeoe")
if ! cmp -n "$tsz" "$T/trail-noeoe" "$AUDITD_LOG"; then
	fail "the trail (EOE removed, $tsz bytes) is not a byte prefix of auditd's log ($(stat -c %s "$AUDITD_LOG") bytes)"
fi
eoe=$(trail_cat "$trails/$HOST" | grep -c '^type=EOE ' || :)
[ "$eoe" -ge "$N" ] || fail "the trail holds $eoe type=EOE records for $N events: not the plugin stream?"

bg_stop recv TERM 15 || fail "auditdistd did not exit within 15 s of SIGTERM"
[ "$BG_RC" = 0 ] || { show_logs "$T/recv.log"; fail "auditdistd exited with status $BG_RC"; }
if grep -qE 'invariant failed|AddressSanitizer|runtime error' "$T/recv.log"; then
	show_logs "$T/recv.log"
	fail "auditdistd reported an internal error"
fi

t1=$(now_ms)
echo "e2e: $n_trail events by serial on both sides; trail $(trail_size "$trails/$HOST") bytes" \
    "($(trail_cat "$trails/$HOST" | wc -l) records, $eoe EOE) in $(trail_files "$trails/$HOST" | wc -l) files;" \
    "execs=$N workload_s=$(( (w1 - w0) / 1000 )).$(( (w1 - w0) % 1000 / 100 ))" \
    "shipped_after_s=$(( (w2 - w1) / 1000 )).$(( (w2 - w1) % 1000 / 100 ))" \
    "total_s=$(( (t1 - t0) / 1000 )) kernel_lost=$((lost1 - lost0))"
