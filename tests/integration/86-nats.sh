#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Publishing to NATS JetStream, exactly once: a three-node JetStream
# cluster on loopback (replicas 3), a receiver with a publish block, real
# senders (audisp-dist under feed).  What the stream holds is read back
# message by message (tests/helpers/natsread) and each host's messages,
# concatenated in stream order, must be its trail byte for byte: in order,
# nothing twice, nothing missing.  On the way:
#   - NATS is down when the receiver starts: the senders are acknowledged
#     all the same, the status shows the lag, and the publisher catches up
#     when the cluster comes;
#   - while a host ships, the publisher exits right after a PubAck, before
#     it saves its cursor (the test build's AUDITDIST_TEST_PUBLISH_EXIT),
#     and is SIGKILLed at a random moment: each time the parent starts it
#     again and it publishes from its cursor a chunk that has grown since;
#     the stream must keep the first one and go on after it;
#   - one NATS node is stopped mid-stream: replicas 3 keep the stream
#     writable.
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

need_root
need_cmd openssl ss stat cmp perl
command -v nats-server >/dev/null 2>&1 ||
    skip "no nats-server (apt-get install nats-server; make deps does)"
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED" "$NATSREAD"; do
	[ -x "$b" ] || skip "no $b (not built yet: make all $B/test/auditdistd $FEED $NATSREAD)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 150

# --- the cluster ---------------------------------------------------------------
nats_init

# --- receiver and senders ------------------------------------------------------
recv_setup
mkdir -m 0755 "$T/state"
chown "$FWD_USER" "$T/state"
status=$T/state/status
rconf=$T/recv.conf
{
	printf 'timeout 5\nreceiver {\n\tlisten "tls://127.0.0.1:%s"\n' "$PORT"
	printf '\tdirectory "%s"\n\tuser "%s"\n' "$trails" "$FWD_USER"
	printf '\tcertfile "%s"\n\tkeyfile "%s"\n' "$pki/recv.pem" "$pki/recv.key"
	printf '\tstatus_file "%s"\n\ttrail_size 1M\n' "$status"
	printf '\tpublish "%s" {\n\t\tsubject_prefix adtest\n' "$URLS"
	printf '\t\tstream %s\n\t\tcreate_stream yes\n\t\treplicas 3\n\t}\n' "$STREAM"
	for h in early late; do
		printf '\thost %s {\n\t\tremote "tls://127.0.0.1"\n' "$h"
		printf '\t\tpassword "%s"\n\t}\n' "$PW"
	done
	printf '}\n'
} > "$rconf"
chmod 0600 "$rconf"

hv()	# HOST KEY: from the receiver's status file
{
	grep " host=$1 " "$status" 2>/dev/null | tr ' ' '\n' |
	    sed -n "s/^$2=//p" | head -n 1
}

sender()	# NAME INPUT [FEED-OPTION...]
{
	local n=$1 in=$2 size
	shift 2
	test_sender_conf "$T/$n.conf" "$n" "$T/spool-$n" "127.0.0.1:$PORT" \
	    "$FP" "$PW" 5 "segment_size 64K"
	feed_input "$in" "$T/$n.feed"
	size=$(stat -c %s "$in")
	bg_start "$n" "$T/$n.log" "$FEED" -b 262144 -t 140 "$@" -w "$size:$T/never" \
	    "$T/$n.feed" "$PLUGIN" -f -D "$T/state-$n" "$T/$n.conf"
}

# The publisher (auditdistd-pub): the receiver's process connected to NATS.
publisher_pid()
{
	nats_client_pid auditdistd-pub
}

sample_stream "$SAMPLE" $((2 * 1024 * 1024)) "$T/in-early"
sample_stream "$SAMPLE" $((3 * 1024 * 1024)) "$T/in-late"

AUDITDIST_TEST_PUBLISH_EXIT=late:3 bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen"; }

# --- NATS down at the start: acknowledged all the same, lag shown -------------
sender early "$T/in-early"
size=$(stat -c %s "$T/in-early")
wait_for '[ "$(trail_size "$trails/early")" -ge "$size" ] &&
    [ "$(status_value "$T/spool-early/status" unacked.recv)" = 0 ]' 40 ||
	{ show_tails "$T/recv.log" "$T/early.log"; fail "with NATS down, the sender was not acknowledged"; }
wait_for '[ "$(hv early publish_lag_bytes)" = "$size" ]' 10 ||
	fail "with NATS down, the status shows publish_lag_bytes=$(hv early publish_lag_bytes), not $size"
