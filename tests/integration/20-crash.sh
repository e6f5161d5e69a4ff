#!/bin/bash
# Crash test: audisp-dist is SIGKILLed again and again while it spools a
# large recorded stream (the real sample, repeated with new serial numbers),
# at random moments: at start-up, during recovery, mid-write, around segment
# rotations.  Each time it is started again on the input from where the
# spool's whole records end, as if auditd resent what was in flight.  After
# every kill the segments, in name order, must be a byte prefix of the input
# with at most one torn (partial) last line, and no whole record may ever be
# lost; each torn tail must be cut by the next start, and only it.  Some
# rounds add a torn tail by hand (a prefix of the next record, which is what
# a write cut short leaves) because a kill lands inside write() only now and
# then.  At the end one run reads to EOF: the spool must then be the input
# byte for byte, in segments of whole lines with increasing numbers.
#
# ADTEST_SEED=N replays one run (the seed is printed); ADTEST_CRASH_ROUNDS,
# ADTEST_CRASH_MB and ADTEST_SAMPLE change the rounds, size and sample.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

ROUNDS=${ADTEST_CRASH_ROUNDS:-40}
MB=${ADTEST_CRASH_MB:-48}
SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
SEED=${ADTEST_SEED:-$$}
RANDOM=$SEED
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed

need_cmd perl cmp od stat
[ -x "$PLUGIN" ] || fail "no $PLUGIN: build it first (make)"
[ -x "$FEED" ] || fail "no $FEED: build it first (make $FEED)"
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE (scripts/capture-sample.sh makes it)"
deadline 150
t0=$(now_ms)
info "seed $SEED (ADTEST_SEED=$SEED replays this run)"

# The sample must be a stream of whole records, as auditd sends them.
if grep -avqE '^(node=[^ ]+ )?type=[^ ]+ msg=audit\([0-9]+\.[0-9]+:[0-9]+\):( |$)' "$SAMPLE"; then
	fail "$SAMPLE holds a line that is not an audit record"
fi
[ "$(tail -c 1 "$SAMPLE" | od -An -tx1 | tr -d ' ')" = 0a ] ||
    fail "$SAMPLE does not end with a newline"

input=$T/input
sample_stream "$SAMPLE" $((MB * 1024 * 1024)) "$input"
size=$(stat -c %s "$input")
records=$(wc -l < "$input")
info "input: $size bytes, $records records from $SAMPLE"

spool=$T/spool
mkdir -m 0700 "$spool"
conf=$T/crash.conf

write_conf()	# SEGMENT_SIZE FLUSH
{
	printf 'sender {\n\tdirectory "%s"\n\tsegment_size %s\n\tsegment_age 60\n\tflush %s\n\tspool_max_size 0\n\tspool_min_free 0\n\tstatus_interval 1\n}\n' \
	    "$spool" "$1" "$2" > "$conf"
	chmod 0600 "$conf"
}

