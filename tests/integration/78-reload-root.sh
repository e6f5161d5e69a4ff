#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# The receiver laid out as installed (its configuration, certificate and
# key root:GROUP 0640 in a root:GROUP 0750 directory, GROUP the primary
# group of the receiver's user) runs started as root, the README's way,
# and started directly as its user, the unit's way.  Started as root, a
# SIGHUP must add a host: sender a ships at a steady pace, host b is added
# to the file, SIGHUP, b ships, and a's connection is never reset (one
# login each side) and its trail is its input byte for byte.  Before, the
# file was refused at the start (group-readable with passwords), and a
# root-only file was refused at the reload ("Permission denied").  A
# root-only file now gives a warning with the fix at the start, and the
# refused reload says the fix too.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
need_root
need_cmd openssl ss cmp perl stat setpriv
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet)"
done
deadline 90

recv_setup
U=$FWD_USER
G=$(id -gn "$U")
# /etc/auditdistd as layout: root:G 0750, files root:G 0640.
etc=$T/etc
install -d -o root -g "$G" -m 0750 "$etc"
install -o root -g "$G" -m 0640 "$pki/recv.pem" "$pki/recv.key" "$etc/"
rconf=$etc/auditdistd.conf
PWB=$(rand_password)
hostb="	host b {
		remote \"tls://127.0.0.1\"
		password \"$PWB\"
	}"

conf()	# [EXTRA-HOST-BLOCK]: (re)write $rconf in place, as some editors do
{
	cat > "${CONF_OUT:-$rconf}" <<EOF
timeout 5
pidfile none
receiver {
	listen "tls://127.0.0.1:$PORT"
	directory "$trails"
	user "$U"
	certfile "$etc/recv.pem"
	keyfile "$etc/recv.key"
	host a {
		remote "tls://127.0.0.1"
		password "$PW"
	}
${1:-}
}
EOF
}
conf
chown "root:$G" "$rconf"
chmod 0640 "$rconf"

test_sender_conf "$T/a.conf" a "$T/spool-a" "127.0.0.1:$PORT" "$FP" "$PW" 5 \
    "segment_size 16K"
test_sender_conf "$T/b.conf" b "$T/spool-b" "127.0.0.1:$PORT" "$FP" "$PWB" 5
# a: about 20 s of records at a steady pace; b: a short burst.
sample_stream "$SAMPLE" 400000 "$T/input-a"
feed_input "$T/input-a" "$T/input-a.feed"
size_a=$(stat -c %s "$T/input-a")
sample_stream "$SAMPLE" 50000 "$T/input-b"
feed_input "$T/input-b" "$T/input-b.feed"
size_b=$(stat -c %s "$T/input-b")

# --- started as root ------------------------------------------------------
bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 ||
    { show_tails "$T/recv.log"; fail "issue 11: auditdistd started as root refused $rconf (root:$G 0640)"; }
! grep -q 'not readable' "$T/recv.log" ||
    { show_tails "$T/recv.log"; fail "a warning about a file its user can read"; }
bg_start a "$T/a.log" "$FEED" -r $((size_a / 20)) -t 120 -w "$size_a:$T/go-a" \
    "$T/input-a.feed" "$PLUGIN" -f "$T/a.conf"
wait_for '[ "$(trail_size "$trails/a")" -gt 0 ]' 15 ||
    { show_tails "$T/a.log" "$T/recv.log"; fail "a shipped nothing in 15 s"; }

# Replaced by rename, as sed -i, most editors and dpkg do: a new inode.
CONF_OUT=$rconf.new conf "$hostb"
chown "root:$G" "$rconf.new"
chmod 0640 "$rconf.new"
mv -f "$rconf.new" "$rconf"
kill -HUP "$(bg_pid recv)"
wait_for 'grep -q "configuration reloaded" "$T/recv.log"' 10 || true
if grep -q 'reload:' "$T/recv.log" || ! grep -q 'configuration reloaded' "$T/recv.log"; then
	show_tails "$T/recv.log"
	fail "issue 11: a receiver started as root did not reload $rconf on SIGHUP"
fi
bg_start b "$T/b.log" "$FEED" -w "$size_b:$T/go-b" "$T/input-b.feed" \
    "$PLUGIN" -f "$T/b.conf"
wait_for '[ "$(trail_size "$trails/b")" -ge "$size_b" ]' 20 ||
    { show_tails "$T/b.log" "$T/recv.log"; fail "issue 11: host b, added by SIGHUP, did not ship ($(trail_size "$trails/b") of $size_b bytes)"; }
trail_cat "$trails/b" > "$T/trail-b"
trail_compare "$T/trail-b" "$T/input-b" || fail "b's trail differs from its input"
a_mid=$(trail_size "$trails/a")
[ "$a_mid" -lt "$size_a" ] || info "a had shipped everything before b did (slow machine?)"
touch "$T/go-b"
bg_stop b 0 15 || fail "b's audisp-dist did not stop at the end of its input"

