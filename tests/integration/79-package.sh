#!/bin/bash
# shellcheck disable=SC2016,SC2015,SC2012 # wait_for takes code in single quotes
# The Debian packages the way an administrator meets them: make deb (or the
# packages in $B/deb when they are newer than the tree), dpkg -i of the
# receiver's package, its owners and modes, a test configuration in
# /etc/auditdistd, and the receiver started the way its unit starts it:
# under systemd, with systemctl: the host's when systemd is PID 1 here,
# else one booted by systemd-nspawn in a container made of this host's
# /usr and /etc (read-only) on a tmpfs; where neither can run, by running
# the unit's ExecStartPre= and ExecStart= lines as it would (User=,
# Group=, UMask=, LimitNOFILE=, RuntimeDirectory=, NOTIFY_SOCKET for
# Type=notify), saying why.  A sender from the build tree ships to it; a
# host added to the file is served after the unit's ExecReload=, while the
# first sender keeps its connection; it stops with status 0 (under
# systemd: Result=success, no restart, no warning in its journal).  Then
# dpkg --purge, and what it removed and kept.  The sender's package is
# installed and purged too, and in the container its unit reads a socket
# that says what auditd's af_unix plugin would and ships to a receiver
# from the build tree.
# Whatever the machine had before (make install's files, the user
# auditdist) is put back as it was.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
DEB=$B/deb
UNIT=/lib/systemd/system/auditdistd.service
RUNIT=/lib/systemd/system/auditdistd-reader.service
ETC=/etc/auditdistd
REMOTE=/var/audit/remote
SAMPLE=tests/data/sample-enriched.log
HA=pkgtest-a
HB=pkgtest-b
HS=pkgtest-s

need_root
need_cmd dpkg dpkg-query dpkg-statoverride setpriv openssl python3 ss
for b in "$PLUGIN" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet: make; make $FEED)"
done
for p in audisp-dist auditdistd auditdist-common; do
	case $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || :) in
	''|not-installed) ;;
	*) skip "package $p is installed here; this test installs and purges it" ;;
	esac
done
if pgrep -f '^/usr/sbin/(auditdistd|audisp-dist)( |$)' >/dev/null; then
	skip "an auditdistd or audisp-dist runs here; this test would replace its files"
fi
deadline 240

# --- what was here before: kept aside, put back at exit ------------------
SAVED=$T/saved
OWNED="/usr/sbin/auditdistd /usr/sbin/audisp-dist /usr/sbin/audisp-dist-forwarder
$ETC /etc/audit/auditdistd.conf /etc/audit/plugins.d/audisp-dist.conf
/etc/audit/rules.d/20-audisp-dist.rules $UNIT $RUNIT /lib/systemd/system/audisp-dist.service"
SPOOL_BEFORE=0
[ ! -e /var/spool/audisp-dist ] || SPOOL_BEFORE=1
USER_BEFORE=$(getent passwd auditdist || :)
GROUP_BEFORE=$(getent group auditdist || :)
REMOTE_BEFORE=0
[ ! -e "$REMOTE" ] || REMOTE_BEFORE=1
VAR_AUDIT_BEFORE=0
[ ! -e /var/audit ] || VAR_AUDIT_BEFORE=1

put_back()
{
	local p
	for p in $OWNED; do
		[ -e "$SAVED$p" ] || [ -L "$SAVED$p" ] || continue
		rm -rf "$p"
		mv "$SAVED$p" "$p" || cleanup_failed "could not put back $p"
	done
	restore_user
}

# The user and group auditdist as they were: recreated with their ids, or
# removed when the test made them.
restore_user()
{
	local uid gid ggid home shell
	if [ -n "$GROUP_BEFORE" ] && ! getent group auditdist >/dev/null; then
		IFS=: read -r _ _ ggid _ <<< "$GROUP_BEFORE"
		groupadd -r -g "$ggid" auditdist ||
		    cleanup_failed "could not recreate the group auditdist ($GROUP_BEFORE)"
	fi
	if [ -n "$USER_BEFORE" ] && ! getent passwd auditdist >/dev/null; then
		IFS=: read -r _ _ uid gid _ home shell <<< "$USER_BEFORE"
		useradd -r -M -u "$uid" -g "$gid" -d "$home" -s "$shell" auditdist ||
		    cleanup_failed "could not recreate the user auditdist ($USER_BEFORE)"
	elif [ -z "$USER_BEFORE" ] && getent passwd auditdist >/dev/null; then
		# a forwarder killed on a failure may not be gone yet
		wait_for '! pgrep -u auditdist' 5 || :
		userdel auditdist || cleanup_failed "could not remove the user auditdist"
	fi
	if [ -z "$GROUP_BEFORE" ] && getent group auditdist >/dev/null; then
		groupdel auditdist || cleanup_failed "could not remove the group auditdist"
	fi
}

