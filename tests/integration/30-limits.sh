#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Spool limits: each spool_full_action with spool_max_size 256K, 64K
# segments and a recorded stream (the real sample, repeated) about 8 times
# larger, fed through a socketpair as auditd does.  What the status file's
# last line says must equal what happened, counted from the files:
#   drop_new  the spool stays under the limit; the records it holds are in
#	      input order, and while it is full they are the input's first
#	      ones (nothing kept after a dropped record); dropped = input - spooled; once room is made by
#	      hand the episode ends with a log line giving the same drop count
#   drop_old  the oldest segments go, the newest stay; dropped = records in
#	      the deleted segments = input - spool; a segment someone holds a
#	      shared flock on is not deleted; the spool stays under the limit
#   block     the plugin stops reading (the feeder is stuck), state=blocked,
#	      the spool stays under the limit, nothing is dropped; moving the
#	      closed segments away by hand lets it resume within seconds; in
#	      the end the moved files plus the spool are the input, byte for byte
#   syslog    it writes past the limit, warns once, drops nothing
#   exec      it runs the program once, with the argument spool_max_size
# Every failed check is listed before the test fails.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
LIMIT=262144	# spool_max_size 256K
SEG=64K

need_cmd perl cmp flock stat
[ -x "$PLUGIN" ] || fail "no $PLUGIN: build it first (make)"
[ -x "$FEED" ] || fail "no $FEED: build it first (make $FEED)"
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE (scripts/capture-sample.sh makes it)"
deadline 170
t0=$(now_ms)

input=$T/input
sample_stream "$SAMPLE" 2000000 "$input"
SIZE=$(stat -c %s "$input")
N=$(wc -l < "$input")
info "input: $SIZE bytes, $N records; spool_max_size $LIMIT, segment_size $SEG"

problems=()
bad()
{
	printf 'BAD: %s\n' "$*"
	problems+=("$*")
}

# setup NAME ACTION: $T/NAME/{spool,conf}; sets dir, spool, conf, st, log.
setup()
{
	dir=$T/$1 spool=$T/$1/spool conf=$T/$1/conf st=$T/$1/spool/status log=$T/$1/log
	mkdir -p "$dir" && mkdir -m 0700 "$spool"
	printf 'sender {\n\tdirectory "%s"\n\tsegment_size %s\n\tsegment_age 60\n\tspool_max_size %s\n\tspool_min_free 0\n\tspool_full_action %s\n\tstatus_interval 1\n}\n' \
	    "$spool" "$SEG" "$LIMIT" "$2" > "$conf"
	chmod 0600 "$conf"
	out=$("$PLUGIN" -n "$conf" 2>&1) || fail "$1: audisp-dist -n: $out"
}

# Small socket buffer: reads of at most ~64K, as from a busy auditd.
run_feed()	# INPUT [FEED OPTIONS...]: to EOF, exit 0 expected
{
	local in=$1 rc=0
	shift
	"$FEED" -b 32768 -t 60 "$@" "$in" "$PLUGIN" -f "$conf" > /dev/null \
	    2>> "$log" || rc=$?
	no_internal_errors
	[ "$rc" = 0 ] || { sed 's/^/  | /' "$log" | tail -15; fail "audisp-dist exited with status $rc (log $log)"; }
}

no_internal_errors()
{
	if grep -qE 'invariant failed|AddressSanitizer|runtime error' "$log"; then
		sed 's/^/  | /' "$log" | grep -vE 'deleted the oldest' | head -20
		fail "the plugin reported an internal error"
	fi
}

seg_list()	# DIR...: segment files of these directories, in name order
{
	local d
	for d in "$@"; do
		spool_segments "$d"
	done | awk -F/ '{ print $NF " " $0 }' | sort | cut -d' ' -f2-
}

