#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Bad input, bad configuration, a spool in use.
#
# Streams: binary garbage between records, NUL bytes inside records,
# over-long lines (200 KiB; 1 MiB in the middle and, without a newline, at
# the end), an empty stream, a last line without a newline.  Each is fed
# twice, as a regular file on stdin (reads as large as the plugin asks) and
# through a socketpair as auditd does; each time audisp-dist must exit 0
# without a signal or a sanitizer report, the spool must hold exactly the
# valid records (computed here independently: lines starting with type= or
# node=, without NUL, at most 128 KiB), every segment must end with a
# newline, and the status file's counters and the first "rejected" log line
# must match.  A sanitizer build ($B/san/audisp-dist, or SAN_PLUGIN) is used
# as well when there is one.
#
# Configuration mistakes, with -n and without: exit 78 (EX_CONFIG) and a
# message naming FILE:LINE; a valid file prints "configuration OK".
# A spool used by a running plugin: a second one exits non-zero saying so
# and leaves the spool alone; the first carries on unharmed.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
SAN_PLUGIN=${SAN_PLUGIN:-$B/san/audisp-dist}
EX_CONFIG=78

need_cmd perl cmp head stat
[ -x "$PLUGIN" ] || fail "no $PLUGIN: build it first (make)"
[ -x "$FEED" ] || fail "no $FEED: build it first (make $FEED)"
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE (scripts/capture-sample.sh makes it)"
deadline 170
t0=$(now_ms)

plugins=("$PLUGIN")
if [ -x "$SAN_PLUGIN" ]; then
	plugins+=("$SAN_PLUGIN")
else
	info "no sanitizer build at $SAN_PLUGIN: running $PLUGIN only"
fi

problems=()
bad()
{
	printf 'BAD: %s\n' "$*"
	problems+=("$*")
}

# --- the streams ------------------------------------------------------------
D=$T/streams
mkdir "$D"
sample_stream "$SAMPLE" 400000 "$D/records"
recs()	# FIRST COUNT: COUNT records of the sample stream from line FIRST
{
	sed -n "$1,$(($1 + $2 - 1))p;$(($1 + $2 - 1))q" "$D/records"
}
long_line()	# PREFIX BYTES NEWLINE(0/1): a line of BYTES (newline included)
{
	perl -e 'my ($p, $n, $nl) = @ARGV; print $p, "a" x ($n - length($p) - $nl), $nl ? "\n" : ""' "$@"
}

# Random bytes, from a seed so that a failure can be replayed.
SEED=${ADTEST_SEED:-$$}
info "garbage seed $SEED (ADTEST_SEED=$SEED replays it)"
{ recs 1 200
  perl -e 'srand($ARGV[0]); print pack("C*", map { int(rand(256)) } 1 .. 1048576)' "$SEED"
  recs 201 200; } > "$D/garbage"
recs 1 600 | perl -ne '
	# NUL in the middle, at the start, just before the newline.
	if ($. % 50 == 7) { substr($_, length($_) / 2, 0) = "\0" }
	elsif ($. % 50 == 23) { $_ = "\0$_" }
	elsif ($. % 50 == 41) { substr($_, -1, 0) = "\0" }
	print' > "$D/nul"
{
	recs 1 100
	long_line 'type=EXECVE msg=audit(1795315999.000:1): a0=' 102400 1	# 100 KiB: fine
	recs 101 100
	long_line 'type=EXECVE msg=audit(1795315999.000:2): a0=' 204800 1	# 200 KiB: too long
	recs 201 100
	long_line 'type=EXECVE msg=audit(1795315999.000:3): a0=' 1048576 1	# 1 MiB
	recs 301 100
	head -c 1048576 /dev/zero | tr '\0' 'b'; echo			# 1 MiB, no prefix
	recs 401 100
} > "$D/long-middle"
{ recs 1 300; long_line 'type=EXECVE msg=audit(1795315999.000:4): a0=' 1048576 0; } > "$D/long-end"
: > "$D/empty"
{ recs 1 300; recs 301 1 | head -c -1; } > "$D/no-newline"
{ printf '\n\n'; recs 1 50; printf 'type\ntype=\nnode=\n \n'; recs 51 50; printf 'x'; } > "$D/odd-lines"
cases=(garbage nul long-middle long-end empty no-newline odd-lines)

