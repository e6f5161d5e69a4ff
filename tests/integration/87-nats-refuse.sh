#!/bin/bash
# shellcheck disable=SC2016,SC2034 # wait_for takes code in single quotes
# Publishing to NATS JetStream when NATS says no: each case is a receiver
# whose publisher must say clearly why it does not publish, once, while
# the receiver keeps acknowledging its sender:
#   - a wrong password (a server that wants a user and password);
#   - a wrong CA (a TLS server whose certificate another CA signed), and
#     the right one, which publishes;
#   - a missing stream with create_stream no;
#   - a stream whose subjects do not hold the prefix;
# and a cafile that cannot be read stops the receiver at the start.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed

need_root
need_cmd openssl ss stat
command -v nats-server >/dev/null 2>&1 ||
    skip "no nats-server (apt-get install nats-server; make deps does)"
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 80

recv_setup
tls_ca "$pki" natsca
tls_ca "$pki" otherca
tls_cert "$pki" nats natsca
chmod 0644 "$pki"/*.pem
NPW=$(rand_password)

# One server with a user and password, one with TLS; JetStream on both.
AP=$(free_port)
TP=$(free_port)
mkdir "$T/js-auth" "$T/js-tls"
bg_start nats-auth "$T/nats-auth.log" nats-server -a 127.0.0.1 -p "$AP" -js \
    -sd "$T/js-auth" --user pub --pass "$NPW"
bg_start nats-tls "$T/nats-tls.log" nats-server -a 127.0.0.1 -p "$TP" -js \
    -sd "$T/js-tls" --tls --tlscert "$pki/nats.pem" --tlskey "$pki/nats.key"
wait_for "port_listening $AP && port_listening $TP" 15 ||
	{ show_tails "$T"/nats-*.log; fail "nats-server did not listen"; }

# receiver NAME URL PUBLISH-LINES: a receiver of its own, and its sender.
receiver()
{
	local n=$1 url=$2 lines=$3 port
	port=$(free_port)
	mkdir -m 0755 "$T/$n" "$T/$n/state"
	mkdir -m 0750 "$T/$n/trails"
	chown "$FWD_USER" "$T/$n/state"
	{
		printf 'timeout 5\nreceiver {\n\tlisten "tls://127.0.0.1:%s"\n' "$port"
		printf '\tdirectory "%s"\n\tuser "%s"\n' "$T/$n/trails" "$FWD_USER"
		printf '\tcertfile "%s"\n\tkeyfile "%s"\n' "$pki/recv.pem" "$pki/recv.key"
		printf '\tstatus_file "%s"\n' "$T/$n/state/status"
		printf '\tpublish "%s" {\n%s\n\t}\n' "$url" "$lines"
		printf '\thost h%s {\n\t\tremote "tls://127.0.0.1"\n' "$n"
		printf '\t\tpassword "%s"\n\t}\n}\n' "$PW"
	} > "$T/$n/recv.conf"
	chmod 0600 "$T/$n/recv.conf"
	bg_start "recv-$n" "$T/$n/recv.log" "$RECV" -f "$T/$n/recv.conf"
	wait_for "port_listening $port" 10 || { show_tails "$T/$n/recv.log"; fail "$n: auditdistd did not listen"; }
	test_sender_conf "$T/$n/sender.conf" "h$n" "$T/$n/spool" "127.0.0.1:$port" "$FP" "$PW" 5
	bg_start "send-$n" "$T/$n/send.log" "$FEED" -t 70 -w "$(stat -c %s "$T/in"):$T/never" \
	    "$T/in.feed" "$PLUGIN" -f -D "$T/$n/sstate" "$T/$n/sender.conf"
}

# expect NAME TEXT: the receiver logs TEXT once, and still acknowledges.
expect()
{
	local n=$1 text=$2 size
	size=$(stat -c %s "$T/in")
	wait_for 'grep -qF "$text" "$T/$n/recv.log"' 20 ||
		{ show_tails "$T/$n/recv.log"; fail "$n: no \"$text\" in the log"; }
	wait_for '[ "$(trail_size "$T/$n/trails/h$n")" -ge "$size" ] &&
	    [ "$(status_value "$T/$n/spool/status" "unacked.recv")" = 0 ]' 30 ||
		{ show_tails "$T/$n/recv.log"; fail "$n: the sender was not acknowledged"; }
	sleep 2
	[ "$(grep -cF "$text" "$T/$n/recv.log")" = 1 ] ||
		{ grep -F "$text" "$T/$n/recv.log" | head -3; fail "$n: \"$text\" logged more than once"; }
	info "$n: $(grep -F "$text" "$T/$n/recv.log" | head -1 | cut -c 26-260)"
}

sample_stream "$SAMPLE" 1 "$T/in"
feed_input "$T/in" "$T/in.feed"

receiver badpw "nats://127.0.0.1:$AP" "$(printf '\t\tuser pub\n\t\tpassword wrong\n\t\tcreate_stream yes')"
receiver badca "tls://127.0.0.1:$TP" "$(printf '\t\tcafile "%s"\n\t\tcreate_stream yes' "$pki/otherca.pem")"
receiver goodca "tls://127.0.0.1:$TP" "$(printf '\t\tcafile "%s"\n\t\tcreate_stream yes' "$pki/natsca.pem")"
receiver nostream "nats://127.0.0.1:$AP" "$(printf '\t\tuser pub\n\t\tpassword "%s"\n\t\tstream MISSING' "$NPW")"

expect badpw "Authorization Violation"
expect badca "SSL handshake error: 20:unable to get local issuer certificate"
expect nostream "stream MISSING is missing; create it"
wait_for '[ "$(status_value "$T/goodca/state/status" published_bytes)" = "$(stat -c %s "$T/in")" ]' 20 ||
	{ show_tails "$T/goodca/recv.log"; fail "goodca: the right CA did not publish"; }
info "goodca: published $(stat -c %s "$T/in") bytes over TLS"

# The stream goodca made holds auditdist.>; another prefix does not fit.
receiver prefix "tls://127.0.0.1:$TP" "$(printf '\t\tcafile "%s"\n\t\tsubject_prefix other' "$pki/natsca.pem")"
expect prefix "does not fit: its subjects do not include \"other.>\""
# An unreadable cafile stops the start (and -n) with EX_CONFIG.
sed "s|$pki/otherca.pem|$T/missing.pem|" "$T/badca/recv.conf" > "$T/noca.conf"
chmod 0600 "$T/noca.conf"
for opt in -n -f; do
	rc=0
	out=$(timeout 10 "$RECV" "$opt" "$T/noca.conf" 2>&1) || rc=$?
	if [ "$rc" != 78 ] || ! grep -q "publish cafile $T/missing.pem" <<< "$out"; then
		fail "auditdistd $opt with a missing cafile: exit $rc: $out"
	fi
done
info "a missing cafile: $(tail -n 1 <<< "$out" | cut -c 1-160)"
for n in badpw badca goodca nostream prefix; do
	log_sanity "$T/$n/recv.log" "auditdistd ($n)"
done
