#!/bin/bash
# Rotation by age, the flush policy as the status file reports it
# (durable_bytes), and the status file's own rotation at 1 MiB.
. tests/lib.sh
deadline 60

start_plugin()	# CONFIG-LINES
{
	printf 'sender {\n\tdirectory "%s"\n\tstatus_interval 1\n%s}\n' \
	    "$T/spool" "$1" > "$T/c.conf"
	chmod 600 "$T/c.conf"
	rm -f "$T/in"
	mkfifo "$T/in"
	"$B/audisp-dist" -f "$T/c.conf" < "$T/in" 2>> "$T/log" &
	pid=$!
	on_exit "kill -KILL $pid 2>/dev/null"
	exec 7> "$T/in"
	wait_for "grep -q 'started' $T/log" 10 || fail "plugin did not start: $(cat "$T/log")"
}

stop_plugin()
{
	exec 7>&-
	wait_for "! pid_alive $pid" 10 || fail "plugin did not stop at end of input"
	wait "$pid" || fail "plugin exited with status $?"
	: > "$T/log"
}

rec() { printf 'type=USER msg=audit(1700000000.%03d:%d): n=%d\n' $(($1 % 1000)) "$1" "$1"; }

# --- rotation by age: a segment with data closes after segment_age ---
start_plugin $'\tsegment_age 1\n\tflush none\n'
rec 1 >&7
wait_for "[ -e $T/spool/0000000000000001.seg ]" 5 ||
    fail "segment 1 was not closed 1 s after its first record: $(ls "$T/spool")"
[ -e "$T/spool/0000000000000002.open" ] || fail "no segment 2 opened after the age rotation"
# an empty segment is never rotated for age
sleep 2.2
[ ! -e "$T/spool/0000000000000002.seg" ] || fail "an empty segment was rotated for age"
rec 2 >&7
wait_for "[ -e $T/spool/0000000000000002.seg ]" 5 || fail "segment 2 not closed for age"
stop_plugin
info "age: segments rotate 1 s after their first record, empty ones never"

# --- flush policy, as durable_bytes in the status file shows it ---
durable() { tail -n 1 "$T/spool/status" | sed -n 's/.* durable_bytes=\([0-9]*\).*/\1/p'; }
open_bytes() { tail -n 1 "$T/spool/status" | sed -n 's/.* open_bytes=\([0-9]*\).*/\1/p'; }
for policy in data sync; do
	rm -rf "$T/spool"
	start_plugin "$(printf '\tflush %s\n' "$policy")"
	for i in $(seq 1 20); do rec "$i"; done >&7
	wait_for "[ \"\$(durable)\" = \"\$(open_bytes)\" ] && [ \"\$(open_bytes)\" -gt 0 ]" 5 ||
	    fail "flush $policy: durable_bytes $(durable) never reached open_bytes $(open_bytes)"
	stop_plugin
done
# incremental: below the threshold nothing is synced; crossing it syncs
# everything written so far.
for policy in "incremental 5 records:4:1" "incremental 200 bytes:3:2"; do
	IFS=: read -r what below more <<< "$policy"
	rm -rf "$T/spool"
	start_plugin "$(printf '\tflush %s\n' "$what")"
	for i in $(seq 1 "$below"); do rec "$i"; done >&7
	wait_for "[ \"\$(open_bytes)\" -gt 0 ]" 5 || fail "flush $what: nothing written"
	sleep 1.5
	[ "$(durable)" = 0 ] || fail "flush $what: synced ($(durable) bytes) before the threshold"
	for i in $(seq $((below + 1)) $((below + more))); do rec "$i"; done >&7
	wait_for "[ \"\$(durable)\" = \"\$(open_bytes)\" ] && [ \"\$(durable)\" -gt 0 ]" 5 ||
	    fail "flush $what: durable_bytes $(durable) did not reach open_bytes $(open_bytes) past the threshold"
	stop_plugin
done
rm -rf "$T/spool"
start_plugin $'\tflush none\n'
for i in $(seq 1 20); do rec "$i"; done >&7
sleep 2.5	# two status lines
[ "$(durable)" = 0 ] || fail "flush none: durable_bytes is $(durable), nothing should be synced"
stop_plugin
info "flush: data, sync, incremental records/bytes sync the open segment; none never does"

# --- the status file rotates at 1 MiB ---
rm -rf "$T/spool"
mkdir -m 700 "$T/spool"
head -c $((1024 * 1024 - 100)) /dev/zero | tr '\0' 'x' > "$T/spool/status"
start_plugin ""
stop_plugin
[ -e "$T/spool/status.1" ] || fail "status was not rotated to status.1 at 1 MiB"
[ "$(stat -c %s "$T/spool/status.1")" -le $((1024 * 1024)) ] || fail "status.1 is over 1 MiB"
grep -q 'state=stopped' "$T/spool/status" || fail "the new status file has no final line"
n=$(grep -vc '^20[0-9-]*T[0-9:]*Z state=' "$T/spool/status" || :)
[ "$n" = 0 ] || fail "$n lines of the new status file are not snapshots"
echo "segments: age rotation, flush policies and status rotation as documented"
