#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Issue 12: enrolment by certificate.  The receiver has "enrol yes", a
# fleet CA (cafile) and its CRL (crlfile), and no host block for the
# senders that enrol:
#   - fleet-1 (CN and DNS SAN) ships the sample byte-identically; its trail
#     directory is made at its first login; its writer is confined like
#     any other (uid, no_new_privs, seccomp, only its own directory open);
#   - while it ships, fleet-2 enrols and ships, a host block is added by
#     SIGHUP with a new CRL (fleet-r's revocation is known only from that
#     reload), and fleet-1 keeps its one connection;
#   - revoked, expired, wrong-CA and bad-name certificates, and a fleet
#     certificate for a configured host that has a password, are each
#     refused with the reason in the receiver's log and the sender's;
#   - a CRL past its next update, loaded by SIGHUP, is warned of and
#     refuses every enrolment (fail closed), with that reason.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
need_root
need_cmd openssl cmp
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet)"
done
deadline 90

recv_setup
# --- a small CA for the fleet, as auditdistd.conf(5) shows it ----------------
tls_ca "$pki" fleet
tls_ca "$pki" other
mkdir -m 0700 "$pki/db"
: > "$pki/db/index.txt"
echo 01 > "$pki/db/serial"
echo 01 > "$pki/db/crlnumber"
cat > "$pki/ca.cnf" <<EOF
[ ca ]
default_ca = fleet
[ fleet ]
database = $pki/db/index.txt
serial = $pki/db/serial
crlnumber = $pki/db/crlnumber
new_certs_dir = $pki/db
certificate = $pki/fleet.pem
private_key = $pki/fleet.key
default_md = sha256
default_days = 30
default_crl_days = 30
policy = any
unique_subject = no
copy_extensions = copy
[ any ]
commonName = supplied
[ client ]
basicConstraints = CA:FALSE
extendedKeyUsage = clientAuth
EOF
# sign NAME CN [SAN|-] [openssl ca date options...]
sign()
{
	local name=$1 cn=$2 san=${3:--} ext=()
	shift 3 || shift $#
	[ "$san" = - ] || ext=(-addext "subjectAltName=DNS:$san")
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -subj "/CN=$cn" "${ext[@]}" -keyout "$pki/$name.key" \
	    -out "$pki/$name.csr" >/dev/null 2>&1 || fail "openssl req $name"
	chmod 0600 "$pki/$name.key"
	openssl ca -batch -config "$pki/ca.cnf" -in "$pki/$name.csr" \
	    -out "$pki/$name.pem" -extensions client -notext "$@" \
	    >"$T/ca.out" 2>&1 || { cat "$T/ca.out"; fail "openssl ca $name"; }
}
gencrl() { openssl ca -config "$pki/ca.cnf" -gencrl -out "$pki/fleet.crl" \
    >"$T/ca.out" 2>&1 || { cat "$T/ca.out"; fail "openssl ca -gencrl"; }; }
sign fleet-1 fleet-1 fleet-1
sign fleet-2 fleet-2 fleet-2
sign fleet-r fleet-r fleet-r
sign fleet-x fleet-x fleet-x -startdate 20250101000000Z -enddate 20250601000000Z
sign bad-name 'bad_name!'
sign pw-host pw-host pw-host
tls_cert "$pki" fleet-w other		# CN localhost, signed by another CA
gencrl					# nothing revoked yet

rconf=$T/recv.conf
recv_conf()
{
	cat <<EOC
timeout 5
receiver {
	listen "tls://127.0.0.1:$PORT"
	directory "$trails"
	user "$FWD_USER"
	certfile "$pki/recv.pem"
	keyfile "$pki/recv.key"
	enrol yes
	cafile "$pki/fleet.pem"
	crlfile "$pki/fleet.crl"
$1
}
EOC
}
recv_conf "" > "$rconf"
# Readable by the receiver's user, for SIGHUP.
chgrp "$(id -gn "$FWD_USER")" "$rconf"
chmod 0640 "$rconf"
chmod 0644 "$pki/fleet.pem" "$pki/fleet.crl"

# sender_conf NAME CERT: a sender that pins the receiver and logs in with
# its certificate alone (no password).
sender_conf()
{
	mkdir -m 0700 "$T/spool-$1"
	cat > "$T/$1.conf" <<EOC
name "$1"
timeout 5
sender {
	directory "$T/spool-$1"
	segment_age 1
	spool_min_free 0
	status_interval 1
	user $FWD_USER
	host recv {
		remote "tls://127.0.0.1:$PORT"
		fingerprint "$FP"
		certfile "$pki/$2.pem"
		keyfile "$pki/$2.key"
	}
}
EOC
	chmod 0600 "$T/$1.conf"
}

