#!/bin/bash
# Capture real audit records from this machine's kernel exactly as an auditd
# plugin receives them (format = string: one record a line, type=EOE
# included), for tests/data/.
#
#   scripts/capture-sample.sh [-f ENRICHED|RAW] [-n NONE|HOSTNAME] [-r ROUNDS] OUT
#
# A private auditd (tests/lib.sh) runs a capture plugin ("exec cat > FILE"),
# rules covering many record types are loaded and a workload runs ROUNDS
# times.  Then OUT receives the plugin stream, and the script checks that it
# is made of whole records, that ausearch and aureport read it, and that
# without its EOE records it is byte-identical to auditd's own log file.
# Needs root and no other auditd running; puts back what it changes.
set -eu -o pipefail
cd "$(dirname "$0")/.."
TEST_NAME=capture-sample
# shellcheck source=tests/lib.sh
. tests/lib.sh

usage()
{
	echo "usage: $0 [-f ENRICHED|RAW] [-n NONE|HOSTNAME] [-r ROUNDS] OUT" >&2
	exit 64
}

ROUNDS=8
while getopts f:n:r: opt; do
	case $opt in
	f) AUDITD_LOG_FORMAT=$OPTARG ;;
	n) AUDITD_NAME_FORMAT=$OPTARG ;;
	r) ROUNDS=$OPTARG ;;
	*) usage ;;
	esac
