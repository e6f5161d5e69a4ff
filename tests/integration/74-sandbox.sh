#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# The sandbox of every process, read from the kernel: a sender (plugin and
# forwarder) ships to a receiver (parent, network process, one writer per
# batch of hosts, the serial-gap auditor, the NATS publisher), all built
# as test builds (build/test/: the release code plus a
# SIGUSR2 trigger that makes a process try what its sandbox forbids).
# For each process /proc/PID/status must show the expected uid,
# NoNewPrivs 1, Seccomp 2 (a filter) and the expected effective
# capabilities.  Then, from inside:
#   - a writer, the auditor, the publisher, the forwarder and the network
#     process try to open
#     /etc/passwd (Landlock must refuse) and to execve /bin/true (the
#     seccomp filter must kill them);
#   - the plugin and the receiver's parent, which may start programs,
#     try ptrace (killed);
# and shipping must go on after the writer and the forwarder were killed
# (new ones are started), the trail byte-identical to the input.
# The release binaries must not contain the trigger.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

TB=$B/test
SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
FEED=$B/tests/feed

need_root
need_cmd openssl ss cmp perl stat strings pgrep
for b in "$TB/auditdistd" "$TB/audisp-dist" "$TB/audisp-dist-forwarder" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet: make check builds it)"
done
deadline 180

# The trigger exists in test builds only.
for p in auditdistd audisp-dist audisp-dist-forwarder; do
	[ -x "$B/$p" ] || skip "no $B/$p"
	n=$(strings "$B/$p" | grep -c 'sandbox test' || :)
	[ "$n" = 0 ] || fail "the release build $B/$p contains the sandbox test trigger"
	n=$(strings "$TB/$p" | grep -c 'sandbox test' || :)
	[ "$n" -gt 0 ] || fail "the test build $TB/$p lacks the sandbox test trigger"
done

uid_of() { id -u "$1"; }
want_uid=$(uid_of "$FWD_USER")

pki=$T/pki
mkdir -m 0755 "$pki"
tls_cert "$pki" recv
FP=$(tls_fingerprint "$pki/recv.pem")
PW=$(rand_password)
PORT=$(free_port)
ADDR=127.0.0.1:$PORT
trails=$T/trails
mkdir -m 0750 "$trails"
mkdir -m 0755 "$T/rstate"	# the status file and the auditor's state
chown "$FWD_USER" "$T/rstate"
rconf=$T/recv.conf
# Nothing listens at the publish address: the publisher runs, lagging,
# all along.
test_recv_conf "$rconf" "$ADDR" $'pidfile none\ntimeout 5' \
    "status_file \"$T/rstate/status\"" \
    "publish \"nats://127.0.0.1:$(free_port)\" {" $'\tcreate_stream no' "}" \
    "$(test_recv_host boxed "$PW")"
spool=$T/spool
conf=$T/sender.conf
test_sender_conf "$conf" boxed "$spool" "$ADDR" "$FP" "$PW" 5

input=$T/input
sample_stream "$SAMPLE" $((3 * 1024 * 1024)) "$input"
feed_input "$input" "$input.feed"
size=$(stat -c %s "$input")

recv_up()
{
	bg_start recv "$T/recv.log" "$TB/auditdistd" -d "$rconf"
	RECV_PID=$BG_PID
	wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen on $ADDR"; }
}
recv_up
# Fed slowly enough to still be running at the end; the feed waits for
# the go file before its last part.
bg_start send "$T/send.log" "$FEED" -b 1048576 -t 900 -r $((size / 20)) \
    -w "$size:$T/go.never" "$input.feed" "$TB/audisp-dist" -d -f "$conf"
FEED_PID=$BG_PID
wait_for '[ -n "$(child_pid "$FEED_PID")" ]' 5 || fail "no plugin"
PLUG=$(child_pid "$FEED_PID")
wait_for '[ -n "$(child_pid "$PLUG")" ]' 10 || { show_tails "$T/send.log"; fail "no forwarder"; }
wait_for '[ "$(trail_size "$trails/boxed")" -gt 0 ]' 20 ||
    { show_tails "$T/send.log" "$T/recv.log"; fail "nothing shipped within 20 s"; }

