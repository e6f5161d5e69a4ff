#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Exactly once under faults.  A recorded stream of over 100,000 real records
# (the sample repeated, serial numbers moved on each copy) is fed to
# audisp-dist at a steady pace while, at random moments:
#   - auditdistd is SIGKILLed and started again (sometimes after a pause),
#   - the forwarder is SIGKILLed (the plugin must start a new one),
#   - the plugin is SIGKILLed and started again on the input from where its
#     spool's whole records end (as auditd resends what was in flight),
#   - the receiver is stopped for several seconds (connection refused),
#   - the receiver is frozen with SIGSTOP (a stalled connection: the
#     forwarder must time out and reconnect once it thaws),
#   - once, with the plugin stopped, its spool is wiped: the plugin starts a
#     new series (new spool id), fed from where the receiver's trail ends;
#     the receiver must add it after what it holds and overwrite nothing,
#   - the sender's clock is set back (with libfaketime, when installed).
# At the end the receiver's trail must be the input byte for byte: no gap,
# no duplicate, no torn line, EOE records kept.
#
# ADTEST_SEED=N replays a run; ADTEST_FAULTS_MB, ADTEST_FAULTS_SECONDS (the
# feeding time) and ADTEST_FAULTS_KILLS (kills of each kind) change its size.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

MB=${ADTEST_FAULTS_MB:-23}
FEED_SECONDS=${ADTEST_FAULTS_SECONDS:-110}
KILLS=${ADTEST_FAULTS_KILLS:-11}
SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
SEED=${ADTEST_SEED:-$$}
RANDOM=$SEED
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FWD=$B/audisp-dist-forwarder
FEED=$B/tests/feed
read -r -a RECV_ARGS <<< "${ADTEST_RECV_ARGS:--f}"
HOST=faults

need_root
need_cmd openssl ss cmp perl stat pgrep
for b in "$RECV" "$PLUGIN" "$FWD" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet: make; make $FEED)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 480
t0=$(now_ms)
info "seed $SEED (ADTEST_SEED=$SEED replays this run's schedule)"

input=$T/input
sample_stream "$SAMPLE" $((MB * 1024 * 1024)) "$input"
feed_input "$input" "$input.feed"
size=$(stat -c %s "$input")
records=$(wc -l < "$input")
[ "$records" -ge 100000 ] || info "only $records records (ADTEST_FAULTS_MB=$MB)"
RATE=$((size / FEED_SECONDS))
info "input: $size bytes, $records records, fed at $((RATE / 1024)) KiB/s"

recv_setup
tdir=$trails/$HOST

rconf=$T/recv.conf
# The wiped spool's new series is accepted once the old one is gone.
test_recv_conf "$rconf" "127.0.0.1:$PORT" "timeout 3" "trail_size 4M" \
    "series_hold 0" "$(test_recv_host "$HOST" "$PW")"

spool=$T/spool
conf=$T/sender.conf
test_sender_conf "$conf" "$HOST" "$spool" "127.0.0.1:$PORT" "$FP" "$PW" 3 \
    "$(printf '%s\n' "segment_size 128K" "flush none" "spool_max_size 0")"

sanity()	# LOG WHAT
{
	if grep -qE 'invariant failed|AddressSanitizer|runtime error|LeakSanitizer' "$1"; then
		grep -E -B3 -A10 'invariant failed|Sanitizer|runtime error' "$1" | head -30 | sed 's/^/  | /'
		fail "$2 reported an internal error"
	fi
}

# --- the receiver ----------------------------------------------------------------
recv_starts=0
recv_start()
{
	bg_start recv "$T/recv.log" "$RECV" "${RECV_ARGS[@]}" "$rconf"
	RECV_PID=$BG_PID
	recv_starts=$((recv_starts + 1))
	if ! wait_for "port_listening $PORT" 10; then
		show_tails -n 30 "$T/recv.log"
		fail "auditdistd (start $recv_starts) did not listen on port $PORT within 10 s"
	fi
}

recv_check()	# the receiver must not die on its own
{
	if ! pid_alive "$RECV_PID"; then
		{ wait "$RECV_PID"; } 2>/dev/null && rc=0 || rc=$?
		show_tails -n 30 "$T/recv.log"
		fail "auditdistd died on its own (status $rc)"
	fi
}

recv_kill()	# SIGNAL
{
	kill "-$1" "$RECV_PID" 2>/dev/null
	wait_for '! pid_alive "$RECV_PID"' 10 || fail "auditdistd ignored SIG$1 for 10 s"
	{ wait "$RECV_PID"; } 2>/dev/null || :
	unset '_BG_PIDS[recv]'
}

