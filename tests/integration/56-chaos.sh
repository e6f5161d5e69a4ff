#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Chaos: exactly once while the processes on the path are SIGKILLed at
# random.  Two hosts each feed a recorded stream (the sample repeated,
# serial numbers moved on; the two streams differ) slowly to their own
# audisp-dist, and both ship to one auditdistd.  At least 30 times, one of
# these is SIGKILLed: a forwarder, the receiver's parent, its network
# process, or a host's trail writer; at a random moment: at once, right
# after a host's trail grew (a DATA frame was written), or right as a
# trail file is added (a rotation: trail_size and segment_size are small).
# A supervisor restarts auditdistd whenever it exits, as systemd's
# Restart= would (first killing what is left of it, as KillMode=
# control-group does).  Nothing else is done: no file is touched, no
# process is restarted by hand; every recovery must happen on its own.
# At the end each host's trail, read oldest file first as ausearch reads
# it, must be its input byte for byte: no record lost or repeated, every
# file ending with a whole record; and ausearch -if must read all of it.
#
# ADTEST_SEED=N replays a run's schedule; ADTEST_CHAOS_KILLS (kills of each
# kind, default 8), ADTEST_CHAOS_KB (input per host, KiB) and
# ADTEST_CHAOS_SECONDS (the feeding time) change its size;
# ADTEST_CHAOS_KINDS (default "fwd parent net writer") narrows a replay
# down to some kinds of kill.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

KILLS=${ADTEST_CHAOS_KILLS:-8}
read -r -a KINDS <<< "${ADTEST_CHAOS_KINDS:-fwd parent net writer}"
for k in "${KINDS[@]}"; do
	case $k in
	fwd | parent | net | writer) ;;
	*) fail "ADTEST_CHAOS_KINDS: no kind of kill named '$k'" ;;
	esac
done
KB=${ADTEST_CHAOS_KB:-1536}
FEED_SECONDS=${ADTEST_CHAOS_SECONDS:-80}
DRAIN_SECONDS=150
RESTART_SEC=0.5		# the supervisor's RestartSec
SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
SEED=${ADTEST_SEED:-$$}
RANDOM=$SEED
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FWD=$B/audisp-dist-forwarder
FEED=$B/tests/feed
HOSTS=(chaos-a chaos-b)

need_root
need_cmd openssl ss cmp perl stat pgrep setsid mkfifo
for b in "$RECV" "$PLUGIN" "$FWD" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet: make; make $FEED)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 420
t0=$(now_ms)
echo "chaos: every record exactly once while forwarders, the receiver's parent, network process and writers are SIGKILLed at random;" \
    "hole 2: a writer killed as its trail rotates must not lock its host out (hole 1, page-cache bytes reported as durable, needs a power loss to be seen)"
info "seed $SEED (ADTEST_SEED=$SEED replays this run's schedule)"

# --- inputs and configuration -----------------------------------------------
declare -A SIZE HOST_PW FEED_PID PLUG_PID
sample_stream "$SAMPLE" $((2 * KB * 1024)) "$T/all"
n=$(head -c $((KB * 1024)) "$T/all" | wc -l)
head -n "$n" "$T/all" > "$T/input.${HOSTS[0]}"
tail -n +$((n + 1)) "$T/all" > "$T/input.${HOSTS[1]}"
for h in "${HOSTS[@]}"; do
	feed_input "$T/input.$h" "$T/input.$h.feed"
	SIZE[$h]=$(stat -c %s "$T/input.$h")
	HOST_PW[$h]=$(rand_password)
	info "$h: ${SIZE[$h]} bytes, $(wc -l < "$T/input.$h") records, fed at $((SIZE[$h] / FEED_SECONDS / 1024)) KiB/s"
done

recv_setup
rconf=$T/recv.conf
test_recv_conf "$rconf" "127.0.0.1:$PORT" "timeout 3" "trail_size 64K" "$(
	for h in "${HOSTS[@]}"; do
		test_recv_host "$h" "${HOST_PW[$h]}"
	done)"