purge_all()
{
	local p
	for p in audisp-dist auditdistd auditdist-common; do
		case $(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || :) in
		''|not-installed) ;;
		*) dpkg --purge "$p" >/dev/null 2>&1 || cleanup_failed "dpkg --purge $p" ;;
		esac
	done
	rm -rf "${REMOTE:?}/$HA" "${REMOTE:?}/$HB" /run/auditdistd
	[ "$REMOTE_BEFORE" = 1 ] || rm -rf "$REMOTE"
	[ "$VAR_AUDIT_BEFORE" = 1 ] || rmdir /var/audit 2>/dev/null || :
}

on_exit put_back
on_exit purge_all
mkdir -p "$SAVED"
for p in $OWNED; do
	[ -e "$p" ] || [ -L "$p" ] || continue
	mkdir -p "$SAVED${p%/*}"
	mv "$p" "$SAVED$p"
	info "kept aside, put back at exit: $p"
done
[ -z "$USER_BEFORE" ] || info "the user auditdist existed before: $USER_BEFORE"

# --- the packages ---------------------------------------------------------
newest_source()
{
	find debian Makefile common plugin receiver man systemd rules plugins.d \
	    auditdistd*.sample -type f -printf '%T@\n' | sort -n | tail -n 1
}

debfile()	# PACKAGE
{
	ls "$DEB/$1"_*.deb 2>/dev/null | head -n 1
}

built=$(stat -c %Y "$(debfile auditdistd)" 2>/dev/null || echo 0)
if [ "${built%.*}" -gt "$(newest_source | cut -d. -f1)" ]; then
	info "packages in $DEB are newer than the tree: reused (lintian ran when they were built)"
else
	make -s B="$B" deb > "$T/deb.log" 2>&1 || {
		tail -n 30 "$T/deb.log"; fail "make deb failed (log above)"; }
	echo "issue 11: make deb built the packages, lintian found no warning"
fi
for p in auditdistd audisp-dist auditdist-common; do
	[ -n "$(debfile "$p")" ] || fail "make deb left no $p package in $DEB"
done

# mode_is PATH OWNER:GROUP MODE
mode_is()
{
	local got
	got=$(stat -c '%U:%G %a' "$1" 2>/dev/null) || fail "$1 is missing"
	[ "$got" = "$2 $3" ] || fail "$1 is $got, expected $2 $3"
}

dpkg -i "$(debfile auditdist-common)" "$(debfile auditdistd)" > "$T/dpkg-i.log" 2>&1 || {
	cat "$T/dpkg-i.log"; fail "dpkg -i of the receiver's package failed"; }
mode_is /usr/sbin/auditdistd root:root 755
mode_is "$ETC" root:auditdist 750
mode_is "$ETC/auditdistd.conf" root:auditdist 640
mode_is "$REMOTE" auditdist:auditdist 750
mode_is "$UNIT" root:root 644
mode_is "$RUNIT" root:root 644
cmp -s "$RUNIT" systemd/auditdistd-reader.service || fail "$RUNIT is not systemd/auditdistd-reader.service"
IFS=: read -r _ _ uid _ _ home shell <<< "$(getent passwd auditdist)"
[ "$home" = /nonexistent ] && [ "$shell" = /usr/sbin/nologin ] && [ "$uid" -lt 1000 ] ||
    fail "user auditdist: uid $uid, home $home, shell $shell (expected a system user, /nonexistent, nologin)"
dpkg-query -W -f='${Conffiles}\n' auditdistd | grep -q "^ $ETC/auditdistd.conf " ||
    fail "$ETC/auditdistd.conf is not a conffile of auditdistd"
[ ! -e /etc/systemd/system/multi-user.target.wants/auditdistd.service ] ||
    fail "dpkg -i enabled auditdistd.service; it must wait until it is configured"
[ ! -e /etc/systemd/system/multi-user.target.wants/auditdistd-reader.service ] ||
    fail "dpkg -i enabled auditdistd-reader.service; it must wait until it is configured"
echo "issue 11: dpkg -i auditdistd: programs 0755, $ETC root:auditdist 0750, its conffile 0640, $REMOTE auditdist 0750, system user auditdist (uid $uid, $home, $shell); the units auditdistd and auditdistd-reader installed, not enabled"

