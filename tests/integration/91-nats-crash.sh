#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# The whole receiver SIGKILLed while it publishes: parent, network
# process, writers, auditor and publisher at once (its process group), and
# started again, several times, while two real senders ship and a reader
# (auditdistd -R) reads the stream back.  The receiver runs with
# tests/shim/durable.c preloaded, which keeps what every process of it
# made durable (synced) in a file that outlives them, and which stops a
# process where the test then kills the whole receiver:
#   - a writer about to sync bytes it wrote, while the publisher goes on
#     for two of its rounds: the publisher must not read (so publish)
#     bytes that are not durable; it syncs what it reads, and the shim
#     records any read past the durable size as a violation;
#   - the publisher right after its sync, before it publishes;
#   - the publisher after a publication, about to save its cursor;
# and at random moments besides.  At the end the stream, read message by
# message (tests/helpers/natsread), holds each host's bytes once, in
# order, with no gap: the sender's input; the receiver's trail is the
# input too, the reader's is the receiver's file for file, and the shim
# recorded no violation.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh
# shellcheck source=tests/nats.sh
. tests/nats.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/test/auditdistd
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
NATSREAD=$B/tests/natsread
SHIM=$B/tests/durable.so
STREAM=ADTEST
HOSTS="alpha beta"

need_root
need_cmd openssl ss stat cmp setsid pgrep mount umount
command -v nats-server >/dev/null 2>&1 ||
    skip "no nats-server (apt-get install nats-server; make deps does)"
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED" "$NATSREAD" "$SHIM"; do
	[ -e "$b" ] || skip "no $b (not built yet: make all $RECV $FEED $NATSREAD $SHIM)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 150

nats_init
recv_setup
# The trails on a file system of their own: the shim follows only it.
mount -t tmpfs -o size=64m,mode=0750 adtest-durable "$trails" ||
	skip "no tmpfs for the trails"
on_exit "umount '$trails' 2>/dev/null || umount -l '$trails' 2>/dev/null || cleanup_failed 'could not unmount $trails'"
mkdir -m 0755 "$T/state"
chown "$FWD_USER" "$T/state"
status=$T/state/status
read=$T/read
shimlog=$T/durable.log
ctl=$T/durable.ctl
: > "$shimlog"
echo off > "$ctl"
# What was made durable: 4096 slots of 16 bytes (MAP_SLOTS in the shim).
head -c 65536 /dev/zero > "$T/durable.map"
chmod 0666 "$shimlog" "$ctl" "$T/durable.map"	# the processes run as $FWD_USER

publish_block()	# [EXTRA-LINE...]
{
	printf '\tpublish "%s" {\n\t\tsubject_prefix adtest\n' "$URLS"
	printf '\t\tstream %s\n\t\tcreate_stream yes\n\t\treplicas 3\n' "$STREAM"
	for l in "$@"; do
		printf '\t\t%s\n' "$l"
	done
	printf '\t}\n'
}
{
	printf 'timeout 5\npidfile "none"\nreceiver {\n'
	printf '\tlisten "tls://127.0.0.1:%s"\n' "$PORT"
	printf '\tdirectory "%s"\n\tuser "%s"\n' "$trails" "$FWD_USER"
	printf '\tcertfile "%s"\n\tkeyfile "%s"\n' "$pki/recv.pem" "$pki/recv.key"
	printf '\tstatus_file "%s"\n\ttrail_size 512K\n' "$status"
	publish_block
	for h in $HOSTS; do
		printf '\thost %s {\n\t\tremote "tls://127.0.0.1"\n' "$h"
		printf '\t\tpassword "%s"\n\t}\n' "$PW"
	done
	printf '}\n'
} > "$T/recv.conf"
{
	printf 'receiver {\n\tuser "%s"\n\ttrail_size 512K\n' "$FWD_USER"
	publish_block "read_into \"$read\"" "consumer adtest-crash"
	printf '}\n'
} > "$T/read.conf"
chmod 0600 "$T/recv.conf" "$T/read.conf"

hv()	# HOST KEY: from the receiver's status file
{
	grep " host=$1 " "$status" 2>/dev/null | tr ' ' '\n' |
	    sed -n "s/^$2=//p" | head -n 1
}