# --- the sender --------------------------------------------------------------------
K=0		# where the current feed started
feeds=0
send_start()	# [WRAPPER...]: feed the input from K
{
	local go=$T/go.never
	feeds=$((feeds + 1))
	bg_start send "$T/send.$feeds.log" "$FEED" -b 4194304 -t 900 -r "$RATE" \
	    -o "$K" -w "$((size - K)):$go" -p "$T/fed" "$input.feed" \
	    "$@" "$PLUGIN" -f "$conf"
	FEED_PID=$BG_PID
	wait_for '[ -n "$(pgrep -P "$FEED_PID")" ]' 5 || fail "feed started no plugin"
	PLUG_PID=$(child_pid "$FEED_PID")
	# A wrapper must exec the plugin: the kills below aim at this pid.
	wait_for '[ "$(ps -o comm= -p "$PLUG_PID" 2>/dev/null)" = audisp-dist ]' 5 ||
	    fail "the feed's child (pid $PLUG_PID) is not audisp-dist"
}

# The forwarder: the plugin's child (a wrapper such as env(1) execs the
# plugin in its own process).
fwd_pid()
{
	child_pid "$PLUG_PID"
}

send_check()
{
	if ! pid_alive "$FEED_PID"; then
		{ wait "$FEED_PID"; } 2>/dev/null && rc=0 || rc=$?
		show_tails -n 30 "$T/send.$feeds.log"
		fail "audisp-dist died on its own (feed status $rc)"
	fi
}