for h in "${HOSTS[@]}"; do
	test_sender_conf "$T/send.$h.conf" "$h" "$T/spool.$h" "127.0.0.1:$PORT" \
	    "$FP" "${HOST_PW[$h]}" 3 "segment_size 16K"
done

# --- the receiver, under a supervisor -------------------------------------------
# Each start is its own process group, so that what is left of an instance
# can be killed before the next one starts.  $T/recv.pid: the current
# parent; $T/recv.exits: "START PID STATUS" per exit.
supervise()
{
	local n=0 pid rc
	set +e
	while [ ! -e "$T/recv.stop" ]; do
		n=$((n + 1))
		echo "=== supervisor: start $n" >> "$T/recv.log"
		setsid "$RECV" -f "$rconf" </dev/null >>"$T/recv.log" 2>&1 &
		pid=$!
		echo "$pid" > "$T/recv.pid"
		wait "$pid"
		rc=$?
		echo "$n $pid $rc" >> "$T/recv.exits"
		echo "=== supervisor: start $n (pid $pid) ended with status $rc" >> "$T/recv.log"
		kill -KILL -- "-$pid" 2>/dev/null
		wait_for '! pgrep -g "$pid"' 10 ||
		    echo "=== supervisor: group $pid survived SIGKILL" >> "$T/recv.log"
		[ -e "$T/recv.stop" ] || sleep "$RESTART_SEC"
	done
}

# The current parent, if it runs.
recv_pid()
{
	local p
	p=$(cat "$T/recv.pid" 2>/dev/null || :)
	[ -n "$p" ] && pid_alive "$p" && echo "$p"
	return 0
}

# net_pid PARENT: the network process, the child that listens.
net_pid()
{
	local n
	n=$(ss -Hltnp "( sport = :$PORT )" 2>/dev/null |
	    sed -n 's/.*pid=\([0-9]*\),.*/\1/p' | head -n 1)
	[ -n "$n" ] && [ "$(ps -o ppid= -p "$n" 2>/dev/null | tr -d ' ')" = "$1" ] && echo "$n"
	return 0
}

recv_ready()
{
	local p
	p=$(recv_pid)
	[ -n "$p" ] && [ -n "$(net_pid "$p")" ]
}

