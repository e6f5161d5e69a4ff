#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# The reading mode, auditdistd -R: a JetStream stream read back into
# per-host trails, exactly once.  A three-node cluster on loopback
# (replicas 3, tests/nats.sh), two real senders (audisp-dist under feed),
# a receiver that publishes, and a reader with a durable consumer, started
# when the stream already holds a backlog.  While the hosts ship:
#   - the reader exits right after a fetch, before it writes (the test
#     build's AUDITDIST_TEST_READER_EXIT): the stream gives the next
#     reader later messages first and those fetched again only after the
#     ack wait, so it must wait at the gap, not write out of order;
#   - it exits after a round is durable, before its acks: those messages
#     come again, and must not be written twice;
#   - it is SIGKILLed at random moments;
#   - the whole cluster is stopped and started again (the reader killed
#     meanwhile too): publisher and reader wait, then catch up.
# At the end each host's trail in the reader's directory is the receiver's
# file for file (cmp), ausearch -if reads the same records from both, the
# stream read message by message (tests/helpers/natsread) holds each
# host's bytes once, and the reader is confined as a writer is.
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
STREAM=ADTEST
HOSTS="alpha beta"

need_root
need_cmd openssl ss stat cmp perl ausearch
command -v nats-server >/dev/null 2>&1 ||
    skip "no nats-server (apt-get install nats-server; make deps does)"
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED" "$NATSREAD"; do
	[ -x "$b" ] || skip "no $b (not built yet: make all $RECV $FEED $NATSREAD)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 150

nats_init
recv_setup
mkdir -m 0755 "$T/state"
chown "$FWD_USER" "$T/state"
status=$T/state/status
read=$T/read

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
	printf 'timeout 5\nreceiver {\n\tlisten "tls://127.0.0.1:%s"\n' "$PORT"
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
# The reader's: the same publish block, and where to write.
{
	printf 'receiver {\n\tuser "%s"\n\ttrail_size 512K\n' "$FWD_USER"
	publish_block "read_into \"$read\"" "consumer adtest-reader"
	printf '}\n'
} > "$T/read.conf"
chmod 0600 "$T/recv.conf" "$T/read.conf"
"$RECV" -n -R "$T/read.conf" > "$T/check.out" 2>&1 ||
	{ cat "$T/check.out"; fail "auditdistd -n -R refused the reader's configuration"; }

hv()	# HOST KEY: from the receiver's status file
{
	grep " host=$1 " "$status" 2>/dev/null | tr ' ' '\n' |
	    sed -n "s/^$2=//p" | head -n 1
}

# Each start under a name of its own: the cleanup kills every one.
STARTS=0
start_reader()	# [TEST-EXIT]
{
	STARTS=$((STARTS + 1))
	AUDITDIST_TEST_READER_EXIT=${1:-} bg_start "reader$STARTS" "$T/reader.log" \
	    "$RECV" -d -R "$T/read.conf"
	READER=$BG_PID
}

# reader_exits WHERE:N: started with the test hook, it exits there.
reader_exits()
{
	start_reader "$1"
	wait_for '! pid_alive "$READER"' 30 ||
		{ show_tails "$T/reader.log"; fail "the reader did not exit at $1"; }
	grep -q "test hook: exiting at round ${1#*:}, ${1%:*}" "$T/reader.log" ||
		{ show_tails "$T/reader.log"; fail "the reader exited, but not at $1"; }
	info "reader exited at $1: $(for h in $HOSTS; do printf '%s %s ' "$h" "$(trail_size "$read/$h")"; done)bytes"
}

kill_reader()	# WHEN
{
	kill -KILL "$READER"
	wait "$READER" 2>/dev/null || :
	info "reader SIGKILLed $1: $(for h in $HOSTS; do printf '%s %s ' "$h" "$(trail_size "$read/$h")"; done)bytes"
}

nats_up
bg_start recv "$T/recv.log" "$RECV" -f "$T/recv.conf"
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen"; }

total=0
for h in $HOSTS; do
	sample_stream "$SAMPLE" $((3 * 1024 * 1024)) "$T/in-$h"
	test_sender_conf "$T/$h.conf" "$h" "$T/spool-$h" "127.0.0.1:$PORT" \
	    "$FP" "$PW" 5 "segment_size 64K"
	feed_input "$T/in-$h" "$T/$h.feed"
	size=$(stat -c %s "$T/in-$h")
	total=$((total + size))
	bg_start "$h" "$T/$h.log" "$FEED" -b 262144 -t 140 -r 100000 -w "$size:$T/never" \
	    "$T/$h.feed" "$PLUGIN" -f -D "$T/sstate-$h" "$T/$h.conf"
done

# --- a backlog; the reader's exits, confined, SIGKILLed at random ---------------
wait_for '[ "$(hv alpha published_bytes)" -gt 400000 ] 2>/dev/null' 30 ||
	{ show_tails "$T/recv.log"; cat "$status"; fail "the receiver published too little"; }
