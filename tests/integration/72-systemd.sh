#!/bin/bash
# The systemd units as make install installs them, checked offline (no
# running systemd is needed): systemd-analyze security gives each unit's
# exposure level, printed here, and the receiver's must be 2.0 or lower;
# systemd-analyze verify accepts both; the paths and options the units
# use are those the programs and their defaults use.
. tests/lib.sh
need_cmd make systemd-analyze
deadline 120

RECEIVER_MAX=2.0
root=$T/root

out=$(make -s B="$B" DESTDIR="$root" install 2>&1) ||
    fail "make install DESTDIR=$root: $(printf '%s\n' "$out" | tail -n 20)"

# Where make install put the units (SYSTEMDUNITDIR, under DESTDIR).
unitdir=
for u in auditdistd.service auditdistd-reader.service audisp-dist.service; do
	f=$(find "$root" -path "*/systemd/system/$u" -type f)
	[ -n "$f" ] || fail "make install did not install $u"
	[ "$(printf '%s\n' "$f" | wc -l)" -eq 1 ] || fail "$u installed twice: $f"
	cmp -s "$f" "systemd/$u" || fail "$f differs from systemd/$u"
	[ "$(stat -c %a "$f")" = 644 ] || fail "$f has mode $(stat -c %a "$f"), not 0644"
	[ -z "$unitdir" ] || [ "$unitdir" = "${f%/*}" ] ||
	    fail "the units went to two directories: $unitdir and ${f%/*}"
	unitdir=${f%/*}
done
info "units installed in ${unitdir#"$root"}"

# unit_value FILE KEY: the last KEY= line's value (later lines override).
unit_value()
{
	sed -n "s/^$2=//p" "$1" | tail -n 1
}

# security UNIT: analyze the installed UNIT offline; sets LEVEL to
# "LEVEL WORD" (e.g. "1.1 OK") and COUNTED to the settings that add to it.
# Fails on any complaint about the file and when there is no level.
security()
{
	local u=$1 res
	res=$(systemd-analyze security --offline=true --root="$root" --no-pager \
	    "$u" 2>"$T/$u.err" </dev/null)
	[ ! -s "$T/$u.err" ] ||
	    fail "systemd-analyze security $u complained: $(head -n 5 "$T/$u.err")"
	LEVEL=$(printf '%s\n' "$res" | sed -n \
	    "s/^.*Overall exposure level for $u: \([0-9][0-9]*\.[0-9]\) \([A-Z][A-Z]*\).*$/\1 \2/p")
	[ -n "$LEVEL" ] || fail "no exposure level for $u in: $(printf '%s\n' "$res" | tail -n 3)"
	# Counted lines start with "- " (or a cross, outside the C locale).
	COUNTED=$(printf '%s\n' "$res" | sed -n 's/^\(- \|\xe2\x9c\x97 \)\([^ ]*\) .*/\2/p' | tr '\n' ' ')
	COUNTED=${COUNTED% }
}

