#!/bin/bash
# make demo: the whole pipeline on loopback.  A throwaway receiver key,
# certificate and password; auditdistd listening on 127.0.0.1; audisp-dist
# fed the bundled sample of real audit records (through a pipe, as auditd
# feeds a plugin) and its forwarder shipping them over TLS; then ausearch
# and aureport on the receiver's trail, and the sender's status showing
# zero lag.  Everything lives in one directory, kept for a look afterwards.
set -euo pipefail
: "${B:=build}"
SAMPLE=tests/data/sample-enriched.log
D=${DEMO_DIR:-/tmp/auditdist-demo}
export AUDISP_DIST_STATEDIR=$D/state
HOST=demo-sender

[ -r "$SAMPLE" ] || { echo "demo: $SAMPLE is missing" >&2; exit 1; }
for p in "$B/audisp-dist" "$B/audisp-dist-forwarder" "$B/auditdistd"; do
	[ -x "$p" ] || { echo "demo: $p is missing; run make" >&2; exit 1; }
done
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
pids=()
cleanup() {
	exec 3>&- 2>/dev/null || :
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || :; done
	wait 2>/dev/null || :
}
trap cleanup EXIT

rm -rf "$D"
mkdir -p "$D/pki" "$D/trails"
chmod 0750 "$D/trails"

# The forwarder drops root for this user; make install creates auditdist.
user=auditdist
getent passwd "$user" >/dev/null || user=nobody

port=17878
while ss -Hltn "sport = :$port" 2>/dev/null | grep -q .; do port=$((port + 1)); done

step "receiver key and certificate, its fingerprint, a password"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$D/pki/receiver.key" -out "$D/pki/receiver.pem" -days 2 \
    -subj /CN=localhost 2>/dev/null
fp=$(openssl x509 -noout -fingerprint -sha256 -in "$D/pki/receiver.pem" | sed 's/^.*=/SHA256=/')
pw=$(openssl rand -base64 24)
echo "fingerprint: $fp"
echo "password:    (openssl rand -base64 24, written to both configs)"

cat > "$D/receiver.conf" <<CONF
receiver {
	listen "tls://127.0.0.1:$port"
	directory "$D/trails"
	user $user
	certfile "$D/pki/receiver.pem"
	keyfile "$D/pki/receiver.key"
	trail_size 256K
	host $HOST {
		password "$pw"
	}
}
CONF
cat > "$D/sender.conf" <<CONF
name "$HOST"
sender {
	directory "$D/spool"
	segment_size 256K
	status_interval 1
	user $user
	host receiver {
		remote "tls://127.0.0.1:$port"
		fingerprint "$fp"
		password "$pw"
	}
}
CONF
chmod 600 "$D/receiver.conf" "$D/sender.conf"

step "check both configurations"
"$B/auditdistd" -n "$D/receiver.conf"
"$B/audisp-dist" -n "$D/sender.conf"

step "start auditdistd on 127.0.0.1:$port"
"$B/auditdistd" -f "$D/receiver.conf" 2> "$D/auditdistd.log" &
pids+=($!)
for _ in $(seq 50); do ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.1; done

records=$(wc -l < "$SAMPLE")
step "feed $records real audit records ($(wc -c < "$SAMPLE") bytes) into audisp-dist"
mkfifo "$D/in"
"$B/audisp-dist" -f "$D/sender.conf" < "$D/in" 2> "$D/audisp-dist.log" &
pids+=($!)
exec 3> "$D/in"
cat "$SAMPLE" >&3

# Shipped means: every record spooled, and the receiver holds all of it.
lag=
for _ in $(seq 300); do
	last=$(tail -n 1 "$D/spool/status" 2>/dev/null || :)
	case $last in
	*" records_spooled=$records "*" unacked.receiver=0 "*) lag=0; break ;;
	esac
	sleep 0.1
done
[ "$lag" = 0 ] || { echo "demo: not shipped after 30 s; see $D/*.log" >&2; tail -n 1 "$D/spool/status" >&2; exit 1; }

step "the sender's status: everything durable at the receiver (unacked.receiver=0)"
tail -n 1 "$D/spool/status"

step "the receiver's trail for $HOST, laid out as auditd lays out its logs"
ls -l "$D/trails/$HOST"

step "the trail is the input, byte for byte"
trail=$(cd "$D/trails/$HOST" && ls audit.log.* 2>/dev/null | sort -t. -k3,3nr; echo audit.log)
(cd "$D/trails/$HOST" && cat $trail) > "$D/received.log"
cmp "$SAMPLE" "$D/received.log" && echo "identical: $(wc -l < "$D/received.log") records"

step "ausearch -if $D/trails/$HOST: events with each key, and the last commands run"
for k in cap-exec cap-watch cap-net cap-priv; do
	printf '  key %-10s %5s events\n' "$k" "$(ausearch -if "$D/trails/$HOST" -k "$k" --raw 2>/dev/null | grep -c '^type=SYSCALL' || :)"
done
ausearch -if "$D/trails/$HOST" -i -m EXECVE 2>/dev/null | grep '^type=EXECVE' | tail -n 5 || :

step "aureport -if $D/trails/$HOST --summary"
aureport -if "$D/trails/$HOST" --summary 2>/dev/null | head -n 25 || :

step "done: configs, keys, spool, trails and logs are in $D"