wait_for '[ "$(trail_size "$trails/a")" -ge "$size_a" ]' 40 ||
    { show_tails "$T/a.log" "$T/recv.log"; fail "a's trail holds $(trail_size "$trails/a") of $size_a bytes"; }
trail_cat "$trails/a" > "$T/trail-a"
trail_compare "$T/trail-a" "$T/input-a" || fail "a's trail differs from its input"
n_fwd=$(grep -c 'host recv: connected to' "$T/a.log" || :)
n_recv=$(grep -c 'host a: connected from' "$T/recv.log" || :)
[ "$n_fwd$n_recv" = 11 ] ||
    { show_tails "$T/a.log" "$T/recv.log"; fail "issue 11: the reload disturbed a: $n_fwd connections by a, $n_recv logins of a"; }
touch "$T/go-a"
bg_stop a 0 15 || fail "a's audisp-dist did not stop at the end of its input"
bg_stop recv TERM 15 || fail "auditdistd did not stop"
echo "issue 11: started as root, SIGHUP (the file replaced by rename) added host b ($size_b bytes shipped) while a shipped on one connection; a's trail == input ($size_a bytes)"

# --- a root-only file: the warning and the fix, at start and reload -------
chown root:root "$rconf"
chmod 0600 "$rconf"
fix="$rconf is not readable by user $U: SIGHUP cannot reload it; chgrp $G $rconf && chmod 640 $rconf"
out=$("$RECV" -n "$rconf" 2>&1) || fail "auditdistd -n: $out"
grep -qF "$fix" <<< "$out" ||
    { printf '%s\n' "$out" | sed 's/^/  | /'; fail "issue 11: auditdistd -n did not warn of $rconf (root 0600)"; }
: > "$T/recv.log"
bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not start"; }
grep -qF "$fix" "$T/recv.log" ||
    { show_tails "$T/recv.log"; fail "issue 11: no start-time warning naming the fix for $rconf (root 0600)"; }
kill -HUP "$(bg_pid recv)"
wait_for 'grep -q "keeping the old configuration" "$T/recv.log"' 10 ||
    { show_tails "$T/recv.log"; fail "the refused reload said nothing"; }
wait_for '[ "$(grep -cF "$fix" "$T/recv.log")" -ge 2 ]' 5 ||
    { show_tails "$T/recv.log"; fail "issue 11: the refused reload did not say the fix"; }
bg_stop recv TERM 15 || fail "auditdistd did not stop"
echo "issue 11: a root-only configuration: -n, the start and the refused reload each say: chgrp $G FILE && chmod 640 FILE"

# --- started as its user, as the unit does -------------------------------
chown "root:$G" "$rconf"
chmod 0640 "$rconf"
trails2=$T/trails2
install -d -o "$U" -g "$G" -m 0750 "$trails2"
sed -i "s|directory \"$trails\"|directory \"$trails2\"|" "$rconf"
: > "$T/recv.log"
bg_start recv "$T/recv.log" setpriv --reuid "$U" --regid "$G" --init-groups \
    "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 ||
    { show_tails "$T/recv.log"; fail "issue 11: auditdistd started as $U could not start with $rconf"; }
rm -rf "$T/spool-b"
test_sender_conf "$T/b.conf" b "$T/spool-b" "127.0.0.1:$PORT" "$FP" "$PWB" 5
rm -f "$T/go-b"
bg_start b "$T/b2.log" "$FEED" -w "$size_b:$T/go-b" "$T/input-b.feed" \
    "$PLUGIN" -f "$T/b.conf"
wait_for '[ "$(trail_size "$trails2/b")" -ge "$size_b" ]' 20 ||
    { show_tails "$T/b2.log" "$T/recv.log"; fail "issue 11: nothing reached auditdistd run as $U"; }
trail_cat "$trails2/b" > "$T/trail-b2"
trail_compare "$T/trail-b2" "$T/input-b" || fail "b's trail differs from its input"
kill -HUP "$(bg_pid recv)"
wait_for 'grep -q "configuration reloaded" "$T/recv.log"' 10 ||
    { show_tails "$T/recv.log"; fail "issue 11: auditdistd run as $U did not reload"; }
# The file made root's only behind its back: the refused reload says the fix.
chgrp root "$rconf"
kill -HUP "$(bg_pid recv)"
wait_for 'grep -qF "$fix" "$T/recv.log"' 10 ||
    { show_tails "$T/recv.log"; fail "issue 11: a reload refused to auditdistd run as $U did not say the fix"; }
touch "$T/go-b"
bg_stop b 0 15 || fail "b's audisp-dist did not stop at the end of its input"
bg_stop recv TERM 15 || fail "auditdistd did not stop"
log_sanity "$T/recv.log" auditdistd
echo "issue 11: started as $U (setpriv, as the unit does) with root:$G 0640 files: b shipped, SIGHUP reloaded; a root-only file: the refused reload says the fix"