# tenths 1.5 -> 15
tenths()
{
	echo $((10#${1%.*} * 10 + 10#${1#*.}))
}

security audisp-dist.service
info "audisp-dist.service: exposure $LEVEL; counted: $COUNTED"
security auditdistd.service
info "auditdistd.service: exposure $LEVEL (at most $RECEIVER_MAX); counted: $COUNTED"
[ "$(tenths "${LEVEL% *}")" -le "$(tenths "$RECEIVER_MAX")" ] ||
    fail "auditdistd.service: exposure ${LEVEL% *} is above $RECEIVER_MAX"
# systemd's own comparison must agree (--threshold is in tenths).
systemd-analyze security --offline=true --root="$root" --no-pager \
    --threshold="$(tenths "$RECEIVER_MAX")" auditdistd.service >/dev/null 2>&1 </dev/null ||
    fail "systemd-analyze security --threshold=$(tenths "$RECEIVER_MAX") refuses auditdistd.service"
security auditdistd-reader.service
info "auditdistd-reader.service: exposure $LEVEL (at most $RECEIVER_MAX); counted: $COUNTED"
[ "$(tenths "${LEVEL% *}")" -le "$(tenths "$RECEIVER_MAX")" ] ||
    fail "auditdistd-reader.service: exposure ${LEVEL% *} is above $RECEIVER_MAX"

# verify checks directives, dependencies, that the commands are
# executable and that the Documentation= pages exist.  The installed
# programs stand in for /usr/sbin, the installed man pages for the
# system's.  Some containers lack the units every service depends on:
# probe with a trivial unit first.
mkdir -p "$T/verify/probe" || fail "mkdir $T/verify"
printf '[Service]\nType=oneshot\nExecStart=/bin/true\n' > "$T/verify/probe/adtest-probe.service"
if ! why=$(systemd-analyze verify --man=no "$T/verify/probe/adtest-probe.service" 2>&1 </dev/null) ||
    [ -n "$why" ]; then
	info "systemd-analyze verify skipped: it fails on a trivial unit here: $(printf '%s\n' "$why" | head -n 2)"
else
	mandir=$(find "$root" -path '*/man8/auditdistd.8' -type f)
	[ -n "$mandir" ] || fail "make install did not install auditdistd.8"
	mandir=${mandir%/man8/*}
	for u in auditdistd.service auditdistd-reader.service audisp-dist.service; do
		sed "s|/usr/sbin/|$root/usr/sbin/|g" "$unitdir/$u" > "$T/verify/$u"
		grep -q "^ExecStart=$root/usr/sbin/" "$T/verify/$u" ||
		    fail "$u: ExecStart= does not run a program from /usr/sbin"
		if ! why=$(MANPATH=$mandir systemd-analyze verify "$T/verify/$u" 2>&1 </dev/null) ||
		    [ -n "$why" ]; then
			fail "systemd-analyze verify $u: $why"
		fi
	done
	info "systemd-analyze verify: the three units clean"
fi

# The units and the programs agree on paths and conventions.
r=$unitdir/auditdistd.service
rr=$unitdir/auditdistd-reader.service
p=$unitdir/audisp-dist.service
trails=$(sed -n 's/^#define CONF_DEFAULT_TRAILS[[:space:]]*"\(.*\)"$/\1/p' common/conf.h)
spool=$(sed -n 's/^#define CONF_DEFAULT_SPOOL[[:space:]]*"\(.*\)"$/\1/p' common/conf.h)
[ -n "$trails" ] || fail "no CONF_DEFAULT_TRAILS in common/conf.h"
[ -n "$spool" ] || fail "no CONF_DEFAULT_SPOOL in common/conf.h"
[ "$(unit_value "$r" Type)" = notify ] || fail "auditdistd.service: not Type=notify"
[ "$(unit_value "$r" User)" = auditdist ] || fail "auditdistd.service: not User=auditdist"
[ "$(unit_value "$r" ReadWritePaths)" = "-$trails" ] ||
    fail "auditdistd.service: ReadWritePaths= is not -$trails (the default trail directory; \"-\" lets ExecStartPre= create it)"
grep -q "^ExecStartPre=+.* $trails\$" "$r" ||
    fail "auditdistd.service: no ExecStartPre= that creates $trails"
[ "$(unit_value "$p" ReadWritePaths)" = "-$spool" ] ||
    fail "audisp-dist.service: ReadWritePaths= is not -$spool (the default spool; \"-\" lets ExecStartPre= create it)"
grep -q "^ExecStartPre=+.* $spool\$" "$p" ||
    fail "audisp-dist.service: no ExecStartPre= that creates $spool"
# The reader: the receiver's hardening, -R, a read_into it may write.
[ "$(unit_value "$rr" ExecStart)" = "/usr/sbin/auditdistd -R" ] ||
    fail "auditdistd-reader.service: ExecStart= is not /usr/sbin/auditdistd -R"
[ "$(unit_value "$rr" User)" = auditdist ] || fail "auditdistd-reader.service: not User=auditdist"
rdir=$(unit_value "$rr" ReadWritePaths)
grep -q "^ExecStartPre=+.* ${rdir#-}\$" "$rr" ||
    fail "auditdistd-reader.service: no ExecStartPre= that creates ${rdir#-}, its ReadWritePaths="
[ "$(unit_value "$rr" RestartPreventExitStatus)" = "$(unit_value "$r" RestartPreventExitStatus)" ] ||
    fail "auditdistd-reader.service: RestartPreventExitStatus= is not the receiver's"
for k in CapabilityBoundingSet NoNewPrivileges ProtectSystem PrivateUsers \
    RestrictAddressFamilies MemoryDenyWriteExecute SystemCallArchitectures; do
	[ "$(unit_value "$rr" "$k")" = "$(unit_value "$r" "$k")" ] ||
	    fail "auditdistd-reader.service: $k= is not the receiver's"
done
for f in "$r" "$rr" "$p"; do
	# 78 is EX_CONFIG, what both programs exit with on a bad configuration.
	unit_value "$f" RestartPreventExitStatus | tr ' ' '\n' | grep -qx 78 ||
	    fail "${f##*/}: RestartPreventExitStatus= lacks 78 (EX_CONFIG)"
done

# audisp-dist accepts the options its unit gives it: the same command
# line with -n and a configuration of ours in place of the system's.
read -r -a argv <<< "$(unit_value "$p" ExecStart)"
[ "${argv[0]}" = /usr/sbin/audisp-dist ] || fail "audisp-dist.service runs ${argv[0]}"
[ "${argv[${#argv[@]} - 1]}" = /etc/audit/auditdistd.conf ] ||
    fail "audisp-dist.service: the configuration is not the last argument: ${argv[*]}"
printf 'sender {\n\tdirectory "%s"\n}\n' "$T/spool" > "$T/sender.conf"
chmod 0600 "$T/sender.conf"
argv[0]=$root/usr/sbin/audisp-dist
argv[${#argv[@]} - 1]=$T/sender.conf
out=$("${argv[0]}" -n "${argv[@]:1}" 2>&1) || fail "audisp-dist.service's command line with -n: $out"
[ "$out" = "configuration OK" ] || fail "audisp-dist.service's command line with -n said: $out"

exit 0
