#!/bin/bash
# What auditd hands a plugin (ignored signals, no environment, a stray
# descriptor) is reset; SIGHUP reloads (a broken file is refused and the
# old configuration kept); SIGTERM and end of input stop it promptly with
# everything spooled.
. tests/lib.sh
deadline 60

write_conf()
{
	printf 'sender {\n\tdirectory "%s"\n\tstatus_interval 1\n%s}\n' \
	    "$T/spool" "$1" > "$T/c.conf"
	chmod 600 "$T/c.conf"
}
write_conf ""
mkfifo "$T/in"

# Start as auditd 3.0.9 does: SIGTERM, SIGHUP, SIGPIPE ignored, an empty
# environment, a leaked descriptor 251.
(
	trap '' TERM HUP PIPE INT USR1
	exec 251>/dev/null
	exec env -i AUDISP_DIST_STATEDIR="$T/state" "$B/audisp-dist" -f "$T/c.conf" < "$T/in" 2> "$T/log"
) &
pid=$!
on_exit "kill -KILL $pid 2>/dev/null"
exec 7> "$T/in"			# keep the input open
wait_for "grep -q started $T/log" 10 || fail "plugin did not start: $(cat "$T/log")"

st=/proc/$pid/status
ign=$(awk '/^SigIgn:/ { print $2 }' "$st")
blk=$(awk '/^SigBlk:/ { print $2 }' "$st")
umask=$(awk '/^Umask:/ { print $2 }' "$st")
# Of the 31 standard signals only SIGPIPE (13) is ignored; HUP, INT, TERM,
# CHLD are blocked for signalfd.  (Signals 32 and up are glibc's own and
# cannot be set through it, by auditd or by the plugin.)
ign=$(printf '%08x' $(( 0x$ign & 0x7fffffff )))
[ "$ign" = 00001000 ] || fail "SigIgn (standard signals) is $ign, want only SIGPIPE (00001000)"
[ "$blk" = 0000000000014003 ] || fail "SigBlk is $blk, want HUP INT TERM CHLD (0000000000014003)"
[ "$umask" = 0077 ] || fail "umask is $umask, want 0077"
[ ! -e "/proc/$pid/fd/251" ] || fail "descriptor 251 leaked into the plugin"
nfd=$(find "/proc/$pid/fd" -mindepth 1 | wc -l)
# (/proc/PID/environ shows the environment at exec, not the one the plugin
# sets; what it passes on is checked where it runs a program, 30-limits.sh.)
info "signals, umask, descriptors reset; $nfd descriptors open"

printf 'type=A msg=audit(1.000:1): a\n' >&7

# SIGHUP with a broken file: refused, the plugin goes on.
printf 'sender {\n\tsegment_sise 1M\n}\n' > "$T/c.conf"
kill -HUP "$pid"
wait_for "grep -q 'unknown keyword' $T/log" 5 || fail "broken reload not reported: $(cat "$T/log")"
grep -q "$T/c.conf:2" "$T/log" || fail "reload error does not name the file and line: $(cat "$T/log")"
pid_alive "$pid" || fail "plugin died on a broken reload"

# SIGHUP with a good file: the new segment_size applies at once.
write_conf $'\tsegment_size 4K\n'
kill -HUP "$pid"
wait_for "[ \$(grep -c reloading $T/log) -ge 2 ]" 5 || fail "reload not logged"
sleep 0.2
for i in $(seq 2 200); do
	printf 'type=B msg=audit(1.000:%d): %s\n' "$i" "padding-padding-padding-padding"
done >&7
wait_for "[ \$(ls $T/spool/*.seg 2>/dev/null | wc -l) -ge 2 ]" 5 ||
    fail "segment_size 4K from the reload did not take effect: $(ls "$T/spool")"

# SIGTERM (ignored in auditd's hand-off, reset by the plugin) stops it.
t0=$(now_ms)
kill -TERM "$pid"
wait_for "! pid_alive $pid" 5 || fail "plugin did not exit within 5 s of SIGTERM"
wait "$pid"; rc=$?
t1=$(now_ms)
term_ms=$((t1 - t0))
[ "$rc" = 0 ] || fail "exit status $rc after SIGTERM"
exec 7>&-
last=$(tail -n 1 "$T/spool/status")
case $last in *state=stopped*) ;; *) fail "last status line is not state=stopped: $last" ;; esac
case $last in *" records_spooled=200 "*) ;; *) fail "not all 200 records spooled: $last" ;; esac
n=$(cat "$T/spool"/*.seg "$T/spool"/*.open | wc -l)
[ "$n" = 200 ] || fail "spool holds $n records, want 200"

# End of input stops it too, promptly.
t0=$(now_ms)
printf 'type=C msg=audit(1.000:201): c\n' | timeout 5 "$B/audisp-dist" -f "$T/c.conf" 2>>"$T/log" ||
    fail "plugin did not exit 0 at end of input"
t1=$(now_ms)
n=$(cat "$T/spool"/*.seg "$T/spool"/*.open | wc -l)
[ "$n" = 201 ] || fail "spool holds $n records after the second run, want 201"
echo "process: hand-off reset, reloads ok, SIGTERM to exit ${term_ms} ms, end of input to exit $((t1 - t0)) ms"