# --- a test configuration in /etc/auditdistd --------------------------------
PORT=$(free_port)
tls_cert "$T" recv
install -o root -g auditdist -m 0640 "$T/recv.pem" "$ETC/test.pem"
install -o root -g auditdist -m 0640 "$T/recv.key" "$ETC/test.key"
FP=$(tls_fingerprint "$T/recv.pem")
PWA=$(rand_password)
PWB=$(rand_password)

recv_conf()	# HOST PASSWORD ...: the configuration with these hosts
{
	printf 'timeout 5\nreceiver {\n\tlisten "tls://127.0.0.1:%s"\n' "$PORT"
	printf '\tdirectory "%s"\n\tcertfile "%s/test.pem"\n\tkeyfile "%s/test.key"\n' \
	    "$REMOTE" "$ETC" "$ETC"
	while [ $# -gt 0 ]; do
		printf '\thost %s {\n\t\tremote "tls://127.0.0.1"\n\t\tpassword "%s"\n\t}\n' "$1" "$2"
		shift 2
	done
	echo "}"
}
# Rewritten in place: the file keeps its owner and mode.
recv_conf "$HA" "$PWA" > "$ETC/auditdistd.conf"
mode_is "$ETC/auditdistd.conf" root:auditdist 640

# --- the receiver, started as its unit starts it -------------------------------
# unit_values KEY: the values of KEY= in the unit, one a line.
unit_values()
{
	sed -n "s/^$1=//p" "$UNIT"
}
RUSER=$(unit_values User | tail -n 1)
RGROUP=$(unit_values Group | tail -n 1)
[ -n "$RUSER" ] && [ -n "$RGROUP" ] || fail "$UNIT names no User= or Group="

# exec_line LINE [ROOT]: run one Exec*= line: a leading + runs it as root,
# otherwise as User=/Group= with the unit's UMask; a leading - ignores
# its failure.  $MAINPID is replaced.
exec_line()
{
	local line=$1 plus=0 minus=0 rc=0
	local -a w
	while :; do
		case $line in
		+*) plus=1; line=${line#?} ;;
		-*) minus=1; line=${line#?} ;;
		[@!:]*) line=${line#?} ;;
		*) break ;;
		esac
	done
	read -r -a w <<< "${line//\$MAINPID/${MAINPID:-}}"
	if [ "$plus" = 1 ]; then
		"${w[@]}" || rc=$?
	else
		(umask "$(unit_values UMask | tail -n 1)" &&
		    setpriv --reuid="$RUSER" --regid="$RGROUP" --init-groups "${w[@]}") || rc=$?
	fi
	[ "$rc" = 0 ] || [ "$minus" = 1 ] || fail "unit line '$1' failed with status $rc"
}

# The notification socket of Type=notify: what the daemon says, a line each.
notify_start()
{
	bg_start notify "$T/notify.err" python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o666)
with open(sys.argv[2], "a") as f:
	while True:
		f.write(s.recv(4096).decode(errors="replace").replace("\n", " ") + "\n"); f.flush()
' "$T/notify" "$T/notify.log"
	wait_for '[ -S "$T/notify" ]' 5 || fail "the notification socket did not appear"
}

notified()	# WORD: how many messages said WORD (READY=1, RELOADING=1, ...)
{
	grep -c "$1" "$T/notify.log" 2>/dev/null || :
}

# Without systemd: ExecStartPre= lines, then ExecStart= as the unit's user,
# in a clean environment, ready when it notifies READY=1.
emulated_start()
{
	local l rtdir mode wd nofile
	local -a w
	while IFS= read -r l; do
		exec_line "$l"
	done < <(unit_values ExecStartPre)
	rtdir=/run/$(unit_values RuntimeDirectory | tail -n 1)
	mode=$(unit_values RuntimeDirectoryMode | tail -n 1)
	install -d -o "$RUSER" -g "$RGROUP" -m "${mode:-0755}" "$rtdir"
	wd=$(unit_values WatchdogSec | tail -n 1)
	wd=${wd%s}
	nofile=$(unit_values LimitNOFILE | tail -n 1)
	notify_start
	read -r -a w <<< "$(unit_values ExecStart | tail -n 1)"
	bg_start recv "$T/recv.log" env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	    LANG=C HOME=/nonexistent USER="$RUSER" LOGNAME="$RUSER" \
	    NOTIFY_SOCKET="$T/notify" RUNTIME_DIRECTORY="$rtdir" \
	    WATCHDOG_USEC=$(( ${wd:-0} * 1000000 )) \
	    sh -c 'ulimit -n "$1"; umask "$2"; u=$3 g=$4; shift 4; export WATCHDOG_PID=$$
		exec setpriv --reuid="$u" --regid="$g" --init-groups --no-new-privs \
		    --bounding-set=-all --inh-caps=-all "$@"' sh \
	    "${nofile:-1024}" "$(unit_values UMask | tail -n 1)" "$RUSER" "$RGROUP" "${w[@]}" \
	    </dev/null
	MAINPID=$BG_PID
	wait_for '[ "$(notified READY=1)" -ge 1 ]' 15 || {
		show_tails "$T/recv.log"; fail "the receiver did not notify READY=1 within 15 s"; }
	[ "$(stat -c %U /proc/"$MAINPID")" = "$RUSER" ] ||
	    fail "the receiver runs as $(stat -c %U /proc/"$MAINPID"), not $RUSER"
}