published()	# both hosts' published bytes (0 while unknown)
{
	local h v sum=0
	for h in $HOSTS; do
		v=$(hv "$h" published_bytes)
		case $v in
		''|*[!0-9]*) ;;
		*) sum=$((sum + v)) ;;
		esac
	done
	echo "$sum"
}

# The receiver in a process group of its own (setsid: bg_start's child
# is no group leader, so setsid does not fork), under the shim.
STARTS=0
start_receiver()
{
	STARTS=$((STARTS + 1))
	bg_start "recv$STARTS" "$T/recv.log" setsid env LD_PRELOAD="$(realpath "$SHIM")" \
	    DURABLE_ROOT="$trails" DURABLE_MAP="$T/durable.map" DURABLE_LOG="$shimlog" \
	    DURABLE_CTL="$ctl" "$RECV" -f "$T/recv.conf"
	RPID=$BG_PID
	on_exit "kill -KILL -- -$RPID 2>/dev/null || :"
	wait_for "port_listening $PORT" 10 ||
		{ show_tails "$T/recv.log"; fail "auditdistd did not listen (start $STARTS)"; }
	[ "$(ps -o pgid= -p "$RPID" | tr -d ' ')" = "$RPID" ] ||
		fail "auditdistd is not the leader of its process group"
}

# The shim's verdict: no read of bytes that were not durable.
all_durable()	# WHEN
{
	grep -q '^violation' "$shimlog" || return 0
	grep '^violation' "$shimlog" | head -5 | sed 's/^/  | /'
	fail "$1: the publisher read $(grep -c '^violation' "$shimlog") times bytes that were not durable"
}

# kill_receiver WHEN: SIGKILL to every process of it at once.
kill_receiver()
{
	local n
	n=$(pgrep -g "$RPID" | wc -l)
	kill -KILL -- "-$RPID"
	wait_for '[ -z "$(pgrep -g "$RPID")" ]' 10 || fail "processes of the receiver outlived SIGKILL"
	bg_stop "recv$STARTS" 0 5 || :
	info "receiver SIGKILLed whole ($n processes) $1: alpha $(trail_size "$trails/alpha") stored, $(hv alpha published_bytes) published"
	all_durable "killed $1"
}

# A process of it stopped at POINT (the shim), then the whole receiver
# killed there, after SECONDS more (the others running on).
crash_at()	# POINT SECONDS
{
	local n0 p=$1
	# shellcheck disable=SC2034 # wait_for's code reads them
	n0=$(grep -c "^stop .*point=$p " "$shimlog" || :)
	echo "$p" > "$ctl"
	wait_for '[ "$(grep -c "^stop .*point=$p " "$shimlog")" -gt "$n0" ]' 20 ||
		{ show_tails "$T/recv.log"; fail "no process of the receiver reached point $1"; }
	sleep "$2"
	kill_receiver "at $(grep "^stop .*point=$1 " "$shimlog" | tail -n 1 | cut -d' ' -f2-)"
	echo off > "$ctl"
}

# Until the publisher went on by BYTES after a start.
went_on()	# BYTES
{
	local want
	# shellcheck disable=SC2034 # wait_for's code reads it
	want=$(($(published) + $1))
	wait_for '[ "$(published)" -gt "$want" ]' 30 ||
		{ show_tails "$T/recv.log"; cat "$status"; fail "the publisher did not go on after start $STARTS"; }
}

nats_up
start_receiver
for h in $HOSTS; do
	sample_stream "$SAMPLE" $((3 * 1024 * 1024)) "$T/in-$h"
	test_sender_conf "$T/$h.conf" "$h" "$T/spool-$h" "127.0.0.1:$PORT" \
	    "$FP" "$PW" 5 "segment_size 64K"
	feed_input "$T/in-$h" "$T/$h.feed"
	size=$(stat -c %s "$T/in-$h")
	bg_start "$h" "$T/$h.log" "$FEED" -b 262144 -t 140 -r 80000 -w "$size:$T/never" \
	    "$T/$h.feed" "$PLUGIN" -f -D "$T/sstate-$h" "$T/$h.conf"
done
bg_start reader "$T/reader.log" "$RECV" -d -R "$T/read.conf"

