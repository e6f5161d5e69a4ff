#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Kernel loss, seen on the receiver: a private auditd runs audisp-dist,
# which ships to auditdistd.
#   backlog  a burst of audited execs against a tiny backlog_limit (and
#            backlog_wait_time 0) makes the kernel drop events; the
#            receiver's status file and metrics show the host's kernel loss
#            (the sender's health report).  The kernel drops these before
#            it numbers them: they leave no serial gap.
#   rate     a burst against rate_limit 20: the kernel drops records it
#            has numbered, so serials go missing; the receiver's auditor
#            counts them, and the gaps it reports (status, metrics, its
#            HOST.gaps file) are exactly the serials missing from the
#            trail.
# The kernel's settings and the rule are restored at exit.  Needs root
# and the kernel's audit.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

KEY=adloss$$
RULE=("always,exit" -F arch=b64 -S execve -F path=/usr/bin/true -k "$KEY")
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FWD=$B/audisp-dist-forwarder
HOST=loss-$$
PROMCHECK=tests/helpers/promcheck.py

need_root
need_cmd auditd auditctl ausearch openssl ss pgrep flock timeout python3
[ -x /usr/bin/true ] || skip "no /usr/bin/true"
[ "$(uname -m)" = x86_64 ] || skip "the rule is written for arch=b64 (x86_64)"
for b in "$RECV" "$PLUGIN" "$FWD"; do
	[ -x "$b" ] || skip "no $b (not built yet: make)"
done
deadline 240

recv_setup
mkdir -m 0755 "$T/rstate"
chown "$FWD_USER" "$T/rstate"
status=$T/rstate/status
prom=$T/rstate/auditdistd.prom
rconf=$T/recv.conf
cat > "$rconf" <<EOF
timeout 5
receiver {
	listen "tls://127.0.0.1:$PORT"
	directory "$trails"
	user "$FWD_USER"
	certfile "$pki/recv.pem"
	keyfile "$pki/recv.key"
	status_file "$status"
	metrics_file "$prom"
	host $HOST {
		remote "tls://127.0.0.1"
		password "$PW"
	}
}
EOF
chmod 0600 "$rconf"

# hv KEY: KEY of the host's line in the receiver's status file.
hv()
{
	grep " host=$HOST " "$status" 2>/dev/null | tr ' ' '\n' |
	    sed -n "s/^$1=//p" | head -n 1
}

spool=$T/spool
conf=$T/sender.conf
test_sender_conf "$conf" "$HOST" "$spool" "127.0.0.1:$PORT" "$FP" "$PW" 5 \
    "segment_size 256K"
bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen on port $PORT"; }

plugin=$(plugin_install "$PLUGIN")
plugin_install "$FWD" >/dev/null
write_plugin_conf "$T/plugins.d" "$plugin" "-D$T/state $conf"
auditd_private_start "$T/auditd" "$T/plugins.d"
wait_for '[ "$(trail_size "$trails/$HOST")" -gt 0 ]' 20 ||
    { show_tails "$T/recv.log"; fail "nothing reached the receiver within 20 s of auditd's start"; }

# A tiny backlog that drops at once; restored at exit.
wait0=$(audit_status backlog_wait_time)
limit0=$(audit_status backlog_limit)
rate0=$(audit_status rate_limit)
restore_backlog()
{
	timeout 10 auditctl -b "$limit0" --backlog_wait_time "$wait0" -r "$rate0" >/dev/null 2>&1 ||
	    cleanup_failed "could not restore backlog_limit $limit0 backlog_wait_time $wait0 rate_limit $rate0"
}
# burst N: N audited execs in each of four processes at once.
burst()
{
	local pids=() j
	for j in 1 2 3 4; do
		( for ((i = 0; i < $1; i++)); do /usr/bin/true; done ) &
		pids+=($!)
	done
	wait "${pids[@]}"
}
on_exit restore_backlog
lost0=$(audit_status lost)
audit_rule_add "${RULE[@]}"
timeout 10 auditctl -b 2 --backlog_wait_time 0 >/dev/null || fail "auditctl -b 2 --backlog_wait_time 0"
burst 400
timeout 10 auditctl -b "$limit0" --backlog_wait_time "$wait0" >/dev/null || fail "restoring the backlog settings"
lost=$(( $(audit_status lost) - lost0 ))
[ "$lost" -gt 0 ] || skip "the kernel lost no event in the burst (backlog_limit 2): cannot show loss here"
info "the kernel lost $lost events in the burst"

