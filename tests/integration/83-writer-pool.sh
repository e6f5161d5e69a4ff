#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# A pool of writers: 50 hosts ship at once (tests/helpers/fleet, each host
# its own slice of the sample, reconnecting as the forwarder does) into a
# receiver with writer_hosts 16, so that few writers serve them all (the
# receiver's processes are counted: a writer per host would be 52).
# While they ship:
#   - the committer (the one process that makes syncfs for the writers)
#     is SIGKILLed: the writers sync by themselves, and the parent starts
#     another one 10 s later;
#   - one writer is SIGKILLed: its hosts' connections are closed, they
#     come back, get a new writer and resume where it says;
#   - Landlock: a writer is made to open (test build's SIGUSR2 trigger,
#     through a symbolic link) first one of its own hosts' directories,
#     which it may, then, another one, a host directory of another writer,
#     which it may not; the trigger then kills it (SIGSYS) too.
# Every host's trail must end byte for byte what its sender had shipped
# and got acknowledged: nothing lost, nothing twice.  The writers run
# under the syncorder shim (tests/shim/syncorder.c): no writer may answer
# while any of its hosts' bytes are not synced (its group commit).
#
# ADTEST_POOL_SECONDS (how long the shipping is spread over, default 30).
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

N=50
PER=16
SECS=${ADTEST_POOL_SECONDS:-30}
SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/test/auditdistd
FLEET=$B/tests/fleet
SHIM=$B/tests/syncorder.so

need_root
need_cmd openssl ss cmp awk pgrep
for b in "$RECV" "$FLEET" "$SHIM"; do
	[ -e "$b" ] || skip "no $b (not built yet: make; make $RECV $FLEET $SHIM)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 90
t0=$(now_ms)

recv_setup
ADDR=127.0.0.1:$PORT
out=$T/sent
mkdir "$out"
link=$T/other		# the trigger's path: a link made below
viol=$T/syncorder.log
: > "$viol"
echo off > "$T/syncorder.crash"
chmod 0666 "$viol" "$T/syncorder.crash"	# the writers run as $FWD_USER

openssl rand -hex $((16 * N)) | fold -w 32 |
    awk '{ printf "p%d %s\n", NR, $0 }' > "$T/fleet.list"
rconf=$T/recv.conf
test_recv_conf "$rconf" "$ADDR" $'timeout 30\npidfile none' "writer_hosts $PER" \
    "$(awk '{ printf "host %s {\n\tpassword \"%s\"\n}\n", $1, $2 }' "$T/fleet.list")"

bg_start recv "$T/recv.log" env ADTEST_SANDBOX_FORBIDDEN="$link" \
    LD_PRELOAD="$(realpath "$SHIM")" SYNCORDER_ROOT="$trails" \
    SYNCORDER_LOG="$viol" SYNCORDER_CRASH="$T/syncorder.crash" \
    "$RECV" -f "$rconf"
RECV_PID=$BG_PID
wait_for "port_listening $PORT" 20 ||
    { show_tails "$T/recv.log"; fail "auditdistd did not listen on $ADDR"; }

# writers: the trail writers (tests/lib.sh); the committer by its name.
committer() { pgrep -P "$RECV_PID" -x auditdistd-sync || :; }
writers() { recv_writers "$RECV_PID"; }
# hosts_of PID: the hosts whose directories writer PID holds.
hosts_of()
{
	find "/proc/$1/fd" -mindepth 1 -maxdepth 1 -printf '%l\n' 2>/dev/null |
	    sed -n "s|^$trails/\(p[0-9]*\)\$|\1|p" | sort -u
}

bg_start fleet "$T/fleet.out" "$FLEET" -B -R -f "$FP" -s "$SECS" -t 80 \
    "$ADDR" "$T/fleet.list" "$SAMPLE" "$out"
wait_for "grep -q '^shipping' '$T/fleet.out'" 30 ||
    { show_tails "$T/fleet.out" "$T/recv.log"; fail "the fleet's handshakes did not end"; }
wait_for '[ "$(for w in $(writers); do hosts_of "$w"; done | wc -l)" = "$N" ]' 10 ||
    { show_tails "$T/recv.log"; fail "not every host has a writer: $(for w in $(writers); do hosts_of "$w"; done | wc -l) of $N"; }
procs=$(( $(pgrep -P "$RECV_PID" | wc -l) + 1 ))
nw=$(writers | wc -l)
sizes=$(for w in $(writers); do hosts_of "$w" | wc -l; done | sort -n | tr '\n' ' ')
info "$N hosts shipping: $procs receiver processes, $nw writers serving ${sizes}hosts"
[ "$nw" -ge $(( (N + PER - 1) / PER )) ] && [ "$nw" -le 8 ] ||
    fail "$N hosts with writer_hosts $PER: $nw writers (expected 4 to 8; a writer per host would be $N)"
for w in $(writers); do
	[ "$(hosts_of "$w" | wc -l)" -le "$PER" ] ||
	    fail "writer $w serves more than writer_hosts $PER hosts: $(hosts_of "$w" | tr '\n' ' ')"
done

# --- the committer SIGKILLed: the writers sync by themselves ------------------
sleep 2
cpid=$(committer)
[ -n "$cpid" ] || { show_tails "$T/recv.log"; fail "no committer (auditdistd-sync) under $RECV_PID"; }
kill -KILL "$cpid"
wait_for "grep -q 'committer killed by signal 9' '$T/recv.log'" 10 ||
    { show_tails "$T/recv.log"; fail "the parent did not see the committer ($cpid) die"; }
