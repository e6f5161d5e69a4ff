#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# audisp-dist under a real auditd: a private auditd 3.x feeds it the records
# of 2,000 audited execs; the spool, with auditd's type=EOE records removed,
# must equal auditd's own log byte for byte, and ausearch must find the same
# events in both.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

N=${ADTEST_EXECS:-2000}
# Small segments, so that the order of many segments is checked too.
CONF_EXTRA=${ADTEST_CONF_EXTRA-$'\tsegment_size 256K\n'}
KEY=adtest$$
RULE=("always,exit" -F arch=b64 -S execve -F path=/usr/bin/true -k "$KEY")

need_root
need_cmd auditd auditctl ausearch cmp diff pgrep flock timeout
[ -x /usr/bin/true ] || skip "no /usr/bin/true"
[ "$(uname -m)" = x86_64 ] || skip "the rule is written for arch=b64 (x86_64)"
[ -x "$B/audisp-dist" ] || fail "no $B/audisp-dist: build it first (make)"
deadline 300
t0=$(now_ms)

spool=$T/spool
mkdir -m 0700 "$spool"
conf=$T/auditdist.conf
printf 'sender {\n\tdirectory "%s"\n\tstatus_interval 1\n%s}\n' "$spool" "$CONF_EXTRA" > "$conf"
chmod 0600 "$conf"

# auditd 3.0.9 runs only root-owned plugins with at least mode 0750.
plugin=$(plugin_install "$B/audisp-dist")
out=$(timeout 10 "$plugin" -n "$conf" 2>&1) || fail "audisp-dist -n $conf: $out"
case $out in
*"configuration OK"*) ;;
*) fail "audisp-dist -n $conf said: $out" ;;
esac
write_plugin_conf "$T/plugins.d" "$plugin" "-D$T/state $conf"

auditd_private_start "$T/auditd" "$T/plugins.d"
wait_for '[ -n "$(pgrep -P "$AUDITD_PID")" ]' 10 || fail "auditd did not start the plugin"
wait_for '[ -n "$(spool_segments "$spool")" ]' 10 ||
    fail "the plugin created no segment in $spool within 10 s"
plugins0=$(pgrep -P "$AUDITD_PID" | sort | tr '\n' ' ')
lost0=$(audit_status lost)

audit_rule_add "${RULE[@]}"
w0=$(now_ms)
for ((i = 0; i < N; i++)); do
	/usr/bin/true
done
w1=$(now_ms)
audit_rule_del "${RULE[@]}"

plugins1=$(pgrep -P "$AUDITD_PID" | sort | tr '\n' ' ')
[ "$plugins0" = "$plugins1" ] ||
    fail "auditd's plugin processes changed during the run ($plugins0-> $plugins1): did the plugin die and get restarted?"
lost1=$(audit_status lost)
auditd_private_stop 30 || fail "auditd or the plugin did not exit on their own"
[ "$AUDITD_RC" = 0 ] || fail "auditd exited with status $AUDITD_RC"

# Collect the spool: all segments in name order, each made of whole lines.
segs=$(spool_segments "$spool")
[ -n "$segs" ] || fail "no segment in $spool"
for s in $segs; do
	if [ -s "$s" ] && [ "$(tail -c 1 "$s" | od -An -c | tr -d ' ')" != '\n' ]; then
		fail "segment $(basename "$s") does not end with a newline (torn record)"
	fi
done
# shellcheck disable=SC2086
cat $segs > "$T/spool.log"
strip_eoe < "$T/spool.log" > "$T/spool-noeoe.log"

log_lines=$(wc -l < "$AUDITD_LOG")
spool_lines=$(wc -l < "$T/spool.log")
eoe_lines=$(( spool_lines - $(wc -l < "$T/spool-noeoe.log") ))
if ! cmp "$T/spool-noeoe.log" "$AUDITD_LOG"; then
	echo "auditd log: $log_lines records; spool: $spool_lines records ($eoe_lines EOE)"
	echo "first differences (< spool without EOE, > auditd log):"
	diff "$T/spool-noeoe.log" "$AUDITD_LOG" | cut -c1-200 | head -20 || :
	fail "spool (EOE removed) differs from auditd's log"
fi
[ "$eoe_lines" -gt 0 ] || fail "the spool holds no type=EOE record: not the plugin stream?"

# The plugin's own last word agrees (when its status file says it).
if [ -s "$spool/status" ]; then
	last=$(tail -n 1 "$spool/status")
	case $last in
	*"state=stopped"*) ;;
	*) fail "last status line is not state=stopped: $last" ;;
	esac
	for kv in "records_spooled=$spool_lines" dropped_records=0 rejected_records=0; do
		case " $last " in
		*" ${kv%%=*}="*)
			case " $last " in
			*" $kv "*) ;;
			*) fail "status says $(echo " $last " | grep -o " ${kv%%=*}=[^ ]*" | tr -d " "), want $kv" ;;
			esac ;;
		esac
	done
else
	info "no status file in $spool"
fi

count_events()
{
	timeout 60 ausearch -if "$1" -k "$KEY" 2>/dev/null | grep -c '^----$' || :
}
ev_spool=$(count_events "$T/spool.log")
ev_log=$(count_events "$AUDITD_LOG")
[ "$ev_spool" = "$ev_log" ] ||
    fail "ausearch -k $KEY: $ev_spool events in the spool, $ev_log in auditd's log"
if [ "$ev_log" -lt "$N" ]; then
	fail "ausearch -k $KEY found $ev_log events, expected at least $N (kernel lost $((lost1 - lost0)))"
fi

# Nothing of ours is left behind.
if timeout 10 auditctl -l | grep -q -- "key=$KEY"; then
	fail "rule with key $KEY still loaded"
fi
[ "$(audit_status pid)" = 0 ] || fail "an auditd still owns the kernel audit connection"
if [ -n "$(kids_alive "$plugins0")" ]; then
	fail "plugin still running"
fi

t1=$(now_ms)
wsec=$(awk -v a="$w0" -v b="$w1" 'BEGIN { printf "%.2f", (b - a) / 1000 }')
tsec=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1000 }')
echo "records=$log_lines eoe=$eoe_lines segments=$(echo "$segs" | wc -l) events=$ev_log" \
    "execs=$N workload_s=$wsec total_s=$tsec kernel_lost=$((lost1 - lost0))"
echo "PASS: $TEST_NAME"