# writer_pid HOST: the current parent's child that holds HOST's directory.
writer_pid()
{
	local p c
	p=$(recv_pid)
	[ -n "$p" ] || return 0
	for c in $(pgrep -P "$p" 2>/dev/null); do
		if [ -n "$(find "/proc/$c/fd" -mindepth 1 -maxdepth 1 \( -lname "$trails/$1" \
		    -o -lname "$trails/$1/*" \) -print -quit 2>/dev/null)" ]; then
			echo "$c"
			return 0
		fi
	done
	return 0
}

# --- the senders -------------------------------------------------------------------
send_start()	# HOST
{
	local h=$1
	bg_start "send.$h" "$T/send.$h.log" "$FEED" -b 4194304 -t 900 \
	    -r $((SIZE[$h] / FEED_SECONDS)) -w "${SIZE[$h]}:$T/go.never" \
	    "$T/input.$h.feed" "$PLUGIN" -f "$T/send.$h.conf"
	FEED_PID[$h]=$BG_PID
	wait_for '[ "$(ps -o comm= -p "$(child_pid "${FEED_PID[$h]}")" 2>/dev/null)" = audisp-dist ]' 5 ||
	    fail "$h: feed started no audisp-dist"
	PLUG_PID[$h]=$(child_pid "${FEED_PID[$h]}")
}

send_check()	# the plugins must not die
{
	local h rc
	for h in "${HOSTS[@]}"; do
		pid_alive "${FEED_PID[$h]}" && continue
		{ wait "${FEED_PID[$h]}"; } 2>/dev/null && rc=0 || rc=$?
		show_tails -n 30 "$T/send.$h.log"
		fail "$h: audisp-dist died on its own (feed status $rc)"
	done
}

# fwd_pid HOST: the forwarder, the plugin's child.
fwd_pid()
{
	local c
	c=$(child_pid "${PLUG_PID[$1]}")
	[ -n "$c" ] && [ "$(cat "/proc/$c/comm" 2>/dev/null)" = audisp-dist-for ] && echo "$c"
	return 0
}

# --- moments -------------------------------------------------------------------------
mkfifo "$T/spin"

# moment_value KIND DIR: MV becomes what KIND watches in the trail DIR: the
# number of files in its store (rotation: no process started for it) or
# the size of audit.log (data).
moment_value()
{
	local -a f
	case $1 in
	rotation)
		shopt -s nullglob
		f=("$2"/.store/*)
		shopt -u nullglob
		MV=${#f[@]} ;;
	data)
		MV=$(stat -c %s "$2/audit.log" 2>/dev/null || echo none) ;;
	esac
}

# moment KIND HOST MAX_MS: return as soon as KIND (now, data, rotation)
# happens to HOST's trail, or after MAX_MS; MOMENT says which.
moment()
{
	local kind=$1 d=$trails/$2 end v0
	MOMENT=$kind
	[ "$kind" != now ] || return 0
	end=$(( ${EPOCHREALTIME/./} / 1000 + $3 ))
	moment_value "$kind" "$d"
	v0=$MV
	while [ $(( ${EPOCHREALTIME/./} / 1000 )) -lt "$end" ]; do
		moment_value "$kind" "$d"
		[ "$MV" = "$v0" ] || return 0
		# a 3 ms pause without a fork
		read -r -t 0.003 _ <> "$T/spin" || :
	done
	MOMENT=late
}

# --- kills -----------------------------------------------------------------------------
declare -A NKILL=([fwd]=0 [parent]=0 [net]=0 [writer]=0)
declare -A NMOMENT=([now]=0 [data]=0 [rotation]=0 [late]=0)
n_redirect=0

recv_wait()
{
	if ! wait_for recv_ready 30; then
		show_tails -n 30 "$T/recv.log"
		fail "auditdistd has not been listening for 30 s (supervisor: $(wc -l < "$T/recv.exits" 2>/dev/null || echo 0) exits so far)"
	fi
}

# target KIND HOST: TARGET_PID becomes the pid to kill, TARGET_HOST the
# host it serves (all hosts, for the receiver's parent and network process).
target()
{
	local kind=$1 h=$2 o
	TARGET_HOST=$h
	case $kind in
	fwd)
		if ! wait_for '[ -n "$(fwd_pid "$h")" ]' 70; then
			show_tails -n 30 "$T/send.$h.log"
			fail "$h: the plugin (pid ${PLUG_PID[$h]}) has run no forwarder for 70 s"
		fi
		TARGET_PID=$(fwd_pid "$h") ;;
	parent)
		recv_wait
		TARGET_PID=$(recv_pid) ;;
	net)
		recv_wait
		TARGET_PID=$(net_pid "$(recv_pid)") ;;
	writer)
		# A host reconnecting after backoff has no writer for a while:
		# then the other host's writer, if it has one.
		recv_wait
		for o in "$h" "${HOSTS[@]}"; do
			TARGET_HOST=$o
			if wait_for '[ -n "$(writer_pid "$o")" ]' 20; then
				[ "$o" = "$h" ] || n_redirect=$((n_redirect + 1))
				TARGET_PID=$(writer_pid "$o")
				return 0
			fi
		done
		show_tails -n 40 "$T/recv.log"
		fail "no host has had a trail writer for 60 s" ;;
	esac
}

# chaos_kill KIND HOST MOMENT MAX_MS: SIGKILL one KIND at MOMENT.
chaos_kill()
{
	local kind=$1 h=$2 mom=$3 max=$4
	for _ in 1 2 3; do
		target "$kind" "$h"
		[ -n "$TARGET_PID" ] || continue
		moment "$mom" "$TARGET_HOST" "$max"
		if kill -KILL "$TARGET_PID" 2>/dev/null; then
			NKILL[$kind]=$((NKILL[$kind] + 1))
			NMOMENT[$MOMENT]=$((NMOMENT[$MOMENT] + 1))
			return 0
		fi
	done
	fail "could not SIGKILL a $kind (of $h) in 3 tries"
}

# --- the run ------------------------------------------------------------------------------
bg_start super "$T/super.log" supervise
SUPER_PID=$BG_PID
# Should the supervisor itself be killed: the instance it ran goes too.
on_exit 'p=$(cat "$T/recv.pid" 2>/dev/null) && [ -n "$p" ] && kill -KILL -- "-$p" 2>/dev/null'
recv_wait
for h in "${HOSTS[@]}"; do
	send_start "$h"
done
for h in "${HOSTS[@]}"; do
	wait_for '[ "$(trail_size "$trails/$h")" -gt 0 ]' 20 ||
	    { show_tails -n 30 "$T/recv.log" "$T/send.$h.log"; fail "$h: nothing reached the receiver within 20 s"; }
done

# KILLS of each kind, each host as often, moments drawn at random; shuffled.
MOMENTS=(now data rotation)
sched=()
for ((i = 0; i < KILLS; i++)); do
	for kind in "${KINDS[@]}"; do
		sched+=("$kind:$((i % 2)):${MOMENTS[RANDOM % 3]}")
	done
done
for ((i = ${#sched[@]} - 1; i > 0; i--)); do
	j=$((RANDOM % (i + 1)))
	x=${sched[i]} sched[i]=${sched[j]} sched[j]=$x
done

t_end=$((t0 + FEED_SECONDS * 1000))
step=0
for ev in "${sched[@]}"; do
	step=$((step + 1))
	IFS=: read -r kind hi mom <<< "$ev"
	h=${HOSTS[hi]}
	# Spread the kills over what is left of the feeding.
	gap=$(( (t_end - $(now_ms)) / (${#sched[@]} - step + 1) ))
	[ "$gap" -ge 400 ] || gap=400
	[ "$gap" -le 6000 ] || gap=6000
	ms=$(( gap / 4 + RANDOM % (gap / 4 + 1) ))
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	send_check
	chaos_kill "$kind" "$h" "$mom" $((gap / 2))
	info "step $step/${#sched[@]}: $kind of $TARGET_HOST killed ($MOMENT);" \
	    "trails $(trail_size "$trails/${HOSTS[0]}") and $(trail_size "$trails/${HOSTS[1]}") bytes"
done
t_kills=$(now_ms)

# --- the end: everything arrives, once --------------------------------------------------
send_check
drained()
{
	local h
	for h in "${HOSTS[@]}"; do
		[ "$(trail_size "$trails/$h")" -ge "${SIZE[$h]}" ] || return 1
	done
}
if ! wait_for drained "$DRAIN_SECONDS"; then
	for h in "${HOSTS[@]}"; do
		sz=$(trail_size "$trails/$h")
		[ "$sz" -lt "${SIZE[$h]}" ] || continue
		echo "$h: the trail holds $sz of ${SIZE[$h]} bytes; sender status: $(tail -n 1 "$T/spool.$h/status" 2>/dev/null)"
		locked=$(grep -m 1 "host $h: .*refused until this is fixed" "$T/recv.log" || :)
		[ -z "$locked" ] || echo "hole 2: host $h is locked out, waiting for an operator: $locked"
		echo "--- $T/recv.log: the last lines about $h (repeats counted)"
		grep -E "host $h:|supervisor" "$T/recv.log" | uniq -c | tail -n 25 | cut -c1-300 | sed 's/^/  | /'
		show_tails -n 15 "$T/send.$h.log"
		trail_cat "$trails/$h" > "$T/trail.$h"
		trail_compare "$T/trail.$h" "$T/input.$h" || {
			echo "the trail's names and files:"
			trail_links "$trails/$h"
		}
	done
	fail "not every trail is complete $DRAIN_SECONDS s after the last kill (seed $SEED)"
fi
t_drained=$(now_ms)
for h in "${HOSTS[@]}"; do
	wait_for '[ "$(status_value "$T/spool.$h/status" unacked.recv)" = 0 ]' 20 ||
	    fail "$h: the trail is complete but the sender's status says: $(tail -n 1 "$T/spool.$h/status")"
done
sleep 2		# anything more (a duplicate) would arrive now

# Orderly stop: the senders, then the receiver (for good).
for h in "${HOSTS[@]}"; do
	kill -TERM "${PLUG_PID[$h]}"
	bg_stop "send.$h" 0 15 || fail "$h: audisp-dist did not exit within 15 s of SIGTERM"
done
touch "$T/recv.stop"
termed=
stopped()
{
	local p
	pid_alive "$SUPER_PID" || return 0
	p=$(recv_pid)
	if [ -n "$p" ] && [ "$p" != "$termed" ]; then
		kill -TERM "$p"
		termed=$p
	fi
	return 1
}
wait_for stopped 30 || fail "auditdistd did not exit within 30 s of SIGTERM"
bg_stop super 0 5 || :
last=$(tail -n 1 "$T/recv.exits")
[ "${last##* }" = 0 ] || { show_tails -n 30 "$T/recv.log"; fail "auditdistd exited with status ${last##* } after SIGTERM"; }

# --- checks -----------------------------------------------------------------------------------
log_sanity "$T/recv.log" auditdistd
for h in "${HOSTS[@]}"; do
	log_sanity "$T/send.$h.log" "audisp-dist of $h"
done
bytes=0 lines=0
for h in "${HOSTS[@]}"; do
	d=$trails/$h
	trail_cat "$d" > "$T/trail.$h"
	if ! trail_compare "$T/trail.$h" "$T/input.$h"; then
		echo "the trail's names and files:"
		trail_links "$d"
		fail "$h: the trail is not the input byte for byte (seed $SEED)"
	fi
	trail_whole_lines "$d"
	l=$(wc -l < "$T/trail.$h")
	[ "$l" = "$(wc -l < "$T/input.$h")" ] || fail "$h: $l lines in the trail, $(wc -l < "$T/input.$h") in the input"
	if command -v ausearch >/dev/null 2>&1; then
		rc=0
		timeout 60 ausearch -if "$d" --raw > "$T/ausearch.$h" 2> "$T/ausearch.$h.err" || rc=$?
		raw=$(wc -l < "$T/ausearch.$h")
		if [ "$rc" != 0 ] || [ "$raw" != "$l" ]; then
			fail "$h: ausearch -if $d --raw: status $rc, $raw of $l records ($(head -c 300 "$T/ausearch.$h.err"))"
		fi
	fi
	info "$h: ${SIZE[$h]} bytes, $l records, identical in $(trail_files "$d" | wc -l) trail files"
	bytes=$((bytes + SIZE[$h])) lines=$((lines + l))
done

restarts=$(( $(wc -l < "$T/recv.exits") - 1 ))
statuses=$(head -n -1 "$T/recv.exits" | awk '{ print $3 }' | sort -n | uniq -c |
    awk '{ printf "%s%sx%s", sep, $2, $1; sep = " " }')
t1=$(now_ms)
echo "chaos: kills forwarder=${NKILL[fwd]} parent=${NKILL[parent]} network=${NKILL[net]} writer=${NKILL[writer]}" \
    "(at once ${NMOMENT[now]}, right after data ${NMOMENT[data]}, at a rotation ${NMOMENT[rotation]}, moment missed ${NMOMENT[late]};" \
    "writer kills moved to the other host $n_redirect), receiver restarts=$restarts (exit statuses ${statuses:-none})," \
    "compared $bytes bytes ($lines lines): identical, 0 lost, 0 torn;" \
    "kills $(( (t_kills - t0) / 1000 )) s, drained $(( (t_drained - t_kills) / 1000 )) s after, $(( (t1 - t0) / 1000 )) s in all; seed $SEED"
