#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Issue 11: certificate expiry, met the way an administrator meets it.
# The receiver runs with a certificate that expired on 2025-06-01 (made
# with `openssl ca -startdate/-enddate`, signed by a test CA).
#   - It says so in its log at start; its pinned senders still take it.
#   - A sender that pins its fingerprint ships to it, and says once (not at
#     every reconnect) that the certificate expired, when, and what to do.
#   - A sender that verifies it with a cafile refuses it, says "expired on
#     DATE", and retries at the slow rate (30 s), not every 1-5 s.
#   - auditdistd -n and audisp-dist -n warn of an expired certfile and of
#     a cafile that expires within 30 days, and still exit 0.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
END=2025-06-01T00:00:00Z	# the receiver certificate's notAfter
WATCH=13			# seconds the cafile sender is watched
need_root
need_cmd openssl ss cmp
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet)"
done
deadline 90

recv_setup
tls_ca "$pki" ca
# An expired certificate for localhost, signed by the CA: `openssl ca`
# takes dates in the past where OpenSSL 3.0's req and x509 take only -days.
mkdir -m 0700 "$pki/db"
: > "$pki/db/index.txt"
echo 01 > "$pki/db/serial"
cat > "$pki/ca.cnf" <<EOF
[ ca ]
default_ca = test
[ test ]
database = $pki/db/index.txt
serial = $pki/db/serial
new_certs_dir = $pki/db
default_md = sha256
policy = any
unique_subject = no
[ any ]
commonName = supplied
[ ext ]
basicConstraints = CA:FALSE
subjectAltName = DNS:localhost,IP:127.0.0.1
extendedKeyUsage = serverAuth,clientAuth
EOF
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -subj "/CN=localhost" -keyout "$pki/old.key" -out "$pki/old.csr" \
    >/dev/null 2>&1 || fail "openssl req for the expired certificate"
chmod 0600 "$pki/old.key"
openssl ca -batch -config "$pki/ca.cnf" -cert "$pki/ca.pem" \
    -keyfile "$pki/ca.key" -in "$pki/old.csr" -out "$pki/old.pem" \
    -startdate 20250101000000Z -enddate 20250601000000Z -extensions ext \
    -notext >"$T/ca.out" 2>&1 || { cat "$T/ca.out"; fail "openssl ca"; }
out=$(openssl verify -CAfile "$pki/ca.pem" "$pki/old.pem" 2>&1 || :)
grep -q expired <<< "$out" ||
    fail "the test certificate is not an expired one"
OLDFP=$(tls_fingerprint "$pki/old.pem")

rconf=$T/recv.conf
cat > "$rconf" <<EOC
timeout 5
receiver {
	listen "tls://127.0.0.1:$PORT"
	directory "$trails"
	user "$FWD_USER"
	certfile "$pki/old.pem"
	keyfile "$pki/old.key"
	host pinned {
		remote "tls://127.0.0.1"
		password "$PW"
	}
	host viaca {
		remote "tls://127.0.0.1"
		password "$PW"
	}
}
EOC
chmod 0600 "$rconf"
test_sender_conf "$T/pinned.conf" pinned "$T/spool-pinned" \
    "127.0.0.1:$PORT" "$OLDFP" "$PW" 5
test_sender_conf "$T/viaca.conf" viaca "$T/spool-viaca" \
    "127.0.0.1:$PORT" "$OLDFP" "$PW" 5
sed -i "s|fingerprint \".*\"|cafile \"$pki/ca.pem\"|" "$T/viaca.conf"

cp "$SAMPLE" "$T/input"
feed_input "$T/input" "$T/input.feed"
size=$(stat -c %s "$T/input")

# --- the receiver says it at start -------------------------------------------
bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen"; }
grep -q "warning: certificate .* in $pki/old.pem expired on $END" "$T/recv.log" ||
    { show_tails "$T/recv.log"; fail "issue 11: auditdistd started with an expired certificate and did not say so"; }
echo "issue 11: auditdistd at start: $(grep -m1 -o "warning: certificate .*" "$T/recv.log")"

# --- both senders at once: a pin and a cafile ----------------------------------
bg_start pinned "$T/pinned.log" "$FEED" -t 120 -w "$size:$T/go" \
    "$T/input.feed" "$PLUGIN" -f "$T/pinned.conf"
t0=$(now_ms)
bg_start viaca "$T/viaca.log" "$FEED" -t 120 -w "$size:$T/go" \
    "$T/input.feed" "$PLUGIN" -d "$T/viaca.conf"

# 1. The pin: records arrive, and the log says why it took the certificate.
wait_for '[ "$(trail_size "$trails/pinned")" -ge "$size" ]' 30 ||
    { show_tails "$T/pinned.log" "$T/recv.log"; fail "issue 11: the pinned sender shipped $(trail_size "$trails/pinned") of $size bytes"; }
trail_cat "$trails/pinned" | cmp - "$T/input" || fail "the pinned trail differs from the input"
pinwarn="host recv: warning: receiver 127.0.0.1:$PORT presented a certificate that expired on $END; taken because it matches the fingerprint pin"
grep -qF "$pinwarn" "$T/pinned.log" ||
    { show_tails "$T/pinned.log"; fail "issue 11: the sender took an expired certificate under a pin without a word"; }