# The sender reports the kernel's counter; the receiver shows it.
wait_for '[ "$(hv kernel_lost)" -ge "$lost" ] 2>/dev/null' 20 ||
    { cat "$status"; fail "the receiver's status shows kernel_lost=$(hv kernel_lost) for $HOST, the kernel lost $lost"; }
wait_for '[ "$(awk -v k="auditdist_sender_kernel_lost_total{host=\"$HOST\"}" '"'"'$1 == k { print $2 }'"'"' "$prom")" -ge "$lost" ] 2>/dev/null' 10 ||
    fail "the metrics do not show kernel_lost_total >= $lost for $HOST: $(grep kernel_lost "$prom")"

# rate: numbered records dropped.  Then, after more than the counter's
# window (5 s of audit time and 256 serials), events that settle every hole.
lost1=$(audit_status lost)
timeout 10 auditctl -r 20 >/dev/null || fail "auditctl -r 20"
burst 100
timeout 10 auditctl -r "$rate0" >/dev/null || fail "restoring rate_limit $rate0"
rlost=$(( $(audit_status lost) - lost1 ))
info "rate_limit 20: the kernel lost $rlost records"
sleep 6
burst 100
audit_rule_del "${RULE[@]}"
wait_for '[ "$(hv serial_gaps)" -gt 0 ] 2>/dev/null' 30 ||
    { cat "$status"; fail "no serial gap counted for $HOST after a rate-limited burst ($rlost records lost): serial_gaps=$(hv serial_gaps)"; }
auditd_private_stop 30 || fail "auditd, the plugin or the forwarder did not exit on their own"
sleep 3		# the auditor's next round

# The kernel's serials in the trail (auditd's own DAEMON_* records have a
# numbering of their own), and those missing between the first and last.
trail_cat "$trails/$HOST" | grep -v '^type=DAEMON_' |
    sed -n 's/.*msg=audit([0-9]*\.[0-9]*:\([0-9]*\)).*/\1/p' | sort -un > "$T/have"
awk 'NR > 1 { for (s = p + 1; s < $1; s++) print s } { p = $1 }' "$T/have" > "$T/missing"
gapfile=$T/rstate/serial/$HOST.gaps
[ -s "$gapfile" ] || fail "no gap file $gapfile"
sed -n 's/.* from=\([0-9]*\) to=\([0-9]*\) .*/\1 \2/p' "$gapfile" |
    awk '{ for (s = $1; s <= $2; s++) print s }' | sort -un > "$T/gaps"
if ! cmp -s "$T/gaps" "$T/missing"; then
	diff "$T/gaps" "$T/missing" | head -10
	fail "the auditor's gaps ($(wc -l < "$T/gaps") serials) are not the serials missing from the trail ($(wc -l < "$T/missing"))"
fi
ngaps=$(wc -l < "$gapfile")
[ "$(hv serial_gaps)" = "$ngaps" ] && [ "$(hv missing_serials)" = "$(wc -l < "$T/missing")" ] ||
    fail "status: serial_gaps=$(hv serial_gaps) missing_serials=$(hv missing_serials), the gap file has $ngaps gaps of $(wc -l < "$T/missing") serials"
m=$(awk -v k="auditdist_receiver_missing_serials_total{host=\"$HOST\"}" '$1 == k { print $2 }' "$prom")
[ "$m" = "$(wc -l < "$T/missing")" ] || fail "metrics: missing_serials_total=$m, not $(wc -l < "$T/missing")"
out=$(python3 "$PROMCHECK" "$prom") || fail "the metrics file is not Prometheus text: $out"
info "receiver: $(grep " host=$HOST " "$status" | tr ' ' '\n' | grep -E '^(kernel_lost|serial_gaps|missing_serials|records_stored)=' | tr '\n' ' ')"

bg_stop recv TERM 15 || fail "auditdistd did not exit within 15 s of SIGTERM"
log_sanity "$T/recv.log" auditdistd
info "kernel loss: backlog burst lost $lost events; rate-limited burst lost $rlost records: $ngaps gaps of $(wc -l < "$T/missing") serials, exactly those missing from the trail"