seq_of()	# PATH: the segment's sequence number
{
	local n=${1##*/}
	echo $((16#${n%%.*}))
}

# The line of FILE starting at byte OFFSET, or its first LEN bytes.
line_at()	# FILE OFFSET [LEN]
{
	perl -e '
		my ($f, $off, $len) = @ARGV;
		open(my $fh, "<", $f) or die "$f: $!\n";
		seek($fh, $off, 0); my $l = <$fh>;
		print defined $len ? substr($l, 0, $len) : $l;' "$@"
}

# Look at the spool after a run.  Sets segs (paths in name order), TOT
# (bytes in all), TORN (bytes after the last newline), LASTNE (the last
# non-empty segment) and OPENS (.open files).  Fails unless the numbers are
# strictly increasing, only the last non-empty segment ends inside a line
# (WHOLE=1: none does), and all of it is a byte prefix of the input.
check_spool()	# WHEN [WHOLE]
{
	local out
	mapfile -t segs < <(spool_segments "$spool")
	TOT=0 TORN=0 LASTNE='' OPENS=0
	[ "${#segs[@]}" -gt 0 ] || return 0
	# One pass over all segments (forks per segment would dominate).
	out=$(perl -e '
		my ($prev, $tot, $last, $opens, @bad) = (0, 0, -1, 0);
		for my $i (0 .. $#ARGV) {
			my $f = $ARGV[$i];
			my ($hex) = $f =~ m{([0-9a-f]{16})\.(open|seg)$} or die "$f\n";
			my $q = hex($hex);
			$q > $prev or die "segment $hex does not come after number $prev (duplicate or disorder)\n";
			$prev = $q;
			$opens++ if $f =~ /\.open$/;
			my $sz = -s $f;
			$tot += $sz;
			next if $sz == 0;
			$last = $i;
			open(my $fh, "<", $f) or die "$f: $!\n";
			my $n = $sz < 1048576 ? $sz : 1048576;
			seek($fh, $sz - $n, 0);
			read($fh, my $b, $n) == $n or die "$f: short read\n";
			my $j = rindex($b, "\n");
			die "$hex: no newline in its last MiB\n" if $j < 0 && $n < $sz;
			push @bad, [$hex, $n - $j - 1];
		}
		my $torn = 0;
		for my $b (@bad) {
			next if $b->[1] == 0;
			die "segment $b->[0] ends inside a record and is not the last one written\n"
			    if $b != $bad[-1];
			$torn = $b->[1];
		}
		print "$tot $torn $last $opens\n";' "${segs[@]}" 2>&1) ||
	    fail "$1: $out"
	read -r TOT TORN last OPENS <<< "$out"
	[ "$last" -lt 0 ] || LASTNE=${segs[last]}
	[ "${2:-0}" = 0 ] || [ "$TORN" = 0 ] ||
	    fail "$1: ${LASTNE##*/} ends with a torn record of $TORN bytes"
	if ! cat "${segs[@]}" | cmp -n "$TOT" - "$input" >&2; then
		fail "$1: the spool ($TOT bytes in ${#segs[@]} segments) is not a prefix of the input"
	fi
}

sanity_log()	# LOG WHEN
{
	if grep -qE 'invariant failed|AddressSanitizer|runtime error|LeakSanitizer' "$1"; then
		sed 's/^/  | /' "$1" | head -20
		fail "$2: the plugin reported an internal error"
	fi
}

# Recovery must cut exactly the torn tail that was on disk, nothing else.
# Sets pend_name/pend_len (torn tail waiting to be cut) and counts.
check_cuts()	# LOG WHEN
{
	local line n s
	while IFS= read -r line; do
		n=$(echo "$line" | sed -E 's/.*cut a torn record of ([0-9]+) bytes.*/\1/')
		s=${line##*segment }
		if [ -z "$pend_name" ] || [ "$s" != "$pend_name" ] || [ "$n" != "$pend_len" ]; then
			fail "$2: recovery cut $n bytes from $s, but the torn tail on disk was ${pend_name:+$pend_len bytes of }${pend_name:-none}"
		fi
		cut_logged=$((cut_logged + 1))
		cut_bytes=$((cut_bytes + n))
		pend_name='' pend_len=0
	done < <(grep -E 'cut a torn record of [0-9]+ bytes' "$1" || :)
}

K=0 kills=0 early_kills=0 finished=0 natural=0 simulated=0
cut_logged=0 cut_bytes=0 silent=0 max_open=0
pend_name='' pend_len=0
declare -A may_vanish=()	# segments that held nothing, or only a torn tail

for ((i = 1; i <= ROUNDS; i++)); do
	case $((i % 3)) in
	0) segsize=64K ;;
	1) segsize=256K ;;
	*) segsize=128K ;;
	esac
	flush=none
	((i % 4 == 0)) && flush=data
	write_conf "$segsize" "$flush"

	rate=
	case $((i % 8)) in
	1)	delay=0 ;;				# before or as it starts
	5)	delay=$((200 + RANDOM % 3000)) ;;	# start-up, recovery
	3)	delay=$((2000 + RANDOM % 18000)) ;;	# full speed
	*)	delay=$((2000 + (RANDOM * 32768 + RANDOM) % 148000))
		# Pace the stream so that the kills keep landing inside it.
		rate=$(( (size - K) * 1000000 / (ROUNDS - i + 4) / delay ))
		[ "$rate" -gt 0 ] || rate=1000 ;;
	esac

	start_k=$K
	rc=0
	"$FEED" -b 4194304 -t 30 ${rate:+-r "$rate"} -k "$delay" -o "$K" \
	    "$input" "$PLUGIN" -f "$conf" > /dev/null 2> "$T/log.$i" || rc=$?
	case $rc in
	137)	kills=$((kills + 1))
		[ "$delay" -lt 5000 ] && early_kills=$((early_kills + 1)) ;;
	0)	finished=$((finished + 1)) ;;	# reached EOF before the kill
	*)	sed 's/^/  | /' "$T/log.$i" | tail -20
		fail "round $i: audisp-dist exited with status $rc (expected SIGKILL)" ;;
	esac
	sanity_log "$T/log.$i" "round $i"
	check_cuts "$T/log.$i" "round $i"
	check_spool "round $i"

	[ "$OPENS" -le "$max_open" ] || max_open=$OPENS

	if [ -n "$pend_name" ]; then
		if [ "$TORN" -gt 0 ] && [ "${LASTNE##*/}" = "$pend_name" ] &&
		    [ "$TORN" = "$pend_len" ]; then
			# Still there: the kill came before recovery got to it.
			! grep -q 'started: spool' "$T/log.$i" ||
			    fail "round $i: the plugin started but left the torn tail of $pend_name in place"
		elif ! grep -q 'started: spool' "$T/log.$i"; then
			# Cut by a recovery killed before it could log it.
			silent=$((silent + 1))
			pend_name='' pend_len=0
		else
			fail "round $i: the torn tail ($pend_len bytes of $pend_name) vanished without a log line"
		fi
	fi

	# An empty .open is replaced, not reused, at the next start (a
	# receiver may hold bytes that a crash took from it): its number goes.
	for s in "${segs[@]}"; do
		case $s in *.open) [ -s "$s" ] || may_vanish[$(seq_of "$s")]=1 ;; esac
	done
	k2=$((TOT - TORN))
	[ "$k2" -ge "$K" ] ||
	    fail "round $i: whole records were lost: they ended at byte $K, now at $k2"
	how=
	if [ "$TORN" -gt 0 ] && [ -z "$pend_name" ]; then
		natural=$((natural + 1))
		pend_name=${LASTNE##*/} pend_len=$TORN
		[ "$TORN" != "$(stat -c %s "$LASTNE")" ] || may_vanish[$(seq_of "$LASTNE")]=1
		how=", torn tail of $TORN bytes (kill inside write)"
	elif [ "$TORN" -eq 0 ] && ((i % 3 == 2)) && [ "$k2" -lt "$size" ] &&
	    [ "${#segs[@]}" -gt 0 ]; then
		last=${segs[${#segs[@]} - 1]}
		case $last in
		*.open)
			linelen=$(line_at "$input" "$k2" | wc -c)
			[ "$linelen" -ge 2 ] || fail "round $i: empty line at byte $k2 of the input"
			len=$((1 + RANDOM % (linelen - 1)))
			[ -s "$last" ] || may_vanish[$(seq_of "$last")]=1
			line_at "$input" "$k2" "$len" >> "$last"
			simulated=$((simulated + 1))
			pend_name=${last##*/} pend_len=$len
			how=", added a torn tail of $len bytes to $pend_name"
			;;
		esac
	fi
	K=$k2
	info "round $i: kill after $((delay / 1000)).$(printf %03d $((delay % 1000))) ms (${rate:+$((rate / 1024)) KiB/s, }segments $segsize, flush $flush): records end at $start_k -> $K, ${#segs[@]} segments, $OPENS .open$how"
done

# The last run reads the rest to EOF and exits on its own.
write_conf 64K none
rc=0
"$FEED" -b 4194304 -t 60 -o "$K" "$input" "$PLUGIN" -f "$conf" > /dev/null \
    2> "$T/log.final" || rc=$?
sanity_log "$T/log.final" "final run"
[ "$rc" = 0 ] || { sed 's/^/  | /' "$T/log.final" | tail -20; fail "final run: audisp-dist exited with status $rc"; }
check_cuts "$T/log.final" "final run"
[ -z "$pend_name" ] || fail "final run: the torn tail of $pend_name ($pend_len bytes) was not cut"
check_spool "final run" 1
[ "$TOT" = "$size" ] || fail "final run: the spool holds $TOT bytes, the input $size"
cat "${segs[@]}" | cmp - "$input" || fail "final run: the spool differs from the input"

# One .open, the last; numbers from 1 with no gap but where a segment held
# only a torn tail that recovery removed, or nothing at all.  (check_spool
# saw whole lines.)
nseg=${#segs[@]} prev=0 gaps=0
for ((j = 0; j < nseg; j++)); do
	s=${segs[j]##*/}
	q=$((16#${s%%.*}))
	while ((++prev < q)); do
		[ -n "${may_vanish[$prev]:-}" ] ||
		    fail "segment number $prev is missing and never held only a torn tail or nothing"
		gaps=$((gaps + 1))
	done
	case $s in
	*.open) [ "$j" = $((nseg - 1)) ] || fail "$s is still open after a clean exit" ;;
	*.seg)	[ "$j" -lt $((nseg - 1)) ] || fail "no .open segment after a clean exit" ;;
	esac
done
spooled=$(cat "${segs[@]}" | wc -l)
[ "$spooled" = "$records" ] || fail "the spool holds $spooled records, the input $records"

# The last run's own counters, in its last status line.
st=$spool/status
rest=$(tail -c +$((K + 1)) "$input" | wc -l)
final_cuts=$(grep -c 'cut a torn record' "$T/log.final" || :)
final_cut_bytes=$(sed -nE 's/.*cut a torn record of ([0-9]+) bytes.*/\1/p' "$T/log.final" | awk '{ s += $1 } END { print s + 0 }')
for kv in state=stopped records_in="$rest" records_spooled="$rest" \
    rejected_records=0 dropped_records="$final_cuts" dropped_bytes="$final_cut_bytes"; do
	v=$(status_value "$st" "${kv%%=*}")
	[ "$v" = "${kv#*=}" ] || fail "final status: ${kv%%=*}=$v, expected ${kv#*=} ($(tail -n 1 "$st"))"
done

t1=$(now_ms)
all_cuts=$(cat "$T"/log.* | grep -c 'cut a torn record' || :)
echo "crash: $kills kills ($early_kills within 5 ms of the start), $finished runs reached EOF first;" \
    "torn tails: $natural from kills inside write + $simulated added by hand;" \
    "recovery cut $all_cuts ($cut_logged checked, $silent more cut by a recovery that was itself killed);" \
    "up to $max_open .open segments left by a kill; $nseg segments ($gaps numbers skipped);" \
    "$size bytes, $records records; seed $SEED; $(( (t1 - t0) / 1000 )).$(( (t1 - t0) % 1000 / 100 )) s"