echo "issue 11: pin: all $size bytes arrived; logged: $(grep -m1 -o "warning: receiver .*" "$T/pinned.log")"

# 2. The cafile: refused as expired, with the date, and retried slowly.
left=$((t0 + WATCH * 1000 - $(now_ms)))
[ "$left" -le 0 ] || sleep "$((left / 1000)).$((left % 1000 / 100))"
attempts=$(grep -cE 'host recv: .*(retrying|retry in)' "$T/viaca.log" || :)
cawarn="host recv: receiver 127.0.0.1:$PORT: its certificate expired on $END"
grep -qF "$cawarn" "$T/viaca.log" ||
    { show_tails "$T/viaca.log"; fail "issue 11: the cafile sender does not say \"$cawarn\""; }
grep -F "$cawarn" "$T/viaca.log" | grep -q 'retrying slowly' ||
    fail "issue 11: the cafile sender does not retry at the slow rate"
if [ "$attempts" -lt 1 ] || [ "$attempts" -gt 2 ]; then
	show_tails "$T/viaca.log"
	fail "issue 11: the cafile sender tried $attempts times in $WATCH s (at most 2 at the slow rate)"
fi
[ "$(trail_size "$trails/viaca")" = 0 ] || fail "the cafile sender shipped to a receiver it cannot verify"
echo "issue 11: cafile: refused \"its certificate expired on $END\"; $attempts attempt(s) in $WATCH s"

# 1, again: a reconnect does not repeat the warning.
n=$(grep -c 'host pinned: connected from' "$T/recv.log")
bg_stop recv TERM 15 || fail "auditdistd did not stop"
bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || fail "auditdistd did not listen again"
wait_for '[ "$(grep -c "host pinned: connected from" "$T/recv.log")" -gt "$n" ]' 15 ||
    { show_tails "$T/pinned.log" "$T/recv.log"; fail "the pinned sender did not reconnect"; }
said=$(grep -cF "$pinwarn" "$T/pinned.log")
[ "$said" = 1 ] || fail "issue 11: the pin warning was logged $said times over two connections, not once"
echo "issue 11: pin: reconnected; the warning was logged once"

touch "$T/go"
bg_stop pinned 0 15 || fail "the pinned audisp-dist did not exit at the end of its input"
bg_stop viaca 0 15 || fail "the cafile audisp-dist did not exit at the end of its input"
bg_stop recv TERM 15 || fail "auditdistd did not stop"
log_sanity "$T/recv.log" auditdistd
log_sanity "$T/pinned.log" audisp-dist

# --- 3. -n warns and still says OK -------------------------------------------
rc=0
"$RECV" -n "$rconf" >"$T/n.out" 2>"$T/n.err" || rc=$?
[ "$rc" = 0 ] || fail "issue 11: auditdistd -n exited $rc: $(cat "$T/n.err")"
grep -q "configuration OK" "$T/n.out" || fail "auditdistd -n did not say configuration OK"
grep -q "^auditdistd: warning: certificate .* in $pki/old.pem expired on $END" "$T/n.err" ||
    fail "issue 11: auditdistd -n does not warn of its expired certificate: $(cat "$T/n.err")"
echo "issue 11: auditdistd -n: exit 0, $(head -n 1 "$T/n.err")"

# A sender with an expired client certificate and a CA expiring in 10 days.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -days 10 -subj "/CN=soon CA" -keyout "$pki/soon.key" -out "$pki/soon.pem" \
    >/dev/null 2>&1 || fail "openssl req for the CA that expires soon"
test_sender_conf "$T/n.conf" n "$T/spool-n" "127.0.0.1:$PORT" "$OLDFP" "$PW" 5
sed -i "s|fingerprint \".*\"|cafile \"$pki/soon.pem\"\n\t\tcertfile \"$pki/old.pem\"\n\t\tkeyfile \"$pki/old.key\"|" "$T/n.conf"
rc=0
"$PLUGIN" -n "$T/n.conf" >"$T/n.out" 2>"$T/n.err" || rc=$?
[ "$rc" = 0 ] || fail "issue 11: audisp-dist -n exited $rc: $(cat "$T/n.err")"
grep -q "configuration OK" "$T/n.out" || fail "audisp-dist -n did not say configuration OK"
grep -q "^audisp-dist: warning: host recv (line [0-9]*): certfile: certificate .* in $pki/old.pem expired on $END" "$T/n.err" ||
    fail "issue 11: audisp-dist -n does not warn of an expired certfile: $(cat "$T/n.err")"
grep -qE "^audisp-dist: warning: host recv \(line [0-9]+\): cafile: certificate .* in $pki/soon.pem expires on [0-9-]+T[0-9:]+Z, in (9|10) days" "$T/n.err" ||
    fail "issue 11: audisp-dist -n does not warn of a cafile expiring in 10 days: $(cat "$T/n.err")"
echo "issue 11: audisp-dist -n: exit 0, $(wc -l < "$T/n.err") warnings: $(tr '\n' ' ' < "$T/n.err" | cut -c1-300)"
