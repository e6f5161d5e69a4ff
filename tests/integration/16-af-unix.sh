#!/bin/bash
# audisp-dist -s: a standalone client of auditd's builtin af_unix plugin.
# Records reach the spool through the socket; when auditd goes away the
# client reconnects to the next auditd by itself.  Needs root and kernel
# audit (a private auditd).
. tests/lib.sh
need_root
need_cmd auditd auditctl ausearch
deadline 120

plugdir=$T/plugins.d
mkdir -p "$plugdir" && chmod 0750 "$plugdir"
sock=$T/events
cat > "$plugdir/af_unix.conf" <<EOF
active = yes
direction = out
path = builtin_af_unix
type = builtin
args = 0640 $sock
format = string
EOF
chmod 0640 "$plugdir/af_unix.conf"
printf 'sender {\n\tdirectory "%s"\n\tstatus_interval 1\n}\n' "$T/spool" > "$T/c.conf"
chmod 600 "$T/c.conf"

key=adunix$$
run_workload()
{
	local i
	for ((i = 0; i < $1; i++)); do /usr/bin/true; done
}

auditd_private_start "$T/a1" "$plugdir"
"$B/audisp-dist" -f -s "$sock" "$T/c.conf" 2> "$T/log" &
pid=$!
on_exit "kill -TERM $pid 2>/dev/null; sleep 0.2; kill -KILL $pid 2>/dev/null"
wait_for "grep -q 'connected to' $T/log" 15 || fail "did not connect to $sock: $(cat "$T/log")"
audit_rule_add always,exit -F arch=b64 -S execve -F path=/usr/bin/true -k "$key"
run_workload 300
# Everything auditd has sent must reach the spool before auditd stops.
wait_for "[ \$(cat $T/spool/*.open $T/spool/*.seg 2>/dev/null | grep -c 'key=\"$key\"') -ge 300 ]" 20 ||
    fail "records did not reach the spool through $sock"
audit_rule_del always,exit -F arch=b64 -S execve -F path=/usr/bin/true -k "$key"
auditd_private_stop || fail "auditd did not stop cleanly"
log1=$AUDITD_LOG
wait_for "grep -q 'lost the connection' $T/log" 10 || fail "end of the socket not noticed: $(cat "$T/log")"
pid_alive "$pid" || fail "the client exited when auditd went away"

# A new auditd: the client finds the socket again.
AUDITD_PID=
auditd_private_start "$T/a2" "$plugdir"
wait_for "[ \$(grep -c 'connected to' $T/log) -ge 2 ]" 40 || fail "did not reconnect: $(cat "$T/log")"
audit_rule_add always,exit -F arch=b64 -S execve -F path=/usr/bin/true -k "$key"
run_workload 200
wait_for "[ \$(cat $T/spool/*.open $T/spool/*.seg 2>/dev/null | grep -c 'key=\"$key\"') -ge 500 ]" 20 ||
    fail "records after the reconnect did not reach the spool"
audit_rule_del always,exit -F arch=b64 -S execve -F path=/usr/bin/true -k "$key"
auditd_private_stop || fail "auditd did not stop cleanly"
kill -TERM "$pid"
wait_for "! pid_alive $pid" 5 || fail "client did not stop on SIGTERM"

# The same events, by serial, in the spool as in auditd's two logs.
events() { ausearch -k "$key" --raw 2>/dev/null | sed -n 's/.*msg=audit([0-9.]*:\([0-9]*\)).*/\1/p' | sort -un; }
spool_segments "$T/spool" | xargs cat | events > "$T/spool.serials"
cat "$log1" "$AUDITD_LOG" | events > "$T/log.serials"
n=$(wc -l < "$T/log.serials")
[ "$n" -ge 500 ] || fail "auditd logged only $n events with key $key"
cmp -s "$T/spool.serials" "$T/log.serials" ||
    fail "spool and auditd logs differ in events: $(diff "$T/spool.serials" "$T/log.serials" | head -5)"
echo "af_unix: $n events through the socket across an auditd restart, same serials as auditd's logs"