# expected STREAM: the valid lines on stdout; on stderr "VALID REJECTED
# FIRST_OFFSET FIRST_LENGTH" (the first rejected line, or "- -").
expected()
{
	perl -e '
		local $/; my $s = <STDIN>; $s = "" unless defined $s;
		my ($ok, $rej, $pos, $out, $first) = (0, 0, 0, "", "- -");
		while ($s =~ /\G([^\n]*\n)/gc) {
			my $l = $1;
			if ($l =~ /^(type|node)=/ && $l !~ /\0/ && length($l) <= 131072) {
				$out .= $l; $ok++;
			} else {
				$first = "$pos " . length($l) if !$rej++;
			}
			$pos += length($l);
		}
		if ($pos < length($s)) {
			$first = "$pos " . (length($s) - $pos) if !$rej++;
		}
		print $out;
		print STDERR "$ok $rej $first\n";' < "$1"
}

check_run()	# WHAT LOG RC SPOOL STREAM
{
	local what=$1 log=$2 rc=$3 spool=$4 stream=$5 st=$4/status
	local -a segs
	local s v kv ok rej foff flen vbytes
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error|invariant failed' "$log"; then
		sed 's/^/  | /' "$log" | head -30
		bad "$what: sanitizer or invariant report (log above)"
	fi
	[ "$rc" = 0 ] || { bad "$what: exit status $rc (expected 0)"; return; }
	mapfile -t segs < <(spool_segments "$spool")
	for s in "${segs[@]}"; do
		if [ -s "$s" ] && [ "$(tail -c 1 "$s" | od -An -tx1 | tr -d ' ')" != 0a ]; then
			bad "$what: segment ${s##*/} does not end with a newline"
		fi
	done
	read -r ok rej foff flen < "$D/$stream.counts"
	vbytes=$(stat -c %s "$D/$stream.valid")
	if ! cat /dev/null "${segs[@]}" | cmp -s - "$D/$stream.valid"; then
		bad "$what: the spool ($(cat /dev/null "${segs[@]}" | wc -l) lines) is not the $ok valid records"
	fi
	[ -f "$st" ] || { bad "$what: no status file"; return; }
	for kv in state=stopped records_in="$ok" records_spooled="$ok" \
	    bytes_spooled="$vbytes" rejected_records="$rej" \
	    rejected_bytes=$(( $(stat -c %s "$D/$stream") - vbytes )) \
	    dropped_records=0; do
		v=$(status_value "$st" "${kv%%=*}")
		[ "$v" = "${kv#*=}" ] || bad "$what: status says ${kv%%=*}=${v:-(none)}, expected ${kv#*=}"
	done
	if [ "$foff" != - ]; then
		grep -q "input: rejected $flen bytes at input offset $foff: " "$log" ||
		    bad "$what: the first rejected line ($flen bytes at offset $foff) is not logged so; log says: $(grep -m1 'input: rejected' "$log" || echo nothing)"
	fi
	[ "$(grep -c 'input: rejected' "$log" || :)" -le 10 ] ||
	    bad "$what: more than 10 'rejected' log lines"
}

conf_for()	# SPOOL CONF
{
	printf 'sender {\n\tdirectory "%s"\n\tsegment_size 64K\n\tflush none\n\tspool_max_size 0\n\tspool_min_free 0\n\tstatus_interval 1\n}\n' "$1" > "$2"
	chmod 0600 "$2"
}