# The receiver's parent's children: the network process first, then the
# committer (named auditdistd-sync), the auditor (auditdistd-gaps), the
# publisher (auditdistd-pub) and writers.
recv_children() { pgrep -P "$RECV_PID" | sort -n; }
NET=$(recv_children | head -n 1)
COMMITTER=$(pgrep -P "$RECV_PID" -x auditdistd-sync || :)
AUDITOR=$(pgrep -P "$RECV_PID" -x auditdistd-gaps || :)
PUBLISHER=$(pgrep -P "$RECV_PID" -x auditdistd-pub || :)
WRITER=$(recv_children | grep -vx "$NET" | grep -vx "${AUDITOR:-none}" |
    grep -vx "${PUBLISHER:-none}" | grep -vx "${COMMITTER:-none}" | head -n 1)
FWDP=$(child_pid "$PLUG")
[ -n "$NET" ] && [ -n "$WRITER" ] && [ -n "$AUDITOR" ] && [ -n "$PUBLISHER" ] &&
    [ -n "$COMMITTER" ] ||
    fail "expected a network process, the committer, the auditor, the publisher and a writer under $RECV_PID: $(recv_children | tr '\n' ' ')"

field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | awk '{print $1}'; }
# CAP_CHOWN 0, CAP_KILL 5, CAP_SETGID 6, CAP_SETUID 7, CAP_AUDIT_CONTROL 30
PLUG_CAPS=00000000400000e1
checked=0
check_proc()	# NAME PID UID CAPEFF
{
	local name=$1 pid=$2 uid=$3 cap=$4 got
	got="uid=$(field "$pid" Uid) nnp=$(field "$pid" NoNewPrivs) seccomp=$(field "$pid" Seccomp) cap=$(field "$pid" CapEff)"
	info "$name (pid $pid): $got"
	[ "$got" = "uid=$uid nnp=1 seccomp=2 cap=$cap" ] ||
	    fail "$name (pid $pid): $got, expected uid=$uid nnp=1 seccomp=2 cap=$cap"
	checked=$((checked + 1))
}
check_proc plugin "$PLUG" 0 "$PLUG_CAPS"
check_proc forwarder "$FWDP" "$want_uid" 0000000000000000
check_proc "receiver parent" "$RECV_PID" "$want_uid" 0000000000000000
check_proc "network process" "$NET" "$want_uid" 0000000000000000
check_proc writer "$WRITER" "$want_uid" 0000000000000000
check_proc committer "$COMMITTER" "$want_uid" 0000000000000000
check_proc auditor "$AUDITOR" "$want_uid" 0000000000000000
check_proc publisher "$PUBLISHER" "$want_uid" 0000000000000000

# Forbidden actions.  The open must be refused, then the process must die
# of SIGSYS (31).  Each trial adds one refusal line to its log: count them,
# so that an earlier process's line never stands in for this one's.
refusals() { grep -c 'sandbox test: open /etc/passwd: Permission denied' "$1" || :; }
trigger()	# PID LOG: send SIGUSR2, remember the log's refusal count
{
	before=$(refusals "$2")
	kill -USR2 "$1"
}
expect_refused()	# NAME LOG
{
	wait_for "[ \"\$(refusals '$2')\" -gt $before ]" 10 ||
	    { show_tails "$2"; fail "$1: opening /etc/passwd was not refused"; }
}

trigger "$WRITER" "$T/recv.log"
expect_refused writer "$T/recv.log"
wait_for "grep -q 'trail writer (pid $WRITER) killed by signal 31' '$T/recv.log'" 10 ||
    { show_tails "$T/recv.log"; fail "the writer (pid $WRITER) was not killed by SIGSYS at execve"; }
info "writer: open refused, execve killed it (SIGSYS)"

trigger "$COMMITTER" "$T/recv.log"
expect_refused committer "$T/recv.log"
wait_for "grep -q 'committer killed by signal 31' '$T/recv.log'" 10 ||
    { show_tails "$T/recv.log"; fail "the committer (pid $COMMITTER) was not killed by SIGSYS at execve"; }
info "committer: open refused, execve killed it (SIGSYS)"

trigger "$AUDITOR" "$T/recv.log"
expect_refused auditor "$T/recv.log"
wait_for "grep -q 'auditor (serial gaps) killed by signal 31' '$T/recv.log'" 10 ||
    { show_tails "$T/recv.log"; fail "the auditor (pid $AUDITOR) was not killed by SIGSYS at execve"; }
info "auditor: open refused, execve killed it (SIGSYS)"

trigger "$PUBLISHER" "$T/recv.log"
expect_refused publisher "$T/recv.log"
wait_for "grep -q 'publisher (NATS) killed by signal 31' '$T/recv.log'" 10 ||
    { show_tails "$T/recv.log"; fail "the publisher (pid $PUBLISHER) was not killed by SIGSYS at execve"; }
