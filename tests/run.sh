#!/bin/bash
# Run unit test binaries and integration scripts; print one total.
# A unit binary prints its own "N passed, N failed" line; an integration
# script exits 0 (pass), 77 (skip, after printing why) or anything else (fail).
#
# Each one runs in a session of its own and may take TEST_TIMEOUT seconds
# (default 600; a script's own deadline comes first).  Then its whole
# process group gets SIGTERM (a script's cleanup runs), KILL_GRACE seconds
# later SIGKILL, and it counts as failed and hung.
set -u
: "${B:=build}"
: "${TEST_TIMEOUT:=600}"
: "${KILL_GRACE:=30}"
export B
pass=0 fail=0 skip=0 failed=() hung=()
cur=

# A group must not outlive us, even when we are interrupted.
trap '[ -n "$cur" ] && kill -TERM -- "-$cur" 2>/dev/null; exit 130' INT
trap '[ -n "$cur" ] && kill -TERM -- "-$cur" 2>/dev/null; exit 143' TERM

# Wait up to $1 seconds for process $cur; 0 if it ended (status in rc).
wait_limited()
{
	local dog ended=

	sleep "$1" &
	dog=$!
	wait -n -p ended "$cur" "$dog"
	rc=$?
	if [ "$ended" = "$cur" ]; then
		kill "$dog" 2>/dev/null
		wait "$dog" 2>/dev/null
		return 0
	fi
	return 1
}

# run_limited CMD...: run CMD as the leader of a new process group, within
# TEST_TIMEOUT; sets rc, and timed_out=1 when it had to be stopped.
run_limited()
{
	timed_out=0
	setsid "$@" &
	cur=$!
	if ! wait_limited "$TEST_TIMEOUT"; then
		timed_out=1
		kill -TERM -- "-$cur" 2>/dev/null
		wait_limited "$KILL_GRACE" || rc=137
		kill -KILL -- "-$cur" 2>/dev/null
		wait "$cur" 2>/dev/null
	elif leftovers; then
		# nothing it started may stay behind
		echo "--- note: $name left processes running; killed:"
		pgrep -a -r D,R,S,T -g "$cur" | sed 's/^/    /'
		kill -KILL -- "-$cur" 2>/dev/null
	fi
	cur=
}

# Whether group $cur still has live processes a second after its leader
# ended (its cleanup's last kills take a moment to land).
leftovers()
{
	local tries=10

	while [ "$tries" -gt 0 ]; do
		pgrep -r D,R,S,T -g "$cur" >/dev/null || return 1
		sleep 0.1
		tries=$((tries - 1))
	done
	return 0
}

out=$(mktemp "${TMPDIR:-/tmp}/run.XXXXXX") || exit 1
trap 'rm -f "$out"' EXIT

for t in "$@"; do
	name=${t#./}
	echo "=== $name"
	start=$(date +%s)
	case "$t" in
	*.sh)
		run_limited bash "$t"
		secs=$(( $(date +%s) - start ))
		if [ "$timed_out" = 1 ]; then
			fail=$((fail + 1)); failed+=("$name"); hung+=("$name")
			echo "--- FAIL $name (timed out after ${TEST_TIMEOUT} s)"
			continue
		fi
		case $rc in
		0)  pass=$((pass + 1)); echo "--- pass $name (${secs}s)" ;;
		77) skip=$((skip + 1)); echo "--- skip $name" ;;
		*)  fail=$((fail + 1)); failed+=("$name"); echo "--- FAIL $name (exit $rc, ${secs}s)" ;;
		esac
		;;
	*)
		run_limited "$t" >"$out" 2>&1
		grep -v '^ok ' "$out" | grep -v '^[0-9]* passed, [0-9]* failed$'
		p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' "$out" | tail -n 1)
		f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' "$out" | tail -n 1)
		if [ "$timed_out" = 1 ]; then
			fail=$((fail + 1)); failed+=("$name"); hung+=("$name")
			echo "--- FAIL $name (timed out after ${TEST_TIMEOUT} s)"
			continue
		fi
		if [ -z "$p" ]; then
			fail=$((fail + 1)); failed+=("$name (crashed, exit $rc)")
			echo "--- FAIL $name: no result line (exit $rc)"
			continue
		fi
		pass=$((pass + p)); fail=$((fail + f))
		[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && { fail=$((fail + 1)); failed+=("$name (exit $rc)"); }
		[ "$f" -gt 0 ] && failed+=("$name")
		echo "--- $name: $p passed, $f failed"
		;;
	esac
done

echo
[ ${#failed[@]} -gt 0 ] && printf 'failed: %s\n' "${failed[@]}"
[ ${#hung[@]} -gt 0 ] && printf 'hung: %s\n' "${hung[@]}"
echo "check: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