[ "$(hv early published_bytes)" = 0 ] || fail "published_bytes=$(hv early published_bytes) with NATS down"
grep -q 'publisher: connecting to' "$T/recv.log" ||
	{ show_tails "$T/recv.log"; fail "the receiver did not log that NATS is down"; }
[ "$(grep -c 'publisher: connecting to' "$T/recv.log")" = 1 ] ||
	fail "NATS down was logged more than once in one episode"
info "NATS down: sender acknowledged, lag $size bytes shown"

# --- NATS comes: the publisher catches up ------------------------------------
nats_up
wait_for '[ "$(hv early publish_lag_bytes)" = 0 ] && [ "$(hv early published_bytes)" = "$size" ]' 30 ||
	{ show_tails "$T/recv.log" "$T/nats1.log"; cat "$status"; fail "the publisher did not catch up once NATS came"; }
info "caught up once NATS came"

# --- a host ships while the publisher exits after a PubAck (the test hook),
# is SIGKILLed, and a NATS node stops -----------------------------------------
sender late "$T/in-late" -r 120000
wait_for 'grep -q "publisher (NATS) exited with status 0; started again" "$T/recv.log"' 20 ||
	{ show_tails "$T/recv.log"; fail "the publisher never took the exit between PubAck and cursor save"; }
grep -q 'test hook: exiting after an acknowledgement' "$T/recv.log" ||
	fail "the publisher exited, but not in the test hook"
info "publisher exited after a PubAck at $(trail_size "$trails/late") bytes stored of host late"
bg_stop nats3 TERM 10 || :
info "NATS node 3 stopped"
wait_for '[ -n "$(publisher_pid)" ]' 20 || fail "the publisher did not come back"
sleep "1.$((RANDOM % 10))"
pp=$(publisher_pid)
[ -n "$pp" ] || fail "no publisher connected to NATS"
# Confined as the writers are: the user, no_new_privs, seccomp, no caps.
st=$(cat "/proc/$pp/status")
for k in "Uid:	$(id -u "$FWD_USER")" "NoNewPrivs:	1" "Seccomp:	2" "CapEff:	0000000000000000"; do
	grep -q "^$k" <<< "$st" || fail "the publisher is not confined: no \"$k\" in /proc/$pp/status"
done
kill -KILL "$pp"
info "publisher $pp SIGKILLed at $(trail_size "$trails/late") bytes stored of host late"
size=$(stat -c %s "$T/in-late")
wait_for '[ "$(trail_size "$trails/late")" -ge "$size" ] &&
    [ "$(hv late published_bytes)" = "$size" ] && [ "$(hv late publish_lag_bytes)" = 0 ]' 60 ||
	{ show_tails "$T/recv.log"; cat "$status"; fail "host late was not all published with a node down"; }
grep -q 'publisher (NATS) killed by signal 9' "$T/recv.log" ||
	fail "the parent did not see the publisher SIGKILLed"

# --- the stream, read back ------------------------------------------------------
mkdir "$T/out"
"$NATSREAD" "nats://127.0.0.1:${NP[1]}" "$STREAM" "$T/out" > "$T/msgs" 2> "$T/natsread.err" ||
	{ cat "$T/natsread.err"; fail "natsread failed"; }
info "the stream holds $(wc -l < "$T/msgs") messages"
dups=$(awk '{ print $4 }' "$T/msgs" | sort | uniq -d | head -3)
[ -z "$dups" ] || fail "message IDs twice in the stream: $dups"
for h in early late; do
	trail_cat "$trails/$h" > "$T/trail-$h"
	cmp -s "$T/trail-$h" "$T/in-$h" || fail "host $h: the trail differs from the input"
	if ! trail_compare "$T/out/adtest.$h" "$T/trail-$h"; then
		grep " adtest.$h " "$T/msgs" | head -20
		fail "host $h: the stream's messages are not its trail byte for byte"
	fi
	n=$(grep -c " adtest.$h " "$T/msgs")
	big=$(awk -v s="adtest.$h" '$2 == s && $3 > 1048576' "$T/msgs" | wc -l)
	[ "$big" = 0 ] || fail "host $h: $big messages over 1 MiB"
	info "host $h: $(stat -c %s "$T/trail-$h") bytes in $n messages, byte for byte"
done
log_sanity "$T/recv.log" auditdistd