# --- or under systemd: here, or in a container ----------------------------------
# The host's own /usr and /etc, read-only (so the package just installed and
# the user auditdist), on a tmpfs root; the trail directory written through;
# the host's network, so that senders here reach the receiver there.  Booted
# to basic.target: none of the host's enabled services (auditd) start.
MACHINE=adtest79-$$
NSPAWN_WHY=
CT=()
NSPAWN_RUN=
for d in /run/systemd/nspawn /run/systemd/nspawn-root; do
	[ -e "$d" ] || NSPAWN_RUN="$NSPAWN_RUN $d"
done

in_ct()		# COMMAND...: run it in the container, as root
{
	nsenter -t "$LEADER" -a "$@"
}

nspawn_boot()	# [OPTION...]: more options of systemd-nspawn
{
	local t0
	command -v systemd-nspawn >/dev/null ||
	    { NSPAWN_WHY="systemd-nspawn is not installed (Debian package systemd-container)"; return 1; }
	[ -x /lib/systemd/systemd ] || { NSPAWN_WHY="there is no /lib/systemd/systemd to boot"; return 1; }
	t0=$(now_ms)
	bg_start nspawn "$T/nspawn.log" systemd-nspawn --quiet --directory=/ --volatile=yes \
	    --bind-ro=/etc "$@" --resolv-conf=off --timezone=off --link-journal=no \
	    --register=no --keep-unit --machine="$MACHINE" --console=pipe \
	    --boot -- systemd.unit=basic.target
	on_exit nspawn_stop
	wait_for 'LEADER=$(child_pid "$(bg_pid nspawn)") && [ -n "$LEADER" ] &&
	    in_ct systemctl is-system-running | grep -Eqx "running|degraded"' 20 || {
		NSPAWN_WHY="systemd-nspawn did not boot within 20 s ($(tail -n 2 "$T/nspawn.log" | tr '\n' ' '))"
		nspawn_stop
		return 1
	}
	BOOT_MS=$(( $(now_ms) - t0 ))
	[ "$(in_ct systemctl is-system-running)" = running ] ||
	    info "in the container, failed: $(in_ct systemctl --failed --plain --no-legend | cut -d' ' -f1 | xargs)"
}

# At exit too: halt the container (SIGTERM), then what systemd-nspawn leaves
# in this host's /run when it is not a tmpfs.
nspawn_stop()
{
	local d
	if [ -n "$(bg_pid nspawn)" ]; then
		bg_stop nspawn TERM 15 || cleanup_failed "the container $MACHINE did not halt within 15 s (killed)"
	fi
	rm -rf "/run/systemd/nspawn/propagate/$MACHINE"
	for d in $NSPAWN_RUN; do
		rmdir "$d/propagate" "$d" 2>/dev/null || :
	done
}