cp "$SAMPLE" "$T/input"
feed_input "$T/input" "$T/input.feed"
size=$(stat -c %s "$T/input")

bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
RECV_PID=$BG_PID
wait_for "port_listening $PORT" 10 || { show_tails "$T/recv.log"; fail "auditdistd did not listen"; }

# --- fleet-1 enrols and ships, slowly enough to outlast what follows ---------
sender_conf fleet-1 fleet-1
bg_start s1 "$T/s1.log" "$FEED" -t 120 -r $((size / 12 + 1)) -w "$size:$T/go" \
    "$T/input.feed" "$PLUGIN" -f "$T/fleet-1.conf"
wait_for '[ "$(trail_size "$trails/fleet-1")" -gt 0 ]' 15 ||
    { show_tails "$T/s1.log" "$T/recv.log"; fail "issue 12: fleet-1 did not enrol and ship"; }
grep -q 'host fleet-1: enrolled by certificate "/CN=fleet-1"' "$T/recv.log" ||
    fail "issue 12: the receiver did not log fleet-1's enrolment"
echo "issue 12: $(grep -m1 -o 'host fleet-1: enrolled by .*' "$T/recv.log")"

# Its writer: confined like every other, holding only its own directory.
WRITER=$(grep -m1 -o 'host fleet-1: writer started (pid [0-9]*' "$T/recv.log" |
    grep -o '[0-9]*$' || :)
[ -n "$WRITER" ] || WRITER=$(recv_writers "$RECV_PID" | head -n 1)
[ -n "$WRITER" ] || fail "no writer for fleet-1 under $RECV_PID"
field() { sed -n "s/^$2:[[:space:]]*//p" "/proc/$1/status" | awk '{print $1}'; }
want_uid=$(id -u "$FWD_USER")
got="uid=$(field "$WRITER" Uid) nnp=$(field "$WRITER" NoNewPrivs) seccomp=$(field "$WRITER" Seccomp) cap=$(field "$WRITER" CapEff)"
[ "$got" = "uid=$want_uid nnp=1 seccomp=2 cap=0000000000000000" ] ||
    fail "issue 12: the enrolled host's writer (pid $WRITER): $got"
