#!/bin/bash
# shellcheck disable=SC2016,SC2034 # wait_for takes code in single quotes
# Two receivers of one sender publish to one subject: the message IDs name
# the sender's spool, segment and offset, the same on both, and each
# publication expects the subject's last sequence, so the stream holds the
# host's bytes once, in order, whoever published which part.  One receiver
# is SIGKILLed mid-stream (the other goes on alone) and started again (it
# finds the stream ahead of it and goes on after it, publishing nothing
# twice).  Read back with tests/helpers/natsread.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
NATSREAD=$B/tests/natsread

need_root
need_cmd openssl ss stat cmp perl
command -v nats-server >/dev/null 2>&1 ||
    skip "no nats-server (apt-get install nats-server; make deps does)"
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED" "$NATSREAD"; do
	[ -x "$b" ] || skip "no $b (not built yet)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 90

recv_setup
NP=$(free_port)
mkdir "$T/js"
bg_start nats "$T/nats.log" nats-server -a 127.0.0.1 -p "$NP" -js -sd "$T/js"
wait_for "port_listening $NP" 10 || { show_tails "$T/nats.log"; fail "nats-server did not listen"; }

declare -A RP=()
for r in r1 r2; do
	RP[$r]=$(free_port)
	mkdir -m 0755 "$T/$r" "$T/$r/state"
	mkdir -m 0750 "$T/$r/trails"
	chown "$FWD_USER" "$T/$r/state"
	{
		printf 'timeout 5\nreceiver {\n\tlisten "tls://127.0.0.1:%s"\n' "${RP[$r]}"
		printf '\tdirectory "%s"\n\tuser "%s"\n' "$T/$r/trails" "$FWD_USER"
		printf '\tcertfile "%s"\n\tkeyfile "%s"\n' "$pki/recv.pem" "$pki/recv.key"
		printf '\tstatus_file "%s"\n\ttrail_size 1M\n' "$T/$r/state/status"
		printf '\tpublish "nats://127.0.0.1:%s" {\n\t\tcreate_stream yes\n\t}\n' "$NP"
		printf '\thost web {\n\t\tremote "tls://127.0.0.1"\n\t\tpassword "%s"\n\t}\n}\n' "$PW"
	} > "$T/$r/recv.conf"
	chmod 0600 "$T/$r/recv.conf"
done

start_recv()	# NAME
{
	# -d: each time it goes on after the other's messages is logged.
	bg_start "$1" "$T/$1/recv.log" "$RECV" -d "$T/$1/recv.conf"
	wait_for "port_listening ${RP[$1]}" 10 || { show_tails "$T/$1/recv.log"; fail "$1 did not listen"; }
}

hv()	# RECEIVER KEY
{
	grep " host=web " "$T/$1/state/status" 2>/dev/null | tr ' ' '\n' |
	    sed -n "s/^$2=//p" | head -n 1
}

# One sender, both receivers.
test_sender_conf "$T/web.conf" web "$T/spool" "127.0.0.1:${RP[r1]}" "$FP" "$PW" 5 "segment_size 64K"
sed -i '$d' "$T/web.conf"
printf '\thost r2 {\n\t\tremote "tls://127.0.0.1:%s"\n\t\tfingerprint "%s"\n\t\tpassword "%s"\n\t}\n}\n' \
    "${RP[r2]}" "$FP" "$PW" >> "$T/web.conf"
sample_stream "$SAMPLE" $((3 * 1024 * 1024)) "$T/in"
feed_input "$T/in" "$T/in.feed"
size=$(stat -c %s "$T/in")

start_recv r1
start_recv r2
bg_start web "$T/web.log" "$FEED" -b 262144 -t 85 -r 200000 -w "$size:$T/never" \
    "$T/in.feed" "$PLUGIN" -f -D "$T/sstate" "$T/web.conf"

# Both publish for a while, then r1 dies with all its processes.
wait_for '[ "$(trail_size "$T/r1/trails/web")" -gt 1000000 ]' 30 ||
	{ show_tails "$T/r1/recv.log" "$T/web.log"; fail "r1 got too little"; }
bg_stop r1 KILL 10 || :
info "r1 SIGKILLed at $(trail_size "$T/r1/trails/web") bytes"
wait_for '[ "$(trail_size "$T/r2/trails/web")" -ge "$size" ] && [ "$(hv r2 published_bytes)" = "$size" ]' 40 ||
	{ show_tails "$T/r2/recv.log"; cat "$T/r2/state/status"; fail "r2 did not publish the whole trail alone"; }
info "r2 alone: all $size bytes in the stream"

# r1 comes back: its sender catches it up, and the stream is ahead of it.
start_recv r1
wait_for '[ "$(trail_size "$T/r1/trails/web")" -ge "$size" ] && [ "$(hv r1 publish_lag_bytes)" = 0 ]' 30 ||
	{ show_tails "$T/r1/recv.log"; cat "$T/r1/state/status"; fail "r1 did not catch up after its restart"; }

mkdir "$T/out"
"$NATSREAD" "nats://127.0.0.1:$NP" AUDITDIST "$T/out" > "$T/msgs" 2> "$T/natsread.err" ||
	{ cat "$T/natsread.err"; fail "natsread failed"; }
dups=$(awk '{ print $4 }' "$T/msgs" | sort | uniq -d | head -3)
[ -z "$dups" ] || fail "message IDs twice in the stream: $dups"
for r in r1 r2; do
	trail_cat "$T/$r/trails/web" > "$T/trail-$r"
	cmp -s "$T/trail-$r" "$T/in" || fail "$r: the trail differs from the input"
done
trail_compare "$T/out/auditdist.web" "$T/in" ||
	fail "the stream is not the host's trail byte for byte"
r1n=$(grep -c 'going on after message' "$T/r1/recv.log" || :)
r2n=$(grep -c 'going on after message' "$T/r2/recv.log" || :)
info "the stream holds $(wc -l < "$T/msgs") messages, the trail byte for byte; each receiver went on after the other's messages $r1n and $r2n times"
[ "$r1n" -gt 0 ] || fail "r1 never went on after r2's messages: did both publish?"
for r in r1 r2; do
	log_sanity "$T/$r/recv.log" "auditdistd ($r)"
done
