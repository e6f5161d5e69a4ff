#!/bin/bash
# Start failures an administrator can read, on a host without syslog:
#   - hole 1: auditdistd, started as a daemon (no -f) in a mount namespace
#     where /dev/log is hidden, with a receiver directory that cannot be
#     created, prints why on standard error and exits 73 (EX_CANTCREAT);
#   - hole 2: auditdistd -n on that configuration fails with the reason
#     (it said "configuration OK"), while a directory the start would
#     create is accepted;
#   - hole 3: -f lines start with an ISO 8601 time stamp in milliseconds;
#   - hole 4: audisp-dist -n with a spool on a read-only file system, or
#     one whose parent is missing, fails with the reason.
# Before the fix: no output at all, "configuration OK" twice, and lines
# that began with the program's name.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

RECV=$B/auditdistd
PLUGIN=$B/audisp-dist

need_root
need_cmd openssl unshare mount
for b in "$RECV" "$PLUGIN"; do
	[ -x "$b" ] || skip "no $b (not built yet: make)"
done
deadline 60

# nolog CMD...: CMD in a private mount namespace without a syslog socket.
: > "$T/empty"
nolog()
{
	unshare -m sh -c '[ ! -e /dev/log ] || mount --bind "$0" /dev/log || exit 99
		exec "$@"' "$T/empty" "$@"
}
nolog true || skip "unshare -m / mount --bind do not work here"

recv_setup
rconf()	# FILE DIRECTORY
{
	cat > "$1" <<EOF
receiver {
	listen "tls://127.0.0.1:$PORT"
	directory "$2"
	user "$FWD_USER"
	certfile "$pki/recv.pem"
	keyfile "$pki/recv.key"
}
EOF
	# As installed: readable by the user's group, so -n has no warning.
	chown "root:$(id -gn "$FWD_USER")" "$1" "$pki/recv.key"
	chmod 0640 "$1" "$pki/recv.key"
}
rconf "$T/missing.conf" "$T/gone/trails"
rconf "$T/new.conf" "$T/trails-new"
STAMP='^20[0-9]{2}-[01][0-9]-[0-3][0-9]T[0-2][0-9]:[0-5][0-9]:[0-6][0-9]\.[0-9]{3}Z auditdistd: '

# --- hole 1: no syslog, a directory that cannot be made ------------------
rc=0
nolog timeout 20 "$RECV" -c "$T/missing.conf" > "$T/start.out" 2> "$T/start.err" || rc=$?
[ "$rc" = 73 ] || { show_tails "$T/start.err"; fail "hole 1: auditdistd exited $rc, not 73 (EX_CANTCREAT)"; }
grep -q "receiver directory $T/gone/trails" "$T/start.err" ||
	fail "hole 1: without syslog, the reason is not on standard error: '$(cat "$T/start.err")'"
grep -q "no syslog" "$T/start.err" || fail "hole 1: no word that syslog is missing: '$(cat "$T/start.err")'"
info "hole 1: $(grep 'receiver directory' "$T/start.err" | head -n 1)"

# --- hole 2: -n ------------------------------------------------------------
rc=0
out=$("$RECV" -n -c "$T/missing.conf" 2>&1) || rc=$?
[ "$rc" = 73 ] || fail "hole 2: auditdistd -n exited $rc on a directory that cannot be made: $out"
grep -q "$T/gone" <<< "$out" || fail "hole 2: auditdistd -n does not name the missing directory: $out"
info "hole 2: $out"
out=$("$RECV" -n -c "$T/new.conf" 2>&1) || fail "auditdistd -n refused a directory it would create: $out"
[ "$out" = "configuration OK" ] || fail "auditdistd -n on a good configuration said: $out"
[ ! -e "$T/trails-new" ] || fail "auditdistd -n created the receiver directory"
: > "$T/trails-file"
rconf "$T/file.conf" "$T/trails-file"
rc=0
out=$("$RECV" -n -c "$T/file.conf" 2>&1) || rc=$?
[ "$rc" = 73 ] && grep -q "not a directory" <<< "$out" ||
	fail "hole 2: auditdistd -n on a directory that is a file: status $rc: $out"

# --- hole 3: -f lines carry a time stamp -----------------------------------
rc=0
nolog timeout 20 "$RECV" -f -c "$T/missing.conf" 2> "$T/fg.err" || rc=$?
[ "$rc" = 73 ] || fail "auditdistd -f exited $rc, not 73"
[ -s "$T/fg.err" ] || fail "hole 3: auditdistd -f printed nothing"
bad=$(grep -cvE "$STAMP" "$T/fg.err" || :)
[ "$bad" = 0 ] || { show_tails "$T/fg.err"; fail "hole 3: $bad line(s) of auditdistd -f lack a time stamp"; }
info "hole 3: $(head -n 1 "$T/fg.err")"

# --- hole 4: the plugin's -n and its spool ---------------------------------
mkdir -m 0755 "$T/ro"
test_sender_conf "$T/ro.conf" web "$T/ro/spool" "127.0.0.1:$PORT" "$FP" "$PW" 5
test_sender_conf "$T/gone.conf" web "$T/spool-x" "127.0.0.1:$PORT" "$FP" "$PW" 5
sed -i "s|$T/spool-x|$T/none/spool|" "$T/gone.conf"
out=$("$PLUGIN" -n "$T/ro.conf" 2>&1) || fail "audisp-dist -n refused a good spool: $out"
[ "$out" = "configuration OK" ] || fail "audisp-dist -n on a good configuration said: $out"
rc=0
out=$(unshare -m sh -c 'mount --bind -o ro "$0" "$0" && exec "$@"' "$T/ro" \
    "$PLUGIN" -n "$T/ro.conf" 2>&1) || rc=$?
[ "$rc" = 73 ] || fail "hole 4: audisp-dist -n exited $rc with a read-only spool: $out"
grep -q "$T/ro/spool.*Read-only file system" <<< "$out" ||
	fail "hole 4: audisp-dist -n does not say why: $out"
info "hole 4: $out"
rc=0
out=$("$PLUGIN" -n "$T/gone.conf" 2>&1) || rc=$?
[ "$rc" = 73 ] && grep -q "$T/none/spool does not exist" <<< "$out" ||
	fail "hole 4: audisp-dist -n with a spool that cannot be created: status $rc: $out"
info "hole 4: $out"
echo "hole 1: without syslog, auditdistd's start failure is on standard error, status 73"
echo "hole 2: auditdistd -n refuses a receiver directory the start could not use"
echo "hole 3: -f lines start with an ISO 8601 time stamp in milliseconds"
echo "hole 4: audisp-dist -n refuses a read-only spool and one that cannot be created"