# host_pid PID: the host's pid of the container's process PID.
host_pid()
{
	local p
	for p in $(descendants "$LEADER"); do
		if [ "$(awk '/^NSpid:/ { print $NF }' "/proc/$p/status" 2>/dev/null)" = "$1" ]; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# The receiver's messages, from the journal: in $T/recv.log.
journal_dump()
{
	"${CT[@]}" journalctl -u auditdistd --since "@$STARTED" --no-pager -q -o short-precise \
	    > "$T/recv.log" 2>&1 || :
}

recv_tails()	# [LOG...]: show them and the receiver's
{
	[ "$HOW" = emulated ] || journal_dump
	show_tails "$@" "$T/recv.log"
}

systemd_start()
{
	local inner
	STARTED=$(date +%s)
	"${CT[@]}" systemctl daemon-reload
	"${CT[@]}" systemctl start auditdistd || {
		recv_tails; fail "systemctl start auditdistd failed"; }
	inner=$("${CT[@]}" systemctl show -p MainPID --value auditdistd)
	if [ "$HOW" = systemd ]; then
		MAINPID=$inner
		on_exit 'systemctl stop auditdistd 2>/dev/null; systemctl reset-failed auditdistd 2>/dev/null'
	else
		MAINPID=$(host_pid "$inner") || fail "no process here is the container's auditdistd (pid $inner there)"
	fi
}

if [ "$(cat /proc/1/comm 2>/dev/null)" = systemd ] && [ -d /run/systemd/system ]; then
	HOW=systemd
	echo "issue 11: started under systemd (PID 1 is systemd here): systemctl start auditdistd"
	systemd_start
elif nspawn_boot --bind="$REMOTE"; then
	HOW=nspawn
	CT=(in_ct)
	echo "issue 11: started under systemd in a systemd-nspawn container ($("${CT[@]}" systemctl --version | head -n 1 | cut -d' ' -f1,2), the host's /usr and /etc read-only, $REMOTE written through, the host's network; booted in $BOOT_MS ms): systemctl start auditdistd there"
	systemd_start
else
	HOW=emulated
	echo "issue 11: not under systemd: PID 1 is '$(cat /proc/1/comm 2>/dev/null)', and $NSPAWN_WHY"
	echo "issue 11: so the unit's lines were run as it runs them: ExecStartPre '+' as root, ExecStart as $RUSER:$RGROUP (setpriv --init-groups, no_new_privs, no capabilities), UMask, LimitNOFILE, RuntimeDirectory, NOTIFY_SOCKET; not its namespaces (ProtectSystem=, PrivateUsers=, ...)"
	emulated_start
fi
wait_for "port_listening $PORT" 10 || fail "the receiver does not listen on port $PORT"
mode_is "$REMOTE" auditdist:auditdist 750
echo "issue 11: the receiver ($HOW, pid $MAINPID, user $(stat -c %U /proc/"$MAINPID")) read $ETC/auditdistd.conf and listens"

# --- a shipping sender, a host added, a reload -----------------------------------
sender()	# NAME PASSWORD INPUT RATE
{
	test_sender_conf "$T/$1.conf" "$1" "$T/spool-$1" "127.0.0.1:$PORT" "$FP" "$2" 5
	feed_input "$3" "$T/$1.feed"
	bg_start "$1" "$T/$1.log" "$FEED" -b 4194304 -t 200 -r "$4" \
	    -w "$(stat -c %s "$3"):$T/$1.go" "$T/$1.feed" "$PLUGIN" -f "$T/$1.conf"
}

trail_done()	# HOST INPUT
{
	local host=$1 want
	want=$(stat -c %s "$2")
	wait_for '[ "$(trail_size "$REMOTE/$host")" -ge "$want" ]' 60 || {
		recv_tails "$T/$host.log"
		fail "$host: its trail holds $(trail_size "$REMOTE/$host") of $want bytes after 60 s"; }
	trail_cat "$REMOTE/$host" > "$T/$host.trail"
	trail_compare "$T/$host.trail" "$2" || fail "$host: its trail differs from what it sent"
}

# About 6 s of shipping at 80 kB/s: the reload falls in the middle.
head -n 2000 "$SAMPLE" > "$T/a.in"
sender "$HA" "$PWA" "$T/a.in" 80000
wait_for '[ "$(trail_size "$REMOTE/$HA")" -gt 20000 ]' 20 || {
	recv_tails "$T/$HA.log"; fail "$HA: no trail in $REMOTE/$HA after 20 s"; }
[ "$(stat -c %U "$REMOTE/$HA/audit.log")" = "$RUSER" ] ||
    fail "$REMOTE/$HA/audit.log belongs to $(stat -c %U "$REMOTE/$HA/audit.log"), not $RUSER"
pid_alive "$MAINPID" || { recv_tails; fail "the receiver (pid $MAINPID) exited while $HA shipped"; }
echo "issue 11: sender $HA ships; its trail appears in $REMOTE/$HA (owned by auditdist)"

recv_conf "$HA" "$PWA" "$HB" "$PWB" > "$ETC/auditdistd.conf"
before=$(trail_size "$REMOTE/$HA")
if [ "$HOW" != emulated ]; then
	"${CT[@]}" systemctl reload auditdistd || fail "systemctl reload auditdistd failed"
else
	exec_line "$(unit_values ExecReload | tail -n 1)"
	wait_for '[ "$(notified READY=1)" -ge 2 ]' 10 || {
		show_tails "$T/recv.log"; fail "no READY=1 after the reload within 10 s"; }
	[ "$(notified RELOADING=1)" -ge 1 ] || fail "the reload did not notify RELOADING=1"
fi
[ "$(trail_size "$REMOTE/$HA")" -lt "$(stat -c %s "$T/a.in")" ] ||
    fail "$HA had sent everything before the reload: the test did not reload during a shipment"
head -n 500 "$SAMPLE" > "$T/b.in"
sender "$HB" "$PWB" "$T/b.in" 10000000
trail_done "$HB" "$T/b.in"
echo "issue 11: host $HB added to the file and reloaded (ExecReload, as $RUSER): $HB's trail is what it sent"
trail_done "$HA" "$T/a.in"
n=$(grep -c 'connected to' "$T/$HA.log" || :)
[ "$n" = 1 ] || { recv_tails "$T/$HA.log"; fail "$HA connected $n times: the reload disturbed it"; }
[ "$(pid_alive "$MAINPID" && echo y)" = y ] || fail "the receiver (pid $MAINPID) exited"
echo "issue 11: $HA kept its one connection across the reload ($before of $(stat -c %s "$T/a.in") bytes shipped then) and its trail is byte-identical"

# --- a clean stop ------------------------------------------------------------
if [ "$HOW" != emulated ]; then
	"${CT[@]}" systemctl stop auditdistd
	rc=$("${CT[@]}" systemctl show -p ExecMainStatus --value auditdistd)
	res=$("${CT[@]}" systemctl show -p Result --value auditdistd)
	[ "$res" = success ] || { recv_tails; fail "systemctl stop auditdistd: Result=$res"; }
	# Restart=on-failure would hide a crash that a sender survives.
	n=$("${CT[@]}" systemctl show -p NRestarts --value auditdistd)
	[ "$n" = 0 ] || { recv_tails; fail "systemd restarted auditdistd $n times: it failed while serving"; }
else
	bg_stop recv TERM 15 || fail "the receiver did not exit within 15 s of SIGTERM"
	rc=$BG_RC
	rm -rf "/run/$(unit_values RuntimeDirectory | tail -n 1)"
fi
[ "$rc" = 0 ] || { recv_tails; fail "the receiver exited with status $rc after SIGTERM"; }
sleep 0.3
[ -z "$(pgrep -u "$RUSER" -f '^/usr/sbin/auditdistd( |$)' || :)" ] || fail "auditdistd processes outlived the stop"
[ "$HOW" = emulated ] || journal_dump
log_sanity "$T/recv.log" auditdistd
for h in "$HA" "$HB"; do
	bg_stop "$h" TERM 15 || :
done
if [ "$HOW" = emulated ]; then
	echo "issue 11: SIGTERM: the receiver exited with status 0, nothing of it left running"
else
	# Its writers log too: their lines must reach the journal, not their
	# channels (as they would if syslog's socket were taken for one).
	"${CT[@]}" journalctl -u auditdistd --since "@$STARTED" -p warning --no-pager -q -o cat \
	    > "$T/recv.warn" || :
	[ ! -s "$T/recv.warn" ] || { show_tails "$T/recv.warn"; fail "the journal holds warnings or errors of auditdistd"; }
	grep -q "host $HA: new trail file" "$T/recv.log" || {
		recv_tails; fail "no line of $HA's writer in the journal"; }
	echo "issue 11: systemctl stop auditdistd: Result=success, status 0, no restart, nothing of it left running; its $(wc -l < "$T/recv.log") journal lines (its writers' included) hold no warning or error"
fi
[ "$HOW" != nspawn ] || nspawn_stop

# --- purge --------------------------------------------------------------------
dpkg --purge auditdistd > "$T/purge.log" 2>&1 || { cat "$T/purge.log"; fail "dpkg --purge auditdistd failed"; }
[ ! -e "$ETC" ] || fail "dpkg --purge left $ETC: $(ls -A "$ETC")"
[ ! -e /usr/sbin/auditdistd ] && [ ! -e "$UNIT" ] && [ ! -e "$RUNIT" ] ||
    fail "dpkg --purge left the program or a unit"
! dpkg-statoverride --list "$ETC" >/dev/null || fail "dpkg --purge left the statoverride of $ETC"
[ -s "$REMOTE/$HA/audit.log" ] || fail "dpkg --purge removed the trails in $REMOTE"
getent passwd auditdist >/dev/null || fail "dpkg --purge removed the user auditdist, which owns the trails kept"
echo "issue 11: dpkg --purge auditdistd removed $ETC (configuration, certificate, key) and its statoverrides; kept the trails in $REMOTE (audit evidence) and the user auditdist that owns them"
rm -rf "${REMOTE:?}/$HA" "${REMOTE:?}/$HB"

# An unused receiver: purge also removes its empty trail directory.
dpkg -i "$(debfile auditdistd)" > "$T/dpkg-i2.log" 2>&1 || { cat "$T/dpkg-i2.log"; fail "dpkg -i again"; }
dpkg --purge auditdistd > "$T/purge2.log" 2>&1 || { cat "$T/purge2.log"; fail "dpkg --purge again"; }
[ ! -e "$REMOTE" ] || [ "$REMOTE_BEFORE" = 1 ] || fail "dpkg --purge left the empty $REMOTE"

# --- the sender's unit, in a container -----------------------------------------
# audisp-dist.service as a client of auditd's af_unix plugin: the socket it
# reads is one in the container's /run that says what auditd would say
# (auditd itself cannot run there: the kernel's audit is not the
# container's), and it ships to a receiver from the build tree here.
fake_audispd()	# SOCKET INPUT: send INPUT to each client, then hold it
{
	local sock=$1
	bg_start audispd "$T/audispd.log" python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); os.chmod(sys.argv[1], 0o640); s.listen(4)
data = open(sys.argv[2], "rb").read()
while True:
	c, _ = s.accept()
	print("client", flush=True)
	c.sendall(data)
	if c.recv(1) == b"":
		c.close()
' "$1" "$2"
	wait_for '[ -S "$sock" ]' 5 || { show_tails "$T/audispd.log"; fail "the af_unix socket $sock did not appear"; }
}

