#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# trail_group: the administrators' group reads the trails.  A group made
# for the test stands for Debian's adm, a reader uid of no account for an
# administrator in it.
#   - without the setting, trails stay the receiver user's own (0750/0640)
#     and the reader, even in the group, is refused;
#   - a receiver started as its user, not in the group, refuses to start
#     (and -n refuses the configuration) with status 78 and the systemd
#     drop-in lines that fix it; in the group, -n says OK;
#   - restarted as root with trail_group, the trail written before is the
#     group's, and so is what comes after and a new host's trail: the
#     reader in the group runs ausearch -if DIR/HOST and aureport -if and
#     sees every record, the same reader without the group gets
#     "Permission denied";
#   - a reload that changes trail_group says it waits for a restart.
# Before the fix: "unknown keyword trail_group", the receiver does not
# start (status 78) and nothing is readable by the group.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
need_root
need_cmd openssl ss cmp perl stat setpriv groupadd groupdel ausearch aureport
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet: make; make $FEED)"
done
[ "$FWD_USER" != root ] || skip "no unprivileged user for the receiver"
deadline 90

TG=adtg$$
groupadd "$TG" || fail "groupadd $TG"
on_exit "groupdel '$TG' 2>/dev/null || cleanup_failed 'groupdel $TG'"
TGID=$(getent group "$TG" | cut -d: -f3)
READER=64999		# no account: an administrator, not the receiver's user
as_admin()	{ setpriv --reuid=$READER --regid=$READER --groups="$TGID" "$@"; }
as_other()	{ setpriv --reuid=$READER --regid=$READER --clear-groups "$@"; }

recv_setup
# rconf FILE [LINE]: a receiver for hosts web and new, LINE in its block.
rconf()
{
	test_recv_conf "$1" "127.0.0.1:$PORT" "timeout 5" "trail_size 64K" ${2:+"$2"} \
	    "$(test_recv_host web "$PW"; test_recv_host new "$PW")"
}
rconf "$T/plain.conf"
rconf "$T/group.conf" "trail_group \"$TG\""
for h in web new; do
	test_sender_conf "$T/$h.conf" "$h" "$T/spool-$h" "127.0.0.1:$PORT" "$FP" "$PW" 5 \
	    "segment_size 16K"
done

sample_stream "$SAMPLE" 200000 "$T/all"
n=$(wc -l < "$T/all")
head -n $((n / 2)) "$T/all" > "$T/A"
tail -n +$((n / 2 + 1)) "$T/all" > "$T/B"
head -n 1500 "$SAMPLE" > "$T/N"
for p in A B N; do
	feed_input "$T/$p" "$T/$p.feed"
done

# ship HOST PART: HOST's audisp-dist sends PART; wait until the trail
# ends with it, then let the plugin end.
ship()
{
	local h=$1 p=$2 size
	size=$(stat -c %s "$T/$p")
	rm -f "$T/go-$h"
	bg_start "send-$h" "$T/$h.log" "$FEED" -t 60 -w "$size:$T/go-$h" \
	    "$T/$p.feed" "$PLUGIN" -f "$T/$h.conf"
	if ! wait_for '[ "$(trail_size "$trails/$h")" -ge "$size" ] &&
	    trail_cat "$trails/$h" | tail -c "$size" | cmp -s - "$T/$p"' 30; then
		show_tails "$T/$h.log" "$T/recv.log"
		fail "$h: $p not shipped within 30 s"
	fi
	touch "$T/go-$h"
	bg_stop "send-$h" 0 15 || fail "$h: audisp-dist did not exit at the end of its input"
}
start_recv()	# CONF
{
	bg_start recv "$T/recv.log" "$RECV" -f "$1"
	wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd -f $1 did not listen"; }
}
# modes DIR: "mode user:group" of every directory and file below DIR.
modes()
{
	find "$1" -mindepth 1 \( -type d -o -type f \) -printf '%m %u:%g %P\n' | sort -k3
}

# --- without trail_group: nothing changes ---------------------------------
start_recv "$T/plain.conf"
ship web A
bg_stop recv TERM 15 || fail "auditdistd did not stop"
bad=$(modes "$trails/web" | awk -v ug="$FWD_USER:$(id -gn "$FWD_USER")" \
    '$2 != ug || ($1 != 750 && $1 != 640 && $1 != 440)')
[ -z "$bad" ] || fail "without trail_group, trails are not $FWD_USER's, 0750/0640/0440: $bad"
as_admin cat "$trails/web/audit.log" > /dev/null 2>&1 &&
    fail "without trail_group, the group reads the trail"
info "without trail_group: $(modes "$trails" | head -n 2 | tr '\n' ' ')"