# --- the points that matter ----------------------------------------------------
went_on 100000
# Written, not synced; the publisher runs two rounds meanwhile.
crash_at write 1.2
start_receiver
went_on 50000
# Synced by the publisher, not published.
crash_at sync 0
start_receiver
went_on 50000
# Published, the cursor not saved: the stream is ahead of the cursor.
crash_at cursor 0
h=$(sed -n 's/^stop .*point=cursor file=\(.*\)\.cursor\.tmp$/\1/p' "$shimlog" | tail -n 1)
cseq=$(sed -n 's/.* seq \([0-9]*\) .*/\1/p' "$T/state/publish/$h.cursor")
mkdir "$T/mid"
"$NATSREAD" "nats://127.0.0.1:${NP[1]}" "$STREAM" "$T/mid" > "$T/mid.msgs" 2> "$T/natsread.err" ||
	{ cat "$T/natsread.err"; fail "natsread failed"; }
sseq=$(awk -v s="adtest.$h" '$2 == s { n = $1 } END { print n + 0 }' "$T/mid.msgs")
[ "$sseq" -gt "${cseq:-0}" ] ||
	fail "at the cursor point, host $h's cursor holds sequence $cseq and the stream $sseq: no publication before it"
info "host $h: the stream's last message is sequence $sseq, the cursor saved holds $cseq"
start_receiver
# --- and at random -------------------------------------------------------------
for i in 1 2 3; do
	went_on 20000
	sleep "0.$((RANDOM % 10))"
	kill_receiver "at random ($i)"
	start_receiver
done

# --- everything, once ---------------------------------------------------------
for h in $HOSTS; do
	size=$(stat -c %s "$T/in-$h")
	wait_for '[ "$(trail_size "$trails/$h")" -ge "$size" ] && [ "$(hv $h publish_lag_bytes)" = 0 ] &&
	    [ "$(hv $h published_bytes)" = "$size" ]' 60 ||
		{ show_tails "$T/recv.log"; cat "$status"; fail "host $h was not all stored and published"; }
	wait_for '[ "$(trail_size "$read/$h")" -ge "$size" ]' 30 ||
		{ show_tails "$T/reader.log"; fail "host $h: the reader has $(trail_size "$read/$h") of $size bytes"; }
done
sleep 1
bg_stop reader TERM 10 || fail "the reader did not stop on SIGTERM"
bg_stop "recv$STARTS" TERM 15 || fail "auditdistd did not stop on SIGTERM"

mkdir "$T/out"
"$NATSREAD" "nats://127.0.0.1:${NP[1]}" "$STREAM" "$T/out" > "$T/msgs" 2> "$T/natsread.err" ||
	{ cat "$T/natsread.err"; fail "natsread failed"; }
dups=$(awk '{ print $4 }' "$T/msgs" | sort | uniq -d | head -3)
[ -z "$dups" ] || fail "message IDs twice in the stream: $dups"
for h in $HOSTS; do
	trail_cat "$trails/$h" > "$T/trail-$h"
	cmp -s "$T/trail-$h" "$T/in-$h" || fail "host $h: the receiver's trail differs from the input"
	trail_compare "$T/out/adtest.$h" "$T/in-$h" ||
		fail "host $h: the stream is not the sender's input byte for byte"
	a=$(cd "$trails/$h" && trail_files . | tr '\n' ' ')
	b=$(cd "$read/$h" && trail_files . | tr '\n' ' ')
	[ "$a" = "$b" ] || fail "host $h: the receiver has files $a, the reader $b"
	for f in $a; do
		cmp -s "$trails/$h/$f" "$read/$h/$f" || fail "host $h: $f differs in the reader's trail"
	done
	info "host $h: $(stat -c %s "$T/in-$h") bytes in $(grep -c " adtest.$h " "$T/msgs") messages, once, in order; the reader's files $b the same"
done
for p in write sync cursor; do
	grep -q "^stop .*point=$p " "$shimlog" || fail "the receiver was never stopped at $p"
done
all_durable "at the end"
info "receiver started $STARTS times, killed whole $((STARTS - 1)) times; no read of bytes not durable"
log_sanity "$T/reader.log" "auditdistd -R"
log_sanity "$T/recv.log" auditdistd