n=0
for c in "${cases[@]}"; do
	expected "$D/$c" > "$D/$c.valid" 2> "$D/$c.counts"
	read -r ok rej _ < "$D/$c.counts"
	info "$c: $(stat -c %s "$D/$c") bytes, $ok valid records, $rej rejected"
	for p in "${plugins[@]}"; do
		for how in file socket; do
			n=$((n + 1))
			w=$T/run$n
			mkdir -p "$w" && mkdir -m 0700 "$w/spool"
			conf_for "$w/spool" "$w/conf"
			rc=0
			if [ "$how" = file ]; then
				timeout 60 "$p" -f "$w/conf" < "$D/$c" > /dev/null 2> "$w/log" || rc=$?
			else
				"$FEED" -t 60 "$D/$c" "$p" -f "$w/conf" > /dev/null 2> "$w/log" || rc=$?
			fi
			check_run "$c (${p##*/} $(basename "$(dirname "$p")"), $how)" "$w/log" "$rc" "$w/spool" "$c"
		done
	done
done
t1=$(now_ms)
info "bad streams: $n runs in $(( (t1 - t0) / 1000 )) s"

# --- configuration mistakes -----------------------------------------------
C=$T/conf
mkdir "$C"
cspool=$C/spool-never-made
good()	# the valid file, line by line
{
	printf 'sender {\n'				# 1
	printf '\tdirectory "%s"\n' "$cspool"		# 2
	printf '\tsegment_size 64K\n'			# 3
	printf '\tflush none\n'				# 4
	printf '\tspool_max_size 1M\n'			# 5
	printf '\tspool_min_free 0\n'			# 6
	printf '\tspool_full_action drop_new\n'		# 7
	printf '\tstatus_interval 1\n'			# 8
	printf '}\n'					# 9
}
with_host()
{
	good | sed '$d'
	printf '\thost central {\n'			# 9
	printf '\t\tremote "tls://192.0.2.1:7878"\n'	# 10
	printf '\t\tfingerprint "SHA256=8F:0A:FC:8A:3D:09:80:AF:D9:AA:38:CC:8A:86:53:E6:8F:B6:1C:55:30:14:D7:F9:AA:8B:3E:73:CD:F5:76:2B"\n'
	printf '\t\tpassword "Sekr1tPassw0rd"\n'	# 12
	printf '\t}\n}\n'
}

# mistake NAME LINES MODE: LINES is a regexp of the line numbers that may
# be named (the statement's, or where the parser noticed).
mistake()
{
	local name=$1 lines=$2 mode=$3 f=$C/$1.conf out rc
	chmod "$mode" "$f"
	rc=0
	out=$(timeout 10 "$PLUGIN" -n "$f" 2>&1) || rc=$?
	[ "$rc" = "$EX_CONFIG" ] || bad "config $name: -n exits $rc, expected $EX_CONFIG ($out)"
	printf '%s\n' "$out" | grep -qE "$f:($lines):" ||
	    bad "config $name: -n says \"$out\", not naming $f:LINE (line ${lines//|/ or })"
	case $out in *Sekr1t*) bad "config $name: the message shows the password" ;; esac
	info "config $name: $out"
	# Without -n, in the foreground (the message on stderr) and as auditd
	# runs it (to syslog): the same refusal, and nothing created.
	rc=0
	out=$(timeout 10 "$PLUGIN" -f "$f" < /dev/null 2>&1) || rc=$?
	[ "$rc" = "$EX_CONFIG" ] || bad "config $name: -f exits $rc, expected $EX_CONFIG ($out)"
	printf '%s\n' "$out" | grep -qE "$f:($lines):" ||
	    bad "config $name: -f says \"$out\", not naming $f:LINE"
	rc=0
	timeout 10 "$PLUGIN" "$f" < /dev/null > /dev/null 2>&1 || rc=$?
	[ "$rc" = "$EX_CONFIG" ] || bad "config $name: without -f exits $rc, expected $EX_CONFIG"
	[ ! -e "$cspool" ] || { bad "config $name: the spool directory was created"; rm -rf "$cspool"; }
}

good > "$C/good.conf"
chmod 0600 "$C/good.conf"
out=$(timeout 10 "$PLUGIN" -n "$C/good.conf" 2>&1) || bad "config good: -n failed: $out"
[ "$out" = "configuration OK" ] || bad "config good: -n says \"$out\""
with_host > "$C/host.conf"
chmod 0600 "$C/host.conf"
out=$(timeout 10 "$PLUGIN" -n "$C/host.conf" 2>&1) || bad "config with a host (mode 0600): -n failed: $out"
[ "$out" = "configuration OK" ] || bad "config with a host (mode 0600): -n says \"$out\""
[ ! -e "$cspool" ] || bad "config good: -n created the spool directory"