# A writer notices at its next ask: proof that the writers were asking it.
wait_for "grep -q \"the committer's channel is gone\" '$T/recv.log'" 10 ||
    { show_tails "$T/recv.log"; fail "no writer noticed that the committer was gone (were they asking it?)"; }
info "committer $cpid killed while shipping: $(grep -c "the committer's channel is gone" "$T/recv.log") writer(s) noticed at their next ask"

# --- a pool writer SIGKILLed: its hosts resume -------------------------------
victim=$(writers | head -n 1)
vhosts=$(hosts_of "$victim" | tr '\n' ' ')
kill -KILL "$victim"
wait_for "grep -q 'trail writer (pid $victim) killed by signal 9' '$T/recv.log'" 10 ||
    { show_tails "$T/recv.log"; fail "the parent did not see writer $victim die"; }
info "writer $victim SIGKILLed; its hosts: $vhosts"
# Each of them gets a writer again (a new one: the dead one's slots are gone).
for h in $vhosts; do
	wait_for '[ -n "$(for w in $(writers); do hosts_of "$w" | grep -qx "'"$h"'" && echo "$w"; done)" ]' 20 ||
	    { show_tails "$T/recv.log" "$T/fleet.out"; fail "host $h got no writer after $victim died"; }
done
echo "pool: writer $victim (hosts $vhosts) killed while shipping; each host has a writer again"

# --- Landlock: its own host's directory yes, another writer's no -----------
refusals() { grep -c "sandbox test: open $link: Permission denied" "$T/recv.log" || :; }
allowed() { grep -c "sandbox test: open $link: allowed" "$T/recv.log" || :; }
set -- $(writers)
[ "$#" -ge 2 ] || fail "fewer than 2 writers left: $*"
a=$1 b=$2
own=$(hosts_of "$a" | head -n 1)
other=$(hosts_of "$b" | head -n 1)
[ -n "$own" ] && [ -n "$other" ] || fail "writers $a and $b hold no host directory"
hosts_of "$a" | grep -qx "$other" && fail "host $other is in both writers $a and $b"
ln -sfn "$trails/$own" "$link"
before=$(allowed)
kill -USR2 "$a"
wait_for '[ "$(allowed)" -gt '"$before"' ]' 10 ||
    { show_tails "$T/recv.log"; fail "writer $a could not open its own host $own's directory"; }
wait_for "grep -q 'trail writer (pid $a) killed by signal 31' '$T/recv.log'" 10 ||
    fail "writer $a was not killed (SIGSYS) at execve"
# Another writer, and a host of a third one (or of the first, gone: a
# directory it never held).
set -- $(writers)
c=$1
for w in "$@"; do
	[ "$w" = "$c" ] || { other=$(hosts_of "$w" | head -n 1); break; }
done
hosts_of "$c" | grep -qx "$other" && fail "host $other is writer $c's own"
ln -sfn "$trails/$other" "$link"
before=$(refusals)
kill -USR2 "$c"
wait_for '[ "$(refusals)" -gt '"$before"' ]' 10 ||
    { show_tails "$T/recv.log"; fail "hole: writer $c (hosts $(hosts_of "$c" | tr '\n' ' ')) could open host $other's directory"; }
echo "pool: writer $a opened its own host $own's directory; writer $c was refused host $other's (Landlock); both killed by SIGSYS after"

# The parent started another committer (10 s after), for later writers.
wait_for '[ -n "$(committer)" ] && [ "$(committer)" != "$cpid" ]' 15 ||
    { show_tails "$T/recv.log"; fail "the parent did not start another committer"; }
echo "pool: committer $cpid killed while shipping; the writers went on by themselves; committer $(committer) started after"

# --- every trail exact ----------------------------------------------------------
bg_stop fleet 0 80 || { show_tails "$T/fleet.out"; fail "the fleet did not finish within 80 s"; }
if [ "$BG_RC" != 0 ]; then
	grep FAILED "$T/fleet.out" | head -n 10
	show_tails "$T/recv.log"
	fail "the fleet exited with status $BG_RC: $(grep -c FAILED "$T/fleet.out") hosts failed"
fi
info "$(grep '^acked' "$T/fleet.out"); $(grep -c '^all back' "$T/fleet.out") time(s) all back after a cut"
bad=0
while read -r h _; do
	trail_cat "$trails/$h" > "$T/trail.tmp"
	if ! cmp -s "$T/trail.tmp" "$out/$h"; then
		bad=$((bad + 1))
		[ "$bad" -gt 3 ] || trail_compare "$T/trail.tmp" "$out/$h" | sed "s/^/$h: /"
	fi
done < "$T/fleet.list"
[ "$bad" = 0 ] || fail "$bad of $N trails differ from what their senders shipped"
if [ -s "$viol" ]; then
	head -n 5 "$viol"
	fail "a writer answered while bytes of its hosts were not synced ($(wc -l < "$viol") violations)"
fi
bg_stop recv TERM 30 || { show_tails "$T/recv.log"; fail "auditdistd did not stop"; }
[ "$BG_RC" = 0 ] || { show_tails "$T/recv.log"; fail "auditdistd exited with status $BG_RC"; }
# The two writers the trigger killed (SIGSYS) were meant to die.
grep -v "trail writer (pid \($a\|$c\)) killed by signal 31" "$T/recv.log" > "$T/recv.sane"
log_sanity "$T/recv.sane" auditdistd
echo "pool: $N hosts in $nw writers ($procs receiver processes), every trail exact through a SIGKILLed writer and two killed by the sandbox, no answer before its sync ($(( ($(now_ms) - t0) / 1000 )) s)"