sender_unit()
{
	local pw res n
	mkdir -m 0750 "$T/strails"
	pw=$(rand_password)
	printf 'timeout 5\nreceiver {\n\tlisten "tls://127.0.0.1:%s"\n\tdirectory "%s"\n' "$PORT" "$T/strails" > "$T/srecv.conf"
	printf '\tuser "%s"\n\tcertfile "%s"\n\tkeyfile "%s"\n' "$FWD_USER" "$T/recv.pem" "$T/recv.key" >> "$T/srecv.conf"
	printf '\thost %s {\n\t\tremote "tls://127.0.0.1"\n\t\tpassword "%s"\n\t}\n}\n' "$HS" "$pw" >> "$T/srecv.conf"
	chmod 0600 "$T/srecv.conf"
	bg_start srecv "$T/srecv.log" "$B/auditdistd" -f "$T/srecv.conf"
	wait_for "port_listening $PORT" 10 || { show_tails "$T/srecv.log"; fail "the build's auditdistd does not listen"; }
	# Rewritten in place: the file keeps its owner and mode.
	printf 'name "%s"\ntimeout 5\nsender {\n\tdirectory "/var/spool/audisp-dist"\n' "$HS" > /etc/audit/auditdistd.conf
	printf '\tsegment_age 1\n\tspool_min_free 0\n\tuser auditdist\n\thost recv {\n' >> /etc/audit/auditdistd.conf
	printf '\t\tremote "tls://127.0.0.1:%s"\n\t\tfingerprint "%s"\n\t\tpassword "%s"\n\t}\n}\n' \
	    "$PORT" "$FP" "$pw" >> /etc/audit/auditdistd.conf
	nspawn_boot || fail "systemd-nspawn booted once, not twice: $NSPAWN_WHY"
	head -n 1000 "$SAMPLE" > "$T/s.in"
	feed_input "$T/s.in" "$T/s.feed"
	fake_audispd "/proc/$LEADER/root$(in_ct readlink -f /var/run)/audispd_events" "$T/s.feed"
	STARTED=$(date +%s)
	in_ct systemctl start audisp-dist || {
		in_ct journalctl -u audisp-dist --no-pager; fail "systemctl start audisp-dist failed"; }
	# The trail is what the socket said, the closing EOE record included.
	wait_for '[ "$(trail_size "$T/strails/$HS")" -ge "$(stat -c %s "$T/s.feed")" ]' 60 || {
		in_ct journalctl -u audisp-dist --no-pager -q > "$T/s.journal"
		show_tails "$T/s.journal" "$T/srecv.log"
		fail "$HS: its trail holds $(trail_size "$T/strails/$HS") of $(stat -c %s "$T/s.feed") bytes after 60 s"; }
	trail_cat "$T/strails/$HS" > "$T/s.trail"
	trail_compare "$T/s.trail" "$T/s.feed" || fail "$HS: its trail differs from what auditd's socket said"
	in_ct systemctl stop audisp-dist
	res=$(in_ct systemctl show -p Result --value audisp-dist)
	n=$(in_ct systemctl show -p NRestarts --value audisp-dist)
	in_ct journalctl -u audisp-dist --since "@$STARTED" --no-pager -q -o short-precise > "$T/s.journal" || :
	[ "$res" = success ] && [ "$n" = 0 ] || {
		show_tails "$T/s.journal"; fail "systemctl stop audisp-dist: Result=$res, $n restarts"; }
	in_ct journalctl -u audisp-dist --since "@$STARTED" -p warning --no-pager -q -o cat > "$T/s.warn" || :
	[ ! -s "$T/s.warn" ] || { show_tails "$T/s.warn"; fail "the journal holds warnings or errors of audisp-dist"; }
	[ "$(grep -c client "$T/audispd.log")" = 1 ] || fail "audisp-dist connected to the af_unix socket $(grep -c client "$T/audispd.log") times"
	echo "issue 11: audisp-dist.service under systemd in the container: it read the af_unix socket once, its trail at a receiver here is byte-identical; systemctl stop: Result=success, no restart, $(wc -l < "$T/s.journal") journal lines without a warning"
	nspawn_stop
	bg_stop audispd TERM 5 || :
	bg_stop srecv TERM 15 || fail "the build's auditdistd did not exit within 15 s of SIGTERM"
}

