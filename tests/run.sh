#!/bin/bash
# Run unit test binaries and integration scripts; print one total.
# A unit binary prints its own "N passed, N failed" line; an integration
# script exits 0 (pass), 77 (skip, after printing why) or anything else (fail).
set -u
: "${B:=build}"
export B
pass=0 fail=0 skip=0 failed=()

for t in "$@"; do
	name=${t#./}
	case "$t" in
	*.sh)
		echo "=== $name"
		start=$(date +%s)
		bash "$t"
		rc=$?
		secs=$(( $(date +%s) - start ))
		case $rc in
		0)  pass=$((pass + 1)); echo "--- pass $name (${secs}s)" ;;
		77) skip=$((skip + 1)); echo "--- skip $name" ;;
		*)  fail=$((fail + 1)); failed+=("$name"); echo "--- FAIL $name (exit $rc, ${secs}s)" ;;
		esac
		;;
	*)
		echo "=== $name"
		out=$("$t" 2>&1)
		rc=$?
		printf '%s\n' "$out" | grep -v '^ok ' | grep -v '^[0-9]* passed, [0-9]* failed$'
		p=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' | tail -n 1)
		f=$(printf '%s\n' "$out" | sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' | tail -n 1)
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
echo "check: $pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
