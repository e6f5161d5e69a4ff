#!/bin/bash
# shellcheck disable=SC2016 # on_exit takes code in single quotes
# Fuzz targets (tests/fuzz/fuzz_*.c): every decoder of outside bytes.
#
# First the seed corpus of each target (tests/fuzz/corpus/NAME/) is
# replayed by its gcc build ($B/san/fuzz/fuzz_NAME, ASan+UBSan); then each
# libFuzzer build ($B/fuzz/fuzz_NAME, clang, ASan+UBSan) runs for
# FUZZ_SECONDS (default 30), one at a time.  Any crash, failed check, leak,
# sanitizer report or timeout fails the test; the input that caused it is
# kept in $B/fuzz/crashes/ (outside the tree) and the command that replays
# it is printed.  The executions reached by each target are printed.
#
# New inputs libFuzzer finds go to FUZZ_WORK (default: a temporary
# directory), never into tests/fuzz/corpus: seeds are added by hand.
# FUZZ_TARGETS="wire conf" limits the run; FUZZ_SECONDS=0 only replays.
set -u -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

FUZZ_SECONDS=${FUZZ_SECONDS:-30}
FUZZ_WORK=${FUZZ_WORK:-$T/work}
CORPUS=tests/fuzz/corpus
CRASHES=$B/fuzz/crashes

case $FUZZ_SECONDS in
'' | *[!0-9]*) fail "FUZZ_SECONDS is not a number: '$FUZZ_SECONDS'" ;;
esac

targets=()
if [ -n "${FUZZ_TARGETS:-}" ]; then
	read -r -a targets <<< "$FUZZ_TARGETS"
else
	for f in tests/fuzz/fuzz_*.c; do
		f=${f##*/fuzz_}
		targets+=("${f%.c}")
	done
fi
[ ${#targets[@]} -gt 0 ] || fail "no fuzz targets in tests/fuzz/"

for t in "${targets[@]}"; do
	[ -x "$B/san/fuzz/fuzz_$t" ] ||
	    fail "no $B/san/fuzz/fuzz_$t: build it first (make fuzz-build)"
	[ -d "$CORPUS/$t" ] || fail "no seed corpus $CORPUS/$t"
	if [ "$FUZZ_SECONDS" -gt 0 ] && [ ! -x "$B/fuzz/fuzz_$t" ]; then
		command -v "${FUZZ_CC:-clang}" >/dev/null 2>&1 ||
		    skip "no ${FUZZ_CC:-clang} for the libFuzzer targets" \
		    "(scripts/deps.sh installs it)"
		fail "no $B/fuzz/fuzz_$t: build it first (make fuzz-build)"
	fi
done

# Files the targets make go here (tmpfs when there is one: fsync is free).
shm=/dev/shm
[ -d "$shm" ] && [ -w "$shm" ] || shm=$T
FUZZ_TMPDIR=$(mktemp -d "$shm/adtest-fuzz.XXXXXX") || fail "mktemp in $shm"
export FUZZ_TMPDIR
on_exit 'rm -rf -- "$FUZZ_TMPDIR"'

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# What a sanitizer or a failed check prints.
REPORT='ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:'
REPORT+='|fuzz check failed|fuzz setup failed|the target called exit'

deadline $(( (FUZZ_SECONDS + 60) * ${#targets[@]} + 120 ))
failed=0

for t in "${targets[@]}"; do
	log=$T/replay-$t.log
	"$B/san/fuzz/fuzz_$t" "$CORPUS/$t" >"$log" 2>&1
	rc=$?
	n=$(sed -n 's/^replayed \([0-9]*\) inputs$/\1/p' "$log")
	if [ "$rc" -ne 0 ] || grep -Eq "$REPORT" "$log" || [ -z "$n" ]; then
		echo "FAIL: replay of $CORPUS/$t (exit $rc):"
		grep -E -A 30 "$REPORT" "$log" | head -40 | sed 's/^/  | /'
		[ -n "$n" ] || tail -n 20 "$log" | sed 's/^/  | /'
		failed=1
		continue
	fi
	if [ "$n" -eq 0 ]; then
		echo "FAIL: $CORPUS/$t holds no input"
		failed=1
		continue
	fi
	echo "replay $t: $n inputs, clean"
done
[ "$failed" = 0 ] || fail "the seed corpus does not replay cleanly"
[ "$FUZZ_SECONDS" -gt 0 ] || exit 0

mkdir -p "$CRASHES" || fail "mkdir $CRASHES"
for t in "${targets[@]}"; do
	log=$T/fuzz-$t.log
	work=$FUZZ_WORK/$t
	mkdir -p "$work" || fail "mkdir $work"
	dict=()
	[ -f "tests/fuzz/$t.dict" ] && dict=("-dict=tests/fuzz/$t.dict")
	: >"$log.start"
	# -close_fd_mask=2: the code under test logs to stderr; libFuzzer
	# and the sanitizers keep writing their reports.
	"$B/fuzz/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -timeout=25 \
	    -rss_limit_mb=2048 -close_fd_mask=2 -print_final_stats=1 \
	    -artifact_prefix="$CRASHES/$t-" "${dict[@]}" \
	    "$work" "$CORPUS/$t" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	secs=$(sed -n 's/^Done [0-9]* runs in \([0-9]*\) second.*/\1/p' "$log" |
	    tail -n 1)
	new_crashes=$(find "$CRASHES" -type f -name "$t-*" -newer "$log.start")
	if [ "$rc" -ne 0 ] || grep -Eq "$REPORT" "$log" || [ -z "$execs" ] ||
	    [ -n "$new_crashes" ]; then
		echo "FAIL: fuzz_$t (exit $rc, ${execs:-?} executions):"
		grep -E -A 40 "$REPORT" "$log" | head -60 | sed 's/^/  | /'
		grep -E '^(artifact_prefix|Test unit written|Base64)' "$log" |
		    sed 's/^/  | /'
		for a in $new_crashes; do
			echo "  replay it: $B/san/fuzz/fuzz_$t $a"
		done
		failed=1
		continue
	fi
	cov=$(grep -Eo 'cov: [0-9]+' "$log" | tail -n 1)
	found=$(find "$work" -type f | wc -l)
	echo "fuzz_$t: $execs executions in ${secs:-$FUZZ_SECONDS}s," \
	    "${cov:-cov: ?}, $found new inputs"
done
[ "$failed" = 0 ] || fail "a fuzz target failed (inputs kept in $CRASHES)"
exit 0
