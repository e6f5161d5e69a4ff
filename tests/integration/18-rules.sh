#!/bin/bash
# rules/20-audisp-dist.rules: every line loads into a real kernel, and its
# never rules keep the plugin's own writes out of the trail (no feedback
# loop) even under a rule that watches the spool.  Needs root and kernel
# audit (a private auditd).
. tests/lib.sh
need_root
need_cmd auditd auditctl ausearch
deadline 90

# The rules file names the installed binary; point it at the one under test.
bin=$(plugin_install "$B/audisp-dist")
[ ! -x "$B/audisp-dist-forwarder" ] || plugin_install "$B/audisp-dist-forwarder" >/dev/null
sed "s|/usr/sbin/audisp-dist|$bin|" rules/20-audisp-dist.rules > "$T/20.rules"
grep -q "exe=$bin" "$T/20.rules" || fail "the rules file has no never rule for /usr/sbin/audisp-dist"

# Small segments: the plugin creates and renames files in the spool all
# the time, which a rule on the spool directory would see.
printf 'sender {\n\tdirectory "%s"\n\tflush data\n\tsegment_size 4K\n}\n' "$T/spool" > "$T/c.conf"
chmod 600 "$T/c.conf"
mkdir -p "$T/plugins.d"
write_plugin_conf "$T/plugins.d" "$bin" "-D$T/state $T/c.conf"
auditd_private_start "$T/auditd" "$T/plugins.d"

# Load each rule of the file the way augenrules would, remembered for cleanup.
n=0
while read -r line; do
	case $line in
	''|'#'*) continue ;;
	-a\ *)
		# shellcheck disable=SC2086
		audit_rule_add ${line#-a } ; n=$((n + 1)) ;;
	-w\ *)
		# shellcheck disable=SC2086
		out=$(timeout 10 auditctl $line 2>&1) || fail "auditctl $line: $out"
		on_exit "timeout 10 auditctl ${line/-w/-W} >/dev/null 2>&1 || cleanup_failed 'could not delete watch: $line'"
		n=$((n + 1)) ;;
	*) fail "unexpected line in the rules file: $line" ;;
	esac
done < "$T/20.rules"
[ "$n" = 7 ] || fail "loaded $n rules, the file has 7"
listed=$(auditctl -l)
grep -q "exe=$bin" <<< "$listed" || fail "the never rule is not listed: $listed"
grep -q 'auditdist-config' <<< "$listed" || fail "the config watch is not listed"

# A rule that would audit every write into the spool: without the never
# rules each batch the plugin writes would be audited and sent back to it.
key=adloop$$
wait_for "[ -e $T/spool/spool.id ]" 10 || fail "plugin did not create its spool"
audit_rule_add always,exit -F arch=b64 -S openat,write,fdatasync,renameat,renameat2 -F dir="$T/spool" -k "$key"
# Records to spool (many segments' worth), and a process of our own that
# touches the spool, which must be recorded.
audit_rule_add always,exit -F arch=b64 -S execve -F path=/usr/bin/true -k "$key-exec"
for i in $(seq 1 300); do /usr/bin/true; done
touch "$T/spool/by-the-test"
wait_for "[ \$(ls $T/spool | grep -c '\.seg$') -ge 20 ]" 10 || fail "the plugin did not rotate segments: $(ls "$T/spool" | head)"
audit_rule_del always,exit -F arch=b64 -S execve -F path=/usr/bin/true -k "$key-exec"
wait_for "ausearch -if $AUDITD_LOG -k $key >/dev/null 2>&1" 10 || fail "the spool rule never fired"
audit_rule_del always,exit -F arch=b64 -S openat,write,fdatasync,renameat,renameat2 -F dir="$T/spool" -k "$key"
auditd_private_stop || fail "auditd did not stop cleanly"

theirs=$(ausearch -if "$AUDITD_LOG" -k "$key" --raw 2>/dev/null | grep -c "exe=\"$bin\"" || :)
ours=$(ausearch -if "$AUDITD_LOG" -k "$key" --raw 2>/dev/null | grep -c 'type=SYSCALL' || :)
[ "$ours" -ge 1 ] || fail "the spool rule recorded nothing, so the test proves nothing"
[ "$theirs" = 0 ] || fail "$theirs records of the plugin's own system calls reached the log"
echo "rules: $n lines loaded; $ours spool events from others recorded, 0 from the plugin itself ($(ls "$T/spool" | grep -c '\.seg$') segments rotated meanwhile)"