# --- the receiver's user without the group --------------------------------
# Its own copies of the configuration and the key, as a service has them.
mkdir -m 0700 "$T/u"
cp "$pki/recv.pem" "$pki/recv.key" "$T/u/"
{ echo 'pidfile "none"'; sed "s|$pki/|$T/u/|" "$T/group.conf"; } > "$T/u/recv.conf"
chmod 0600 "$T/u/recv.conf"
chown -R "$FWD_USER" "$T/u"
as_user()	# GROUPS CMD...: as the receiver's user, with only GROUPS
{
	local g=$1
	shift
	setpriv --reuid="$FWD_USER" --regid="$(id -g "$FWD_USER")" --groups="$g" "$@"
}
for how in -n -f; do
	rc=0
	out=$(as_user "$(id -g "$FWD_USER")" timeout 10 "$RECV" "$how" "$T/u/recv.conf" 2>&1) || rc=$?
	[ "$rc" = 78 ] || fail "issue 11: auditdistd $how as $FWD_USER outside group $TG: status $rc, not 78: $out"
	grep -q "SupplementaryGroups=$TG" <<< "$out" && grep -q "not in group $TG" <<< "$out" ||
	    fail "issue 11: auditdistd $how as $FWD_USER outside group $TG does not say how to fix it: $out"
done
info "not a member: $(tail -n 1 <<< "$out" | cut -c1-300)"
out=$(as_user "$TGID" timeout 10 "$RECV" -n "$T/u/recv.conf" 2>&1) ||
    fail "auditdistd -n as $FWD_USER in group $TG: $out"
[ "$out" = "configuration OK" ] || fail "auditdistd -n as $FWD_USER in group $TG said: $out"

# --- with trail_group: old and new trails are the group's ----------------
# Started as root: the trail written before becomes the group's.
start_recv "$T/group.conf"
ship web B
bg_stop recv TERM 15 || fail "auditdistd did not stop"
[ "$BG_RC" = 0 ] || { show_tails "$T/recv.log"; fail "auditdistd exited $BG_RC"; }
# Started as its user in the group (systemd's SupplementaryGroups=): a
# new host's trail is the group's too.
bg_start recv "$T/recv.log" setpriv --reuid="$FWD_USER" --regid="$(id -g "$FWD_USER")" \
    --groups="$(id -g "$FWD_USER"),$TGID" "$RECV" -f "$T/u/recv.conf"
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd as $FWD_USER in group $TG did not listen"; }
ship new N

bad=$(modes "$trails" | awk -v g="$TG" '$2 !~ ":" g "$" ||
    ($1 !~ /^2[0-9]50$/ && $1 != 640 && $1 != 440)')
[ -z "$bad" ] || { modes "$trails" | sed 's/^/  | /'; fail "issue 11: with trail_group, not the group's (dirs 2750, files 0640/0440): $bad"; }
m=$(stat -c '%a %G' "$trails")
[ "$m" = "2750 $TG" ] || fail "issue 11: the receiver directory is '$m', not '2750 $TG'"

for h in web new; do
	case $h in web) want=$T/all ;; new) want=$T/N ;; esac
	lines=$(wc -l < "$want")
	got=$(as_admin timeout 60 ausearch -if "$trails/$h" --raw 2> "$T/ausearch.err" | wc -l) ||
	    fail "issue 11: ausearch -if $trails/$h as a member of $TG failed: $(head -c 300 "$T/ausearch.err")"
	[ "$got" = "$lines" ] ||
	    fail "issue 11: ausearch -if $trails/$h as a member of $TG printed $got records, not $lines: $(head -c 300 "$T/ausearch.err")"
	as_admin timeout 60 aureport -if "$trails/$h" > "$T/aureport" 2>&1 ||
	    fail "issue 11: aureport -if $trails/$h as a member of $TG failed: $(head -c 300 "$T/aureport")"
	grep -q 'Number of events' "$T/aureport" ||
	    fail "issue 11: aureport -if $trails/$h printed no summary: $(head -c 300 "$T/aureport")"
	rc=0
	as_other timeout 60 ausearch -if "$trails/$h" --raw > /dev/null 2> "$T/denied" || rc=$?
	# Not the complaint about auditd.conf, which members get too.
	[ "$rc" != 0 ] && grep -v "config file" "$T/denied" | grep -q "Permission denied" ||
	    fail "issue 11: without group $TG, ausearch -if $trails/$h: status $rc: $(head -c 300 "$T/denied")"
	info "$h: $lines records read by group $TG; without it: $(grep -v "config file" "$T/denied" | grep "Permission denied" | head -n 1)"
done
echo "issue 11: without trail_group the trails stay $FWD_USER's (0750/0640/0440), unreadable by the group"
echo "issue 11: the receiver's user outside trail_group's group: start and -n exit 78 with the SupplementaryGroups= drop-in line"
echo "issue 11: with trail_group (started as root, or as its user in the group), old and new trails are the group's (dirs 2750, files 0640/0440); ausearch -if and aureport -if work for a member, Permission denied for others"

# --- reload ---------------------------------------------------------------------
# The file keeps its owner: every process of the receiver reads it again.
sed "s|trail_group \"$TG\"|trail_group \"root\"|" "$T/u/recv.conf" > "$T/new.conf"
cat "$T/new.conf" > "$T/u/recv.conf"
kill -HUP "$(bg_pid recv)"
wait_for 'grep -q "trail_group \"root\" takes effect at the next start" "$T/recv.log"' 10 || {
	show_tails "$T/recv.log"; fail "issue 11: a reload that changes trail_group does not say it waits for a restart"; }
bg_stop recv TERM 15 || fail "auditdistd did not stop"
[ "$BG_RC" = 0 ] || { show_tails "$T/recv.log"; fail "auditdistd exited $BG_RC"; }
log_sanity "$T/recv.log" auditdistd
echo "issue 11: a reload changing trail_group says the change waits for a restart"