good | sed 's/^\tflush none$/\tflsuh none/' > "$C/unknown-keyword.conf"
mistake unknown-keyword 4 0600
good | sed 's/segment_size 64K/segment_size 64Q/' > "$C/bad-size.conf"
mistake bad-size 3 0600
good | sed 's/spool_max_size 1M/spool_max_size -1/' > "$C/negative-size.conf"
mistake negative-size 5 0600
good | sed '$d' > "$C/missing-brace.conf"
mistake missing-brace '1|9' 0600
good | sed 's|^\tdirectory "\(.*\)"$|\tdirectory "\1|' > "$C/unterminated-string.conf"
mistake unterminated-string 2 0600
good | sed 's|^\tdirectory ".*"$|\tdirectory "spool"|' > "$C/relative-path.conf"
mistake relative-path 2 0600
good | sed 's/^\tflush none$/\tflush none\n\tsegment_size 128K/' > "$C/duplicate-keyword.conf"
mistake duplicate-keyword 5 0600
with_host > "$C/group-readable.conf"
# Readable by a group that is neither ours nor the forwarder user's.
chown root:4242 "$C/group-readable.conf"
mistake group-readable '1[0-4]' 0640

# --- a spool in use -------------------------------------------------------
U=$T/inuse
mkdir -p "$U" && mkdir -m 0700 "$U/spool"
conf_for "$U/spool" "$U/conf"
recs 1 1000 > "$U/in"
half=$(head -n 500 "$U/in" | wc -c)
"$FEED" -t 60 -w "$half:$U/go" -p "$U/progress" "$U/in" "$PLUGIN" -f "$U/conf" \
    > /dev/null 2> "$U/log1" &
first=$!
on_exit "kill $first 2>/dev/null"
wait_for '[ "$(status_value "$U/spool/status" records_spooled)" = 500 ]' 10 ||
    fail "in use: the first plugin did not spool 500 records within 10 s"
snap()
{
	(cd "$U/spool" && for f in *; do
		[ "$f" = status ] || printf '%s %s\n' "$f" "$(stat -c '%s %Y %i' "$f")"
	done; cksum ./*.open ./*.seg 2>/dev/null)
}
before=$(snap)
lines_before=$(wc -l < "$U/spool/status")
rc2=0
out=$(recs 1001 10 | timeout 10 "$PLUGIN" -f "$U/conf" 2>&1) || rc2=$?
[ "$rc2" != 0 ] || bad "in use: a second plugin on the same spool exited 0"
[ "$rc2" != 124 ] || bad "in use: a second plugin on the same spool hung"
case $out in
*"in use"*) ;;
*) bad "in use: the second plugin did not say the spool is in use: $out" ;;
esac
[ "$(snap)" = "$before" ] || bad "in use: the second plugin changed the spool"
[ "$(wc -l < "$U/spool/status")" = "$lines_before" ] || bad "in use: the second plugin wrote to the status file"
pid_alive "$first" || bad "in use: the first plugin died"
touch "$U/go"
rc=0
wait "$first" || rc=$?
[ "$rc" = 0 ] || bad "in use: the first plugin exited with $rc"
mapfile -t segs < <(spool_segments "$U/spool")
cat "${segs[@]}" | cmp -s - "$U/in" || bad "in use: the first plugin's spool is not its input"
[ "$(status_value "$U/spool/status" records_spooled)" = 1000 ] ||
    bad "in use: the first plugin's status says records_spooled=$(status_value "$U/spool/status" records_spooled), expected 1000"
info "in use: second plugin exited $rc2: $out"

t2=$(now_ms)
if [ "${#problems[@]}" -gt 0 ]; then
	fail "${#problems[@]} problem(s), each shown above as BAD"
fi
echo "bad input: $n runs on ${#cases[@]} bad streams, 8 config mistakes, a spool in use: all refused or survived as specified ($(( (t2 - t0) / 1000 )) s)"