done
shift $((OPTIND - 1))
[ $# -eq 1 ] || usage
OUT=$1

need_root
need_cmd auditd auditctl ausearch aureport su setpriv mount perl
[ "$(uname -m)" = x86_64 ] || skip "the rules are written for x86_64"
deadline 600

W=$T/work
mkdir -m 0755 "$W" "$W/dir" "$W/mnt"
echo "a watched file" > "$W/watched.txt"
echo "secret-looking but fake" > "$W/private.txt"
chmod 0600 "$W/private.txt"

# The capture plugin.  auditd starts it with an empty environment.
printf '#!/bin/sh\nexec /bin/cat > %s\n' "$T/stream.log" > "$T/capture.sh"
chmod 0755 "$T/capture.sh"
plugin=$(plugin_install "$T/capture.sh" capture)
write_plugin_conf "$T/plugins.d" "$plugin" "" capture.conf
auditd_private_start "$T/auditd" "$T/plugins.d"
wait_for "[ -s $T/stream.log ]" 10 || fail "capture plugin wrote nothing"

# The workload runs with loginuid (auid) 0, set below; filtering on it keeps
# out whatever else this machine runs (processes without a login have no auid).
b64() { audit_rule_add "always,exit" -F arch=b64 -F auid=0 "$@"; }
# program execution: SYSCALL, EXECVE, CWD, PATH, PROCTITLE
b64 -S execve,execveat -k cap-exec
# renames, links, deletions (the first matching rule wins, so before the watches)
b64 -S rename,renameat,renameat2,link,linkat,symlink,symlinkat,unlink,unlinkat -F dir="$W" -k cap-delete
# file access through watches: open/read/write/attributes, create
audit_rule_add "always,exit" -F path="$W/watched.txt" -F perm=rwa -F auid=0 -k cap-watch
audit_rule_add "always,exit" -F dir="$W/dir" -F perm=wa -F auid=0 -k cap-dir
# failed opens (EACCES as nobody, ENOENT)
b64 -S open,openat,openat2 -F exit=-EACCES -k cap-eacces
b64 -S open,openat,openat2 -F exit=-ENOENT -F exe=/usr/bin/cat -k cap-enoent
# network: SOCKADDR
b64 -S connect,bind -k cap-net
b64 -S socket -F a0=2 -k cap-net
b64 -S socket -F a0=10 -k cap-net
# attribute changes
b64 -S chmod,fchmod,fchmodat,chown,fchown,fchownat,lchown,utimensat,truncate,ftruncate -k cap-attr
# signals (OBJ_PID), pipes (FD_PAIR), credentials, mounts
b64 -S kill,tkill,tgkill -k cap-kill
b64 -S pipe2 -F success=1 -F exe=/usr/bin/perl -k cap-pipe
b64 -S setresuid,setresgid,setuid,setgid,setgroups -k cap-priv
b64 -S mount,umount2 -k cap-mount

workload()
{
	local r=$1 long
	cd "$W"
	/usr/bin/true
	/usr/bin/printf '%s|%s|%s\n' "two words" "quote\"d" "naïve café" >/dev/null
	long=$(head -c 12000 /dev/zero | tr '\0' x)
	/usr/bin/echo "$long" >/dev/null
	cat watched.txt >/dev/null
	echo "round $r" >> watched.txt
	chmod 0640 watched.txt; chmod 0644 watched.txt
	chown root:root watched.txt
	touch -d "2024-01-0$(( r % 9 + 1 )) 12:00" watched.txt
	truncate -s 64 watched.txt
	echo x > "dir/file $r é.txt"
	mv "dir/file $r é.txt" "dir/renamed-$r.txt"
	ln -s "renamed-$r.txt" "dir/link-$r"
	ln "dir/renamed-$r.txt" "dir/hard-$r"
	rm -f "dir/link-$r" "dir/hard-$r" "dir/renamed-$r.txt"
	cat "$W/missing-$r" 2>/dev/null || :
	setpriv --reuid=nobody --regid=nogroup --clear-groups cat "$W/private.txt" 2>/dev/null || :
	(exec 3<>/dev/tcp/127.0.0.1/9) 2>/dev/null || :
	(exec 3<>/dev/tcp/::1/9) 2>/dev/null || :
	perl -e 'pipe(my $r, my $w) or die; socket(my $s, 1, 1, 0); connect($s, pack("S a108", 1, "/nonexistent/sock"))' || :
	timeout 0.2 sleep 30 || :
	su -s /bin/sh -c /usr/bin/id nobody >/dev/null 2>&1 || :
	auditctl -m "capture-sample round $r: a user message" >/dev/null
	if [ $(( r % 5 )) = 0 ]; then
		mount -t tmpfs -o size=1m capture "$W/mnt" && umount "$W/mnt"
		{ bash -c 'ulimit -c 0; kill -SEGV $$'; } 2>/dev/null || :
	fi
}

# Setting the loginuid makes a LOGIN record and gives the workload a session.
for ((i = 1; i <= ROUNDS; i++)); do
	( echo 0 > /proc/self/loginuid && workload "$i" ) || fail "workload round $i failed"
done
# Let the end_of_event timer flush the last events before the rules go.
sleep 3
for r in "${_AUDIT_RULES[@]}"; do
	# shellcheck disable=SC2086
	audit_rule_del $r
done
auditd_private_stop 20 || fail "auditd or the capture plugin did not stop"
[ "$AUDITD_RC" = 0 ] || fail "auditd exited with status $AUDITD_RC"

# --- checks -------------------------------------------------------------
S=$T/stream.log
[ "$(tail -c 1 "$S" | od -An -c | tr -d ' ')" = '\n' ] || fail "stream does not end with a newline"
bad=$(grep -Evc '^(node=[^ ]+ )?type=[A-Z0-9_]+ msg=audit\([0-9]+\.[0-9]{3}:[0-9]+\):( |$)' "$S" || :)
[ "$bad" = 0 ] || fail "$bad lines of the stream are not whole records"
strip_eoe < "$S" > "$T/noeoe.log"
if cmp -s "$T/noeoe.log" "$AUDITD_LOG"; then
	same="yes: the stream without type=EOE records is byte-identical to auditd's log"
else
	same="NO: $(cmp "$T/noeoe.log" "$AUDITD_LOG" 2>&1 || :)"
	diff "$T/noeoe.log" "$AUDITD_LOG" | cut -c1-160 | head -20 >&2 || :
fi
records=$(wc -l < "$S")
eoe=$(( records - $(wc -l < "$T/noeoe.log") ))
raw=$(timeout 60 ausearch -if "$S" --raw 2>/dev/null | wc -l)
events=$(timeout 60 ausearch -if "$S" 2>/dev/null | grep -c '^----$' || :)
timeout 60 aureport -if "$S" --summary > "$T/aureport.txt" 2>&1 ||
    fail "aureport -if failed: $(head -3 "$T/aureport.txt")"
cp "$S" "$OUT"

echo "file:       $OUT ($(wc -c < "$OUT") bytes, $records records, $eoe EOE, $events events)"
echo "format:     log_format=$AUDITD_LOG_FORMAT name_format=$AUDITD_NAME_FORMAT rounds=$ROUNDS"
echo "captured:   $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -sr), $(auditctl -v | head -1)"
echo "ausearch:   ausearch -if OUT --raw prints $raw lines"
echo "identical:  $same"
echo "types:"
sed -E 's/^(node=[^ ]+ )?type=([A-Z0-9_]+) .*/\2/' "$OUT" | sort | uniq -c | sort -rn |
    awk '{ printf "  %6d %s\n", $1, $2 }'
case $same in
yes*) ;;
*) fail "plugin stream and auditd log differ" ;;
esac
