#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Kernel loss, seen on the receiver: a private auditd runs audisp-dist,
# which ships to auditdistd; a burst of audited execs against a tiny
# backlog_limit (and backlog_wait_time 0) makes the kernel drop events.
# The receiver's status file and metrics show that host's kernel loss (the
# sender's health report), and its serial gaps: the serials that never
# reached the trail.  The kernel's backlog settings and the rule are
# restored at exit.  Needs root and the kernel's audit.
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
restore_backlog()
{
	timeout 10 auditctl -b "$limit0" --backlog_wait_time "$wait0" >/dev/null 2>&1 ||
	    cleanup_failed "could not restore backlog_limit $limit0 backlog_wait_time $wait0"
}
on_exit restore_backlog
lost0=$(audit_status lost)
audit_rule_add "${RULE[@]}"
timeout 10 auditctl -b 2 --backlog_wait_time 0 >/dev/null || fail "auditctl -b 2 --backlog_wait_time 0"
pids=()
for j in 1 2 3 4; do
	( for ((i = 0; i < 400; i++)); do /usr/bin/true; done ) &
	pids+=($!)
done
wait "${pids[@]}"
timeout 10 auditctl -b "$limit0" --backlog_wait_time "$wait0" >/dev/null || fail "restoring the backlog settings"
audit_rule_del "${RULE[@]}"
lost=$(( $(audit_status lost) - lost0 ))
[ "$lost" -gt 0 ] || skip "the kernel lost no event in the burst (backlog_limit 2): cannot show loss here"
info "the kernel lost $lost events in the burst"

# The sender reports the kernel's counter; the receiver shows it.
wait_for '[ "$(hv kernel_lost)" -ge "$lost" ] 2>/dev/null' 20 ||
    { cat "$status"; fail "the receiver's status shows kernel_lost=$(hv kernel_lost) for $HOST, the kernel lost $lost"; }
wait_for '[ "$(awk -v k="auditdist_sender_kernel_lost_total{host=\"$HOST\"}" '"'"'$1 == k { print $2 }'"'"' "$prom")" -ge "$lost" ] 2>/dev/null' 10 ||
    fail "the metrics do not show kernel_lost_total >= $lost for $HOST: $(grep kernel_lost "$prom")"
out=$(python3 "$PROMCHECK" "$prom") || fail "the metrics file is not Prometheus text: $out"
info "receiver: $(grep " host=$HOST " "$status" | tr ' ' '\n' | grep -E '^(kernel_lost|serial_gaps|records_stored)=' | tr '\n' ' ')"

auditd_private_stop 30 || fail "auditd, the plugin or the forwarder did not exit on their own"
bg_stop recv TERM 15 || fail "auditdistd did not exit within 15 s of SIGTERM"
log_sanity "$T/recv.log" auditdistd
info "kernel loss: $lost events lost in a burst; the receiver shows kernel_lost=$(hv kernel_lost)"