dirs=$(for f in /proc/"$WRITER"/fd/*; do [ ! -d "$f" ] || readlink "$f"; done | sort -u)
others=$(grep -vxE "$trails/fleet-1(/.*)?" <<< "$dirs" || :)
if [ -n "$others" ] || [ -z "$dirs" ]; then
	fail "issue 12: the enrolled host's writer holds other directories: ${others//$'\n'/ }"
fi
echo "issue 12: fleet-1's writer (pid $WRITER): $got; directories open: only its own (${dirs//$'\n'/ })"

# --- while it ships: fleet-2 enrols; a host block and a CRL by SIGHUP --------
sender_conf fleet-2 fleet-2
bg_start s2 "$T/s2.log" "$FEED" -t 120 -w "$size:$T/go2" "$T/input.feed" "$PLUGIN" -f "$T/fleet-2.conf"
openssl ca -config "$pki/ca.cnf" -revoke "$pki/fleet-r.pem" >"$T/ca.out" 2>&1 ||
    { cat "$T/ca.out"; fail "openssl ca -revoke"; }
gencrl
recv_conf "	host pw-host {
		password \"$PW\"
	}" > "$rconf"
n=$(grep -c 'configuration reloaded' "$T/recv.log" || :)
kill -HUP "$RECV_PID"
wait_for '[ "$(grep -c "configuration reloaded" "$T/recv.log")" -gt "$n" ]' 10 ||
    { show_tails "$T/recv.log"; fail "the receiver did not reload"; }
wait_for '[ "$(trail_size "$trails/fleet-2")" -ge "$size" ]' 30 ||
    { show_tails "$T/s2.log" "$T/recv.log"; fail "issue 12: fleet-2 shipped $(trail_size "$trails/fleet-2") of $size bytes"; }
trail_cat "$trails/fleet-2" > "$T/trail-2"
trail_compare "$T/trail-2" "$T/input" || fail "issue 12: fleet-2's trail differs from its input"
touch "$T/go2"
bg_stop s2 0 15 || fail "fleet-2's audisp-dist did not exit at the end of its input"
echo "issue 12: fleet-2 enrolled while fleet-1 shipped, and its $size bytes arrived"

# --- refusals, each in its own short connection --------------------------------
sender_conf fleet-r fleet-r
sender_conf fleet-x fleet-x
sender_conf fleet-w fleet-w
sender_conf bad-name bad-name
sender_conf pw-host pw-host
for s in fleet-r fleet-x fleet-w bad-name pw-host; do
	bg_start "$s" "$T/$s.log" "$FEED" -t 120 -w "$size:$T/go.never" "$T/input.feed" "$PLUGIN" -f "$T/$s.conf"
done
refused()	# SENDER REASON: in both logs
{
	local s=$1 why=$2
	wait_for 'grep -qF "host $s)" "$T/recv.log" && grep "host $s)" "$T/recv.log" | grep -qF "$why" && grep -qF "$why" "$T/$s.log"' 20 ||
	    { show_tails "$T/$s.log" "$T/recv.log"; fail "issue 12: $s: \"$why\" is not in both logs"; }
	echo "issue 12: $s refused; receiver: $(grep "host $s)" "$T/recv.log" | grep -m1 -F "$why" | sed 's/^[^ ]* auditdistd: //' | cut -c1-220)"
	echo "issue 12: $s refused; sender: $(grep -m1 -F "$why" "$T/$s.log" | sed 's/^[^ ]* audisp-dist[^ ]*: //' | cut -c1-220)"
	[ "$(trail_size "$trails/$s")" = 0 ] || fail "issue 12: $s was refused but shipped"
	bg_stop "$s" TERM 10 || :
}
refused fleet-r "certificate revoked"
refused fleet-x "certificate expired on 2025-06-01T00:00:00Z"
refused fleet-w "certificate not signed by the fleet CA"
refused bad-name 'name "bad_name!" breaks the host-name rules'
refused pw-host "host pw-host is configured with other credentials"
if [ -e "$trails/bad-name" ] || [ -e "$trails/fleet-r" ]; then
	fail "issue 12: a refused sender got a trail directory"
fi

# --- fleet-1: all of it, on its one connection -----------------------------------
wait_for '[ "$(trail_size "$trails/fleet-1")" -ge "$size" ]' 30 ||
    { show_tails "$T/s1.log" "$T/recv.log"; fail "issue 12: fleet-1 shipped $(trail_size "$trails/fleet-1") of $size bytes"; }
trail_cat "$trails/fleet-1" > "$T/trail-1"
trail_compare "$T/trail-1" "$T/input" || fail "issue 12: fleet-1's trail differs from its input"
touch "$T/go"
bg_stop s1 0 15 || fail "fleet-1's audisp-dist did not exit at the end of its input"
conns=$(grep -c 'host fleet-1: connected from' "$T/recv.log")
[ "$conns" = 1 ] || fail "issue 12: fleet-1 connected $conns times (a SIGHUP or an enrolment disturbed it)"
echo "issue 12: fleet-1 enrolled by certificate alone shipped all $size bytes byte-identically on 1 connection through an enrolment, a SIGHUP and 5 refusals"

# --- an expired CRL: said at the reload, and every enrolment refused --------------
openssl ca -config "$pki/ca.cnf" -gencrl -out "$pki/fleet.crl" \
    -crl_lastupdate 20250101000000Z -crl_nextupdate 20250201000000Z \
    >"$T/ca.out" 2>&1 || { cat "$T/ca.out"; fail "openssl ca -gencrl (expired)"; }
n=$(grep -c 'configuration reloaded' "$T/recv.log" || :)
kill -HUP "$RECV_PID"
wait_for '[ "$(grep -c "configuration reloaded" "$T/recv.log")" -gt "$n" ]' 10 ||
    { show_tails "$T/recv.log"; fail "the receiver did not reload"; }
grep -q "crlfile $pki/fleet.crl expired on 2025-02-01T00:00:00Z: no sender can enrol" "$T/recv.log" ||
    { show_tails "$T/recv.log"; fail "issue 12: the reload did not warn of the expired CRL"; }
sign fleet-3 fleet-3 fleet-3
sender_conf fleet-3 fleet-3
bg_start fleet-3 "$T/fleet-3.log" "$FEED" -t 120 -w "$size:$T/go.never" "$T/input.feed" "$PLUGIN" -f "$T/fleet-3.conf"
refused fleet-3 "the receiver's CRL expired on 2025-02-01T00:00:00Z"

bg_stop recv TERM 15 || fail "auditdistd did not stop"
log_sanity "$T/recv.log" auditdistd