total_bytes()	# FILES...
{
	[ $# -gt 0 ] || { echo 0; return; }
	stat -c %s "$@" | awk '{ s += $1 } END { print s + 0 }'
}

total_lines()	# FILES...
{
	[ $# -gt 0 ] || { echo 0; return; }
	cat "$@" | wc -l
}

# expect_status WHAT KEY=VALUE...: the status file's last line says so.
expect_status()
{
	local what=$1 kv v
	shift
	for kv in "$@"; do
		v=$(status_value "$st" "${kv%%=*}")
		[ "$v" = "${kv#*=}" ] ||
		    bad "$what: status says ${kv%%=*}=${v:-(none)}, the files say ${kv#*=}"
	done
}

# The status file's view of the spool must match the directory.
expect_status_spool()	# WHAT
{
	local -a s
	mapfile -t s < <(spool_segments "$spool")
	expect_status "$1" segments="${#s[@]}" spool_bytes="$(total_bytes "${s[@]}")"
}

# The lines of FILES, in order, must be lines of the input in input order
# (sample_stream makes every input line unique).
in_input_order()	# FILES...
{
	cat "$@" | perl -e '
		open(my $in, "<", $ARGV[0]) or die;
		my (%at, $i);
		$at{$_} = ++$i while <$in>;
		my ($prev, $n) = (0, 0);
		while (<STDIN>) {
			$n++;
			my $j = $at{$_} or die "spooled line $n is not an input line\n";
			$j > $prev or die "spooled line $n (input line $j) is out of order\n";
			$prev = $j;
		}' "$input"
}

lines_bytes_at()	# LINES: byte offset after the first LINES input lines
{
	head -n "$1" "$input" | wc -c
}

# --- drop_new -----------------------------------------------------------
# The stream comes at 1 MB/s, so the spool is full for a few seconds (the
# plugin rechecks every second), then pauses before its last records until
# room has been made.
setup drop_new drop_new
tail_lines=500
A=$(lines_bytes_at $((N - tail_lines)))
A_lines=$((N - tail_lines))
"$FEED" -b 32768 -r 1000000 -t 60 -w "$A:$dir/go" -p "$dir/progress" \
    "$input" "$PLUGIN" -f "$conf" > /dev/null 2> "$log" &
feeder=$!
on_exit "kill $feeder 2>/dev/null"
wait_for '[ "$(cat "$dir/progress")" = "$A" ] && [ "$(status_value "$st" records_in)" = "$A_lines" ]' 20 ||
    fail "drop_new: the plugin did not take in the first $A_lines records within 20 s (status: $(tail -n 1 "$st"))"
mapfile -t segs < <(spool_segments "$spool")
sb=$(total_bytes "${segs[@]}")
sl=$(total_lines "${segs[@]}")
[ "$sb" -le "$LIMIT" ] || bad "drop_new: the spool holds $sb bytes, over the limit of $LIMIT"
# The oldest unbroken history: the input's first records and no later one
# (not even a short one that fitted the last bytes after others dropped).
head -n "$sl" "$input" | cmp -s - <(cat "${segs[@]}") ||
    bad "drop_new: while full, the spool's $sl records are not the input's first $sl"
wait_for '[ "$(status_value "$st" dropped_records)" = $((A_lines - sl)) ]' 3 ||
    bad "drop_new: while full, status says dropped_records=$(status_value "$st" dropped_records), the files say $((A_lines - sl))"
grep -q ' state=dropping ' "$st" || bad "drop_new: no state=dropping in the status file"
n=$(grep -c 'is full (spool_max_size reached' "$log" || :)
[ "$n" = 1 ] || bad "drop_new: $n 'is full' warnings while the spool stayed full (one per episode)"
n=$(grep -c 'below its limits again' "$log" || :)
[ "$n" = 0 ] || bad "drop_new: the episode was logged as over $n time(s) while the spool stayed full ($sb of $LIMIT bytes): $(grep -m1 'below its limits again' "$log")"
mid_dropped=$((A_lines - sl))
mid_dropped_bytes=$((A - sb))
# Make room the way the forwarder would; the plugin rescans every second.
mkdir "$dir/saved"
for s in "${segs[@]}"; do
	case $s in *.seg) mv "$s" "$dir/saved/" ;; esac
done
mapfile -t segs < <(spool_segments "$spool")
left=$(total_bytes "${segs[@]}")
wait_for '[ "$(status_value "$st" spool_bytes)" = "$left" ]' 5 ||
    bad "drop_new: the status file still says spool_bytes=$(status_value "$st" spool_bytes) 5 s after the spool went down to $left bytes"
wait_for 'grep -q "below its limits again after [0-9]* s; $mid_dropped records ($mid_dropped_bytes bytes) dropped meanwhile (action drop_new)" "$log"' 12 ||
    bad "drop_new: no episode end reporting $mid_dropped records ($mid_dropped_bytes bytes) dropped; log: $(grep 'below its limits' "$log" | tr '\n' ' ' || echo none)"
touch "$dir/go"
rc=0
wait "$feeder" || rc=$?
no_internal_errors
[ "$rc" = 0 ] || fail "drop_new: audisp-dist exited with status $rc"
mapfile -t all < <(seg_list "$dir/saved" "$spool")
kept=$(total_lines "${all[@]}")
kept_bytes=$(total_bytes "${all[@]}")
out=$(in_input_order "${all[@]}" 2>&1) || bad "drop_new: $out"
[ "$(tail -n "$tail_lines" "$input" | cksum)" = "$(cat "${all[@]}" | tail -n "$tail_lines" | cksum)" ] ||
    bad "drop_new: the last $tail_lines records, sent after room was made, are not all in the spool"
expect_status drop_new state=stopped records_in="$N" bytes_in="$SIZE" \
    records_spooled="$kept" bytes_spooled="$kept_bytes" \
    dropped_records=$((N - kept)) dropped_bytes=$((SIZE - kept_bytes)) \
    rejected_records=0
expect_status_spool drop_new
n=$(grep -c 'is full (spool_max_size reached' "$log" || :)
[ "$n" = 1 ] || bad "drop_new: $n 'is full' warnings in all, expected 1 (the records sent after room was made fit)"
info "drop_new: spooled $kept of $N records ($((N - kept)) dropped, $mid_dropped while full), spool $sb bytes at most"

# --- drop_old -----------------------------------------------------------
setup drop_old drop_old
# First three segments' worth, then hold the oldest as a forwarder would.
P1_lines=700
P1=$(lines_bytes_at $P1_lines)
head -c "$P1" "$input" > "$dir/in1"
tail -c +$((P1 + 1)) "$input" > "$dir/in2"
run_feed "$dir/in1"
first=$spool/0000000000000001.seg
[ -f "$first" ] || fail "drop_old: no $first after $P1 bytes"
cp "$first" "$dir/first.copy"
( exec 8< "$first"; flock -s 8; exec sleep 300 ) &
holder=$!
on_exit "kill $holder 2>/dev/null"
wait_for '! flock -n -x "$first" true' 5 || fail "drop_old: could not hold a shared lock on $first"
run_feed "$dir/in2"
kill "$holder" 2>/dev/null || :
mapfile -t segs < <(spool_segments "$spool")
sb=$(total_bytes "${segs[@]}")
sl=$(total_lines "${segs[@]}")
if [ -f "$first" ]; then
	cmp -s "$first" "$dir/first.copy" || bad "drop_old: the held segment 1 changed"
else
	bad "drop_old: the segment held with flock -s was deleted"
fi
# The others: a run of consecutive numbers up to the .open one, holding the
# input's tail; everything between segment 1 and them was deleted.
others=()
for s in "${segs[@]}"; do
	[ "$s" = "$first" ] || others+=("$s")
done
lo=${others[0]##*/} hi=${others[${#others[@]} - 1]##*/}
lo=$((16#${lo%%.*})) hi=$((16#${hi%%.*}))
[ $((hi - lo + 1)) = "${#others[@]}" ] || bad "drop_old: the newest segments are not consecutive: ${others[*]##*/}"
case ${others[${#others[@]} - 1]} in *.open) ;; *) bad "drop_old: the newest segment is not .open" ;; esac
[ "$lo" -gt 2 ] || bad "drop_old: no segment was deleted (oldest left: $lo)"
ob=$(total_bytes "${others[@]}")
cat "${others[@]}" | cmp -s - <(tail -c "$ob" "$input") ||
    bad "drop_old: the newest segments are not the input's last $ob bytes"
deleted=$(grep -c 'deleted the oldest segment' "$log" || :)
[ "$deleted" = $((lo - 2)) ] || bad "drop_old: $deleted deletions logged, $((lo - 2)) segments gone"
del_rec=$(sed -nE 's/.*deleted the oldest segment, ([0-9]+) records \(([0-9]+) bytes\).*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
del_bytes=$(sed -nE 's/.*deleted the oldest segment, ([0-9]+) records \(([0-9]+) bytes\).*/\2/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
[ "$del_rec" = $((N - sl)) ] || bad "drop_old: the log counts $del_rec records in deleted segments, the files $((N - sl))"
[ "$del_bytes" = $((SIZE - sb)) ] || bad "drop_old: the log counts $del_bytes bytes in deleted segments, the files $((SIZE - sb))"
N2=$((N - P1_lines))
expect_status drop_old state=stopped records_in="$N2" records_spooled="$N2" \
    dropped_records=$((N - sl)) dropped_bytes=$((SIZE - sb)) rejected_records=0
expect_status_spool drop_old
[ "$sb" -le "$LIMIT" ] || bad "drop_old: the spool holds $sb bytes in ${#segs[@]} segments, over spool_max_size $LIMIT (status says spool_bytes=$(status_value "$st" spool_bytes))"
info "drop_old: $deleted segments deleted ($((N - sl)) records), ${#segs[@]} left ($sb bytes, segment 1 held)"

# --- block --------------------------------------------------------------
setup block block
mkdir "$dir/saved"
"$FEED" -b 32768 -t 90 -p "$dir/progress" "$input" "$PLUGIN" -f "$conf" \
    > /dev/null 2> "$log" &
feeder=$!
on_exit "kill $feeder 2>/dev/null"
cycles=0 maxwait=0 last_p=none
while :; do
	# Blocked again: the feeder moved on since the last release, and the
	# status says blocked.  (One episode may span several releases: it
	# ends only after a quiet spell.)
	wait_for '! pid_alive "$feeder" || { [ "$(cat "$dir/progress" 2>/dev/null)" != "$last_p" ] && [ "$(status_value "$st" state)" = blocked ]; }' 20 ||
	    fail "block: neither blocked nor done within 20 s (status: $(tail -n 1 "$st"))"
	pid_alive "$feeder" || break
	cycles=$((cycles + 1))
	[ "$cycles" -le 30 ] || fail "block: more than 30 blocked episodes"
	# The feeder fills the socket buffer the plugin no longer reads.
	sleep 0.3
	p1=$(cat "$dir/progress")
	mapfile -t segs < <(spool_segments "$spool")
	s1=$(total_bytes "${segs[@]}")
	[ "$s1" -le "$LIMIT" ] || bad "block: blocked with $s1 bytes in the spool, over the limit $LIMIT"
	if [ "$cycles" = 1 ]; then
		# Nothing may move while blocked: that takes waiting a while.
		sleep 2
		[ "$(cat "$dir/progress")" = "$p1" ] ||
		    bad "block: the feeder wrote $(( $(cat "$dir/progress") - p1 )) more bytes while the plugin was blocked"
		mapfile -t segs < <(spool_segments "$spool")
		[ "$(total_bytes "${segs[@]}")" = "$s1" ] || bad "block: the spool changed while blocked"
		[ "$(status_value "$st" state)" = blocked ] || bad "block: state changed to $(status_value "$st" state) while still full"
		[ "$(status_value "$st" dropped_records)" = 0 ] || bad "block: dropped records while blocked"
		[ "$p1" -lt "$SIZE" ] || bad "block: the feeder was not stuck"
		info "block: stuck for 2 s at $p1 of $SIZE bytes fed, spool $s1 bytes"
	fi
	for s in "${segs[@]}"; do
		case $s in *.seg) mv "$s" "$dir/saved/" ;; esac
	done
	t1=$(now_ms)
	last_p=$p1
	if ! wait_for '! pid_alive "$feeder" || [ "$(cat "$dir/progress")" != "$p1" ]' 10; then
		ls -l "$spool" | sed 's/^/  | /'
		tail -n 2 "$st" | sed 's/^/  | /'
		tail -n 15 "$log" | sed 's/^/  | /'
		fail "block: did not resume within 10 s of moving the closed segments away (episode $cycles, moved ${#segs[@]} files)"
	fi
	w=$(( $(now_ms) - t1 ))
	[ "$w" -le "$maxwait" ] || maxwait=$w
done
rc=0
wait "$feeder" || rc=$?
no_internal_errors
[ "$rc" = 0 ] || fail "block: audisp-dist exited with status $rc"
mapfile -t all < <(seg_list "$dir/saved" "$spool")
cat "${all[@]}" | cmp - "$input" || bad "block: the moved segments and the spool are not the input"
expect_status block state=stopped records_in="$N" records_spooled="$N" bytes_spooled="$SIZE" \
    dropped_records=0 dropped_bytes=0 rejected_records=0
expect_status_spool block
[ "$cycles" -ge 2 ] || bad "block: blocked only $cycles times"
# Releases in quick succession belong to one episode; each episode that
# starts is logged as ended (at the latest when the plugin stops).
starts=$(grep -c 'is full (spool_max_size reached' "$log" || :)
ends=$(grep -c 'below its limits again after [0-9]* s; 0 records (0 bytes) dropped meanwhile (action block)' "$log" || :)
[ "$starts" -ge 1 ] && [ "$ends" = "$starts" ] || bad "block: $starts episodes started, $ends logged as ended"
info "block: blocked $cycles times, resumed each time within $maxwait ms of making room; nothing dropped"

# --- syslog -------------------------------------------------------------
setup syslog syslog
run_feed "$input"
mapfile -t segs < <(spool_segments "$spool")
cat "${segs[@]}" | cmp -s - "$input" || bad "syslog: the spool is not the input"
expect_status syslog state=stopped records_in="$N" records_spooled="$N" \
    dropped_records=0 dropped_bytes=0
expect_status_spool syslog
[ "$(grep -c 'is full (spool_max_size reached.*action syslog' "$log")" = 1 ] ||
    bad "syslog: $(grep -c 'is full' "$log") 'is full' warnings, expected exactly 1"
! grep -qE ' state=(dropping|blocked) ' "$st" || bad "syslog: the status file shows dropping or blocked"
info "syslog: $(total_bytes "${segs[@]}") bytes spooled past the limit, one warning"

# --- exec ---------------------------------------------------------------
setup exec "exec \"$T/exec/full.sh\""
printf '#!/bin/sh\nprintf "%%s %%s\\n" "$#" "$*" >> %s/exec.out\n' "$dir" > "$dir/full.sh"
chmod 0755 "$dir/full.sh"
run_feed "$input"
while read -r p; do
	wait_for '! pid_alive "$p"' 10 || fail "exec: the program (pid $p) did not finish"
done < <(sed -nE 's/.*spool_full_action: started .* \(pid ([0-9]+)\).*/\1/p' "$log")
if [ "$(cat "$dir/exec.out" 2>/dev/null)" != "1 spool_max_size" ]; then
	bad "exec: the program's runs (argc, args): $(tr '\n' ';' < "$dir/exec.out" 2>/dev/null || echo none), expected one run with spool_max_size"
fi
mapfile -t segs < <(spool_segments "$spool")
cat "${segs[@]}" | cmp -s - "$input" || bad "exec: the spool is not the input"
expect_status exec state=stopped records_in="$N" records_spooled="$N" dropped_records=0
expect_status_spool exec
info "exec: the program ran $(wc -l < "$dir/exec.out" 2>/dev/null || echo 0) time(s)"

t1=$(now_ms)
if [ "${#problems[@]}" -gt 0 ]; then
	fail "${#problems[@]} problem(s), each shown above as BAD"
fi
echo "limits: drop_new, drop_old, block, syslog, exec all as specified ($(( (t1 - t0) / 1000 )) s)"