# --- the sender's package --------------------------------------------------------
if ! dpkg-query -W -f='${db:Status-Status}' auditd 2>/dev/null | grep -qx installed; then
	info "auditd is not installed: the sender's package is not tried"
elif [ "$SPOOL_BEFORE" = 1 ]; then
	info "/var/spool/audisp-dist is here (make install's, or another audisp-dist's), which the purge of audisp-dist may remove: the sender's package is not tried"
else
	dpkg -i "$(debfile audisp-dist)" > "$T/dpkg-s.log" 2>&1 || {
		cat "$T/dpkg-s.log"; fail "dpkg -i of the sender's package failed"; }
	mode_is /usr/sbin/audisp-dist root:root 755
	mode_is /usr/sbin/audisp-dist-forwarder root:root 755
	mode_is /etc/audit/plugins.d/audisp-dist.conf root:root 640
	mode_is /etc/audit/rules.d/20-audisp-dist.rules root:root 640
	mode_is /etc/audit/auditdistd.conf root:root 600
	mode_is /lib/systemd/system/audisp-dist.service root:root 644
	grep -qx 'active = no' /etc/audit/plugins.d/audisp-dist.conf ||
	    fail "the plugins.d file is not inactive: $(grep active /etc/audit/plugins.d/audisp-dist.conf)"
	[ ! -e /etc/systemd/system/multi-user.target.wants/audisp-dist.service ] ||
	    fail "dpkg -i enabled audisp-dist.service"
	getent passwd auditdist >/dev/null || fail "dpkg -i audisp-dist did not create the user auditdist"
	echo "issue 11: dpkg -i audisp-dist: programs 0755, plugins.d file active = no (0640), rules 0640, /etc/audit/auditdistd.conf 0600, the unit not enabled"
	[ "$HOW" != nspawn ] || sender_unit
	dpkg --purge audisp-dist > "$T/purge-s.log" 2>&1 || {
		cat "$T/purge-s.log"; fail "dpkg --purge audisp-dist failed"; }
	[ ! -e /etc/audit/auditdistd.conf ] && [ ! -e /etc/audit/plugins.d/audisp-dist.conf ] ||
	    fail "dpkg --purge audisp-dist left its configuration"
	if [ "$REMOTE_BEFORE" = 1 ]; then
		info "not checked: the user's removal ($REMOTE was here before)"
	elif ! getent passwd auditdist >/dev/null; then
		echo "issue 11: dpkg --purge audisp-dist, the last of the two: the user auditdist is removed (put back at exit if it was here before)"
	elif pgrep -u auditdist >/dev/null; then
		info "the user auditdist stays: processes of other programs run as it ($(pgrep -u auditdist | head -3 | xargs))"
	else
		fail "the user auditdist outlived the purge of both packages"
	fi
fi
dpkg --purge auditdist-common > "$T/purge-c.log" 2>&1 || { cat "$T/purge-c.log"; fail "dpkg --purge auditdist-common"; }