info "publisher: open refused, execve killed it (SIGSYS)"

trigger "$FWDP" "$T/send.log"
expect_refused forwarder "$T/send.log"
wait_for "grep -q 'forwarder (pid $FWDP) killed by signal 31' '$T/send.log'" 10 ||
    { show_tails "$T/send.log"; fail "the forwarder (pid $FWDP) was not killed by SIGSYS at execve"; }
info "forwarder: open refused, execve killed it (SIGSYS)"

# Shipping goes on: a new forwarder, a new writer, and the whole input.
# (The go file releases the last line, feed_input's end marker, too.)
touch "$T/go.never"
fsize=$(stat -c %s "$input.feed")
if ! wait_for '[ "$(trail_size "$trails/boxed")" -ge "$fsize" ]' 90; then
	show_tails "$T/send.log" "$T/recv.log"
	fail "after the kills the trail holds $(trail_size "$trails/boxed") of $fsize bytes"
fi
trail_cat "$trails/boxed" | cmp - "$input.feed" || fail "the trail is not the input byte for byte"
info "shipping resumed: $fsize bytes byte-identical"

# The plugin has read its whole input and exited: a second one, held
# before the end of its input, for the plugin's own trial.
wait "$FEED_PID" 2>/dev/null || :
unset '_BG_PIDS[send]'
bg_start send "$T/send2.log" "$FEED" -b 1048576 -t 900 \
    -w "$size:$T/go2.never" "$input.feed" "$TB/audisp-dist" -d -f "$conf"
FEED_PID=$BG_PID
wait_for '[ -n "$(child_pid "$FEED_PID")" ]' 5 || fail "no second plugin"
PLUG=$(child_pid "$FEED_PID")
wait_for '[ "$(field "$PLUG" Seccomp)" = 2 ]' 5 || fail "the second plugin did not confine itself"
PLUG_LOG=$T/send2.log
kill -USR2 "$PLUG"
wait_for '! pid_alive "$PLUG"' 10 || fail "the plugin survived ptrace"
wait "$FEED_PID" 2>/dev/null || :
unset '_BG_PIDS[send]'
grep -q 'sandbox test: ptrace PTRACE_TRACEME: trying' "$PLUG_LOG" ||
    { show_tails "$PLUG_LOG"; fail "the plugin did not report its ptrace attempt"; }
if grep -Eq 'sandbox test: ptrace PTRACE_TRACEME: (allowed|failed|Permission|Operation)' "$PLUG_LOG"; then
	fail "the plugin's ptrace returned instead of killing it"
fi
info "plugin: ptrace killed it (SIGSYS)"

trigger "$NET" "$T/recv.log"
expect_refused "network process" "$T/recv.log"
wait_for "grep -q 'network process killed by signal 31' '$T/recv.log'" 10 ||
    { show_tails "$T/recv.log"; fail "the network process was not killed by SIGSYS at execve"; }
wait_for '! pid_alive "$RECV_PID"' 40 || fail "the receiver's parent did not exit after its network process died"
unset '_BG_PIDS[recv]'
info "network process: open refused, execve killed it; the receiver exited"

recv_up
# The trial handler is set up just before the filter: a signal sent
# earlier would find the process unconfined.
wait_for '[ "$(field "$RECV_PID" Seccomp)" = 2 ]' 5 || fail "the new receiver did not confine itself"
kids=$(recv_children | tr '\n' ' ')
[ -n "$kids" ] || fail "the new receiver has no network process"
trigger "$RECV_PID" "$T/recv.log"
expect_refused "receiver parent" "$T/recv.log"
wait_for '! pid_alive "$RECV_PID"' 10 || fail "the receiver's parent survived ptrace"
unset '_BG_PIDS[recv]'
# Its own children, by pid: other receivers may run on this machine.
alive_kids() { for k in $kids; do ! pid_alive "$k" || printf '%s ' "$k"; done; }
wait_for '[ -z "$(alive_kids)" ]' 10 ||
    fail "the receiver's children outlived their parent: $(alive_kids)"
info "receiver parent: open refused, ptrace killed it; its children died with it"

echo "sandbox: $checked processes with the expected uid, no_new_privs, seccomp filter and capabilities; open outside the tree refused (writer, committer, auditor, publisher, forwarder, network process, parent); execve or ptrace killed each of the 8; shipping resumed byte-identical"