# Durable, not acknowledged: those come again after later ones.
reader_exits synced:2
went_on()	# WHAT: the reader writes past what it held when it exited
{
	local s0
	# shellcheck disable=SC2034 # wait_for's code reads it
	s0=$(trail_size "$read/alpha")
	wait_for '[ "$(trail_size "$read/alpha")" -gt $((s0 + 50000)) ]' 30 ||
		{ show_tails "$T/reader.log"; fail "the reader did not go on after $1"; }
}
start_reader
went_on "its exit after a sync"
kill_reader "once it went on"
# Fetched, not written: later ones come first, a gap.
reader_exits fetched:1
start_reader
went_on "its exit after a fetch"
# Confined once it has started NATS's client.
wait_for 'grep -q "^Seccomp:	2" "/proc/$READER/status"' 10 ||
	{ show_tails "$T/reader.log"; fail "the reader has no seccomp filter"; }
st=$(cat "/proc/$READER/status")
for k in "Uid:	$(id -u "$FWD_USER")" "NoNewPrivs:	1" "Seccomp:	2" "CapEff:	0000000000000000"; do
	grep -q "^$k" <<< "$st" || fail "the reader is not confined: no \"$k\" in /proc/$READER/status"
done
for i in 1 2; do
	sleep "$((RANDOM % 2)).$((RANDOM % 10))"
	kill_reader "at random ($i)"
	sleep "0.$((RANDOM % 10))"
	start_reader
done

# --- the whole cluster stopped and started again ------------------------------
sleep "1.$((RANDOM % 10))"
nats_down
info "the whole NATS cluster stopped: receiver $(trail_size "$trails/alpha") bytes of alpha, reader $(trail_size "$read/alpha")"
sleep 2
# The reader dies while NATS is away, too: it starts again with no stream.
kill_reader "with NATS down"
start_reader
nats_up
info "the NATS cluster started again"
sleep "2.$((RANDOM % 10))"
kill_reader "after the cluster's restart"
start_reader

# --- everything, once ---------------------------------------------------------
for h in $HOSTS; do
	size=$(stat -c %s "$T/in-$h")
	wait_for '[ "$(trail_size "$trails/$h")" -ge "$size" ] && [ "$(hv $h publish_lag_bytes)" = 0 ] &&
	    [ "$(hv $h published_bytes)" = "$size" ]' 60 ||
		{ show_tails "$T/recv.log"; cat "$status"; fail "host $h was not all stored and published"; }
	wait_for '[ "$(trail_size "$read/$h")" -ge "$size" ]' 40 ||
		{ show_tails "$T/reader.log"; fail "host $h: the reader has $(trail_size "$read/$h") of $size bytes"; }
done
sleep 1
bg_stop "reader$STARTS" TERM 10 || fail "the reader did not stop on SIGTERM"
[ "$BG_RC" = 0 ] || fail "the reader exited $BG_RC on SIGTERM, not 0"
grep -q 'reader: stopped after' "$T/reader.log" || fail "the reader did not say it stopped"

mkdir "$T/out"
"$NATSREAD" "nats://127.0.0.1:${NP[1]}" "$STREAM" "$T/out" > "$T/msgs" 2> "$T/natsread.err" ||
	{ cat "$T/natsread.err"; fail "natsread failed"; }
dups=$(awk '{ print $4 }' "$T/msgs" | sort | uniq -d | head -3)
[ -z "$dups" ] || fail "message IDs twice in the stream: $dups"
for h in $HOSTS; do
	trail_cat "$trails/$h" > "$T/trail-$h"
	trail_cat "$read/$h" > "$T/read-$h"
	cmp -s "$T/trail-$h" "$T/in-$h" || fail "host $h: the receiver's trail differs from the input"
	trail_compare "$T/out/adtest.$h" "$T/trail-$h" ||
		fail "host $h: the stream is not the receiver's trail byte for byte"
	trail_compare "$T/read-$h" "$T/trail-$h" ||
		fail "host $h: the reader's trail is not the receiver's"
	# File for file: the same rotation, the same names.
	a=$(cd "$trails/$h" && trail_files . | tr '\n' ' ')
	b=$(cd "$read/$h" && trail_files . | tr '\n' ' ')
	[ "$a" = "$b" ] || fail "host $h: the receiver has files $a, the reader $b"
	for f in $a; do
		cmp -s "$trails/$h/$f" "$read/$h/$f" || fail "host $h: $f differs"
	done
	timeout 60 ausearch -if "$trails/$h" --raw > "$T/as-recv-$h" 2>/dev/null || :
	timeout 60 ausearch -if "$read/$h" --raw > "$T/as-read-$h" 2>/dev/null || :
	if [ ! -s "$T/as-read-$h" ] || ! cmp -s "$T/as-recv-$h" "$T/as-read-$h"; then
		fail "host $h: ausearch -if reads other records from the reader's trail"
	fi
	info "host $h: $(stat -c %s "$T/read-$h") bytes in $(grep -c " adtest.$h " "$T/msgs") messages, $(wc -l < "$T/as-read-$h") records, files $b the same"
done
n=$(grep -c 'does not follow its trail' "$T/reader.log" || :)
info "the reader waited at a gap $n times; $(grep -c 'reader: from' "$T/reader.log") starts"
# The exit after a fetch left a gap that later messages came across.
[ "$n" -gt 0 ] || fail "the reader never waited at a gap: the test did not test it"
log_sanity "$T/reader.log" "auditdistd -R"
log_sanity "$T/recv.log" auditdistd