# Where the plugin's stream ends: the end of the last whole record of the
# newest segment that holds one, found in the input (records are unique),
# or the end of the receiver's trail if that is further (segments shipped
# and deleted).  The trail must be a byte prefix of the input.
stream_end()
{
	local kt ks segs
	trail_cat "$tdir" > "$T/trail.now"
	kt=$(perl -e 'local $/; my $s = <STDIN>; my $i = rindex($s, "\n"); print $i + 1;' < "$T/trail.now")
	if ! cmp -n "$kt" "$T/trail.now" "$input" >&2; then
		fail "the receiver's trail ($kt bytes of whole lines) is not a prefix of the input"
	fi
	mapfile -t segs < <(spool_segments "$spool")
	ks=0
	if [ "${#segs[@]}" -gt 0 ]; then
		ks=$(perl -e '
			my ($in, @segs) = @ARGV;
			open(my $fh, "<", $in) or die "$in: $!\n";
			local $/; my $s = <$fh>; close $fh;
			for my $f (reverse @segs) {
				my $sz = -s $f or next;
				open(my $g, "<", $f) or die "$f: $!\n";
				my $n = $sz < 65536 ? $sz : 65536;
				seek($g, $sz - $n, 0); read($g, my $b, $n);
				my $j = rindex($b, "\n");
				next if $j < 0;
				my $k = rindex($b, "\n", $j - 1);
				die "$f: a line longer than 64 KiB\n" if $k < 0 && $n < $sz;
				my $line = substr($b, $k + 1, $j - $k);
				my $p = index($s, $line);
				$p = index($s, $line, $p + 1) while $p > 0 && substr($s, $p - 1, 1) ne "\n";
				die "$f: its last record is not in the input\n" if $p < 0;
				die "$f: its last record is in the input twice\n"
				    if index($s, $line, $p + 1) >= 0;
				print $p + length($line);
				exit 0;
			}
			print 0;' "$input" "${segs[@]}")
	fi
	if [ "$ks" -gt "$kt" ]; then echo "$ks"; else echo "$kt"; fi
}

# --- faults ------------------------------------------------------------------------
n_recv_kill=0 n_fwd_kill=0 n_plug_kill=0 n_outage=0 n_stall=0 n_wipe=0
n_clock=0 fwd_wait_max=0 n_torn=0
clock_note=

kill_receiver()
{
	local cur tsz line len
	recv_kill KILL
	n_recv_kill=$((n_recv_kill + 1))
	# Every other time, leave what a kill inside write() would: a torn
	# start of the next record at the end of the newest trail file.  The
	# receiver's start-up must cut it (it was never acknowledged).
	cur=$tdir/audit.log
	if [ $((n_recv_kill % 2)) = 0 ] && [ -f "$cur" ] && [ -s "$cur" ] &&
	    [ "$(tail -c 1 "$cur" | od -An -tx1 | tr -d ' ')" = 0a ]; then
		tsz=$(trail_size "$tdir")
		if [ "$tsz" -lt "$size" ]; then
			line=$(tail -c +$((tsz + 1)) "$input" 2>/dev/null | head -n 1 || :)
			len=$((1 + RANDOM % (${#line} - 1)))
			printf '%s' "${line:0:len}" >> "$cur"
			n_torn=$((n_torn + 1))
		fi
	fi
	# Mostly at once; sometimes after a pause.
	sleep "0.$((RANDOM % 10))"
	recv_start
}

outage()
{
	recv_kill TERM
	n_outage=$((n_outage + 1))
	sleep $((4 + RANDOM % 4))
	recv_start
}

stall()
{
	kill -STOP "$RECV_PID"
	n_stall=$((n_stall + 1))
	sleep $((6 + RANDOM % 4))
	kill -CONT "$RECV_PID"
}

# SIGKILL the forwarder.  The plugin must start a new one (after its own
# backoff); if it has not yet after the last kill, wait for it first.
# The backoff doubles while forwarders die within a minute of their start,
# up to 60 s (plugin/fwd_super.c): five kills in a row without a "plug"
# step in between already make it 32 s.
kill_forwarder()
{
	local f t1
	t1=$(now_ms)
	if ! wait_for '[ -n "$(fwd_pid)" ]' 65; then
		show_tails -n 30 "$T/send.$feeds.log"
		fail "the plugin (pid $PLUG_PID) has run no forwarder for 65 s (its backoff is at most 60 s)"
	fi
	t1=$(( $(now_ms) - t1 ))
	[ "$t1" -le "$fwd_wait_max" ] || fwd_wait_max=$t1
	f=$(fwd_pid)
	if [ -n "$f" ] && kill -KILL "$f" 2>/dev/null; then
		n_fwd_kill=$((n_fwd_kill + 1))
	fi
}

# Stop the plugin with SIGKILL and wait until it and its forwarder are gone.
plugin_down()
{
	local f
	f=$(fwd_pid)
	kill -KILL "$PLUG_PID"
	wait_for '! pid_alive "$FEED_PID"' 10 || fail "feed did not exit after its plugin was killed"
	{ wait "$FEED_PID"; } 2>/dev/null && rc=0 || rc=$?
	unset '_BG_PIDS[send]'
	[ "$rc" = 137 ] || { show_tails -n 30 "$T/send.$feeds.log"; fail "feed: status $rc, expected 137 (SIGKILL)"; }
	sanity "$T/send.$feeds.log" audisp-dist
	if [ -n "$f" ] && ! wait_for '! pid_alive "$f"' 10; then
		fail "the forwarder (pid $f) still runs 10 s after its plugin was SIGKILLed"
	fi
}

kill_plugin()	# [WRAPPER...]
{
	plugin_down
	n_plug_kill=$((n_plug_kill + 1))
	K=$(stream_end)
	send_start "$@"
}

wipe_spool()
{
	plugin_down
	n_wipe=$((n_wipe + 1))
	# Everything not yet on the receiver is lost with the spool: auditd
	# "resends" it, from the end of the trail.
	stream_end > /dev/null
	K=$(perl -e 'local $/; my $s = <STDIN>; print rindex($s, "\n") + 1;' < "$T/trail.now")
	wipe_at=$K
	rm -rf "$spool"
	mkdir -m 0700 "$spool"
	send_start
}

clock_back()
{
	local lib
	# libfaketime preloaded through env(1), which execs: the faketime(1)
	# wrapper forks and would sit between the feed and the plugin.
	lib=$(dpkg -L libfaketime 2>/dev/null | grep '/libfaketimeMT\.so\.1$' | head -n 1 || :)
	if [ -z "$lib" ] || [ ! -f "$lib" ]; then
		clock_note="clock set back: skipped (libfaketime is not installed; the real clock is never changed)"
		info "$clock_note"
		return 0
	fi
	n_clock=$((n_clock + 1))
	# The plugin clears its environment, so only it runs an hour behind
	# (its forwarder does not); its segment names must not depend on the
	# clock.
	kill_plugin env LD_PRELOAD="$lib" FAKETIME=-3600s
	grep -q libfaketime "/proc/$PLUG_PID/maps" ||
	    fail "the plugin (pid $PLUG_PID) runs without libfaketime"
	clock_note="clock set back one hour for the plugin (libfaketime), feed $feeds"
}

# A shuffled schedule: KILLS kills of each kind, an outage, a stall, a
# wipe (in the middle third) and a clock change.
sched=()
for ((i = 0; i < KILLS; i++)); do
	sched+=(recv fwd plug)
done
sched+=(outage stall clock)
for ((i = ${#sched[@]} - 1; i > 0; i--)); do
	j=$((RANDOM % (i + 1)))
	x=${sched[i]} sched[i]=${sched[j]} sched[j]=$x
done
mid=$(( ${#sched[@]} / 3 + RANDOM % (${#sched[@]} / 3) ))
sched=("${sched[@]:0:mid}" wipe "${sched[@]:mid}")

recv_start
send_start
wait_for '[ -n "$(fwd_pid)" ]' 10 || { show_tails -n 30 "$T/send.1.log"; fail "the plugin started no forwarder"; }
wait_for '[ "$(trail_size "$tdir")" -gt 0 ]' 20 ||
    { show_tails -n 30 "$T/recv.log" "$T/send.1.log"; fail "nothing reached the receiver within 20 s"; }

step=0
for ev in "${sched[@]}"; do
	step=$((step + 1))
	# Spread the faults over what is left of the feeding: the time the
	# rest of the input takes at RATE, shared by the steps left.
	left=$(( (size - $(trail_size "$tdir")) * 1000 / RATE ))
	gap=$(( left / (${#sched[@]} - step + 1) ))
	ms=$(( gap / 2 + (RANDOM * 32768 + RANDOM) % (gap + 1) ))
	[ "$ms" -ge 200 ] || ms=200
	[ "$ms" -le 6000 ] || ms=6000
	sleep "$((ms / 1000)).$(printf %03d $((ms % 1000)))"
	recv_check
	send_check
	case $ev in
	recv)	kill_receiver ;;
	fwd)	kill_forwarder ;;
	plug)	kill_plugin ;;
	outage)	outage ;;
	stall)	stall ;;
	wipe)	wipe_spool ;;
	clock)	clock_back ;;
	esac
	info "step $step/${#sched[@]}: $ev; trail $(trail_size "$tdir") of $size bytes, fed from $K (feed $feeds)"
done
t_faults=$(now_ms)

# --- the end: everything arrives, once -------------------------------------------------
recv_check
send_check
if ! wait_for '[ "$(trail_size "$tdir")" -ge "$size" ]' 120; then
	show_tails -n 30 "$T/recv.log" "$T/send.$feeds.log"
	echo "status: $(tail -n 1 "$spool/status" 2>/dev/null)"
	fail "the trail holds $(trail_size "$tdir") of $size bytes 120 s after the last fault"
fi
t_done=$(now_ms)
wait_for '[ "$(status_value "$spool/status" unacked.recv)" = 0 ]' 15 ||
    fail "the trail is complete but the status says: $(tail -n 1 "$spool/status")"
sleep 2		# anything more (a duplicate) would arrive now
trail_cat "$tdir" > "$T/trail.final"
trail_compare "$T/trail.final" "$input" ||
    fail "the receiver's trail is not the input byte for byte (seed $SEED)"
for f in $(trail_files "$tdir"); do
	[ "$(tail -c 1 "$f" | od -An -tx1 | tr -d ' ')" = 0a ] || fail "$f ends inside a record"
done

# Orderly stop.
kill -TERM "$PLUG_PID"
bg_stop send 0 15 || fail "audisp-dist did not exit within 15 s of SIGTERM"
bg_stop recv TERM 15 || fail "auditdistd did not exit within 15 s of SIGTERM"
[ "$BG_RC" = 0 ] || { show_tails -n 30 "$T/recv.log"; fail "auditdistd exited with status $BG_RC after SIGTERM"; }
sanity "$T/recv.log" auditdistd
for ((i = 1; i <= feeds; i++)); do
	sanity "$T/send.$i.log" "audisp-dist (feed $i)"
done

t1=$(now_ms)
series=$(grep -c 'new series' "$T/recv.log" || :)
cuts=$(grep -ciE 'cut a torn' "$T/recv.log" || :)
[ "$cuts" = "$n_torn" ] ||
    fail "the receiver says it cut $cuts torn tails; the test left $n_torn"
conns=$(grep -cE "host $HOST: connected from" "$T/recv.log" || :)
kills=$((n_recv_kill + n_fwd_kill + n_plug_kill))
echo "faults: $records records, $size bytes, byte-identical at the receiver ($(trail_files "$tdir" | wc -l) trail files, $series series);" \
    "$kills kills: receiver $n_recv_kill, forwarder $n_fwd_kill (waited up to $((fwd_wait_max / 1000)).$((fwd_wait_max % 1000 / 100)) s for the plugin to restart it)," \
    "plugin $n_plug_kill; $n_outage outage, $n_stall stall, $n_wipe spool wipe (refed from byte ${wipe_at:-?});" \
    "$recv_starts receiver starts, $feeds feeds, $conns authenticated connections, $cuts torn trail tails left by the test and cut by the receiver;" \
    "${clock_note:-clock: not reached};" \
    "faults $(( (t_faults - t0) / 1000 )) s, drained $(( (t_done - t_faults) / 1000 )) s after, $(( (t1 - t0) / 1000 )) s in all; seed $SEED"
