#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Shipping end to end over loopback TLS: audisp-dist spools a recorded
# stream (the sample, repeated to a few MB with new serial numbers) in
# small segments, its forwarder ships them to auditdistd, and the host's
# trail there, read oldest file first, must be the input byte for byte;
# ausearch -if DIR/HOST and aureport -if must read every record of it; the
# shipped segments must be gone from the spool.  The receiver's certificate
# is checked three ways (fingerprint, pubkey pin, CA file) by three senders
# at once; three more senders with a wrong fingerprint, a wrong pin and the
# wrong CA must ship nothing and say why.
#
# ADTEST_SHIP_MB sets the size of the main stream; ADTEST_RECV_ARGS the
# receiver's options before its config (default -f).
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

MB=${ADTEST_SHIP_MB:-4}
SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FWD=$B/audisp-dist-forwarder
FEED=$B/tests/feed
read -r -a RECV_ARGS <<< "${ADTEST_RECV_ARGS:--f}"

need_root
need_cmd openssl ausearch aureport ss cmp perl stat
for b in "$RECV" "$PLUGIN" "$FWD" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet: make; make $FEED)"
done
[ -s "$SAMPLE" ] || skip "no recorded sample $SAMPLE"
deadline 240
t0=$(now_ms)

# --- TLS material: a CA signs the receiver's certificate -----------------
pki=$T/pki
mkdir -m 0755 "$pki"
tls_ca "$pki" ca
tls_ca "$pki" otherca
tls_cert "$pki" recv ca
tls_cert "$pki" other
chmod 0644 "$pki"/*.pem
FP=$(tls_fingerprint "$pki/recv.pem")
PIN=$(tls_pubkey_pin "$pki/recv.pem")
case $FP in SHA256=??:*) ;; *) fail "cannot read the fingerprint of $pki/recv.pem: $FP" ;; esac
# A wrong fingerprint: the right one with its last byte changed.
last=${FP##*:}
BADFP=${FP%:*}:$(printf '%02X' $(( (16#$last + 1) % 256 )))
BADPIN=$(tls_pubkey_pin "$pki/other.pem")

PORT=$(free_port)
trails=$T/trails
mkdir -m 0750 "$trails"

# Name, how the sender checks the receiver, its input, another line.
VARIANTS=(
	"s-fp|fingerprint \"$FP\"|big"
	"s-zstd|fingerprint \"$FP\"|big|compression zstd"
	"s-pubkey|pubkey \"$PIN\"|sample"
	"s-cafile|cafile \"$pki/ca.pem\"|sample"
	"s-badfp|fingerprint \"$BADFP\"|sample"
	"s-badpin|pubkey \"$BADPIN\"|sample"
	"s-badca|cafile \"$pki/otherca.pem\"|sample"
)
declare -A PW=()
for v in "${VARIANTS[@]}"; do
	PW[${v%%|*}]=$(rand_password)
done

rconf=$T/recv.conf
test_recv_conf "$rconf" "127.0.0.1:$PORT" "timeout 5" "trail_size 1M" "$(
	for v in "${VARIANTS[@]}"; do
		n=${v%%|*}
		test_recv_host "$n" "${PW[$n]}"
	done)"

sender_conf()	# NAME VERIFY-LINE [LINE]
{
	local c=$T/$1.conf
	mkdir -m 0700 "$T/spool-$1"
	cat > "$c" <<EOF
name "$1"
timeout 5
sender {
	directory "$T/spool-$1"
	segment_size 64K
	segment_age 1
	spool_min_free 0
	status_interval 1
	user $FWD_USER
	host recv {
		remote "tls://127.0.0.1:$PORT"
		$2
		${3:-}
		password "${PW[$1]}"
	}
}
EOF
	chmod 0600 "$c"
	out=$(timeout 10 "$PLUGIN" -n "$c" 2>&1) || fail "audisp-dist -n $c: $out"
}

# --- inputs ------------------------------------------------------------------
sample_stream "$SAMPLE" $((MB * 1024 * 1024)) "$T/big"
cp "$SAMPLE" "$T/sample"
for i in big sample; do
	feed_input "$T/$i" "$T/$i.feed"
done

sanity()	# LOG WHAT
{
	if grep -qE 'invariant failed|AddressSanitizer|runtime error|LeakSanitizer' "$1"; then
		sed 's/^/  | /' "$1" | grep -E -B3 -A10 'invariant failed|Sanitizer|runtime error' | head -30
		fail "$2 reported an internal error"
	fi
}

# A key that does not fit the certificate, and a missing one: the network
# process loads them at start-up, names the file and the receiver exits
# 78 (EX_CONFIG) with nothing left running.
for k in other.key missing.key; do
	sed "s|$pki/recv.key|$pki/$k|" "$rconf" > "$T/badkey.conf"
	chmod 0600 "$T/badkey.conf"
	rc=0
	out=$(timeout 10 "$RECV" -f "$T/badkey.conf" 2>&1) || rc=$?
	[ "$rc" = 78 ] || fail "receiver with keyfile $k: exit $rc, expected 78 ($out)"
	grep -q "private key $pki/$k" <<< "$out" ||
	    fail "receiver with keyfile $k: the message does not name it: $out"
	! pgrep -f "$T/badkey.conf" > /dev/null ||
	    fail "receiver with keyfile $k: processes left running"
	info "keyfile $k: $(head -n 1 <<< "$out")"
done

bg_start recv "$T/recv.log" "$RECV" "${RECV_ARGS[@]}" "$rconf"
if ! wait_for "port_listening $PORT" 10; then
	show_tails "$T/recv.log"
	fail "auditdistd did not listen on 127.0.0.1:$PORT within 10 s"
fi

for v in "${VARIANTS[@]}"; do
	IFS='|' read -r n verify input extra <<< "$v"
	sender_conf "$n" "$verify" "$extra"
	size=$(stat -c %s "$T/$input")
	bg_start "$n" "$T/$n.log" "$FEED" -b 4194304 -t 900 -w "$size:$T/$n.go" \
	    "$T/$input.feed" "$PLUGIN" -f "$T/$n.conf"
done
ts=$(now_ms)

# --- the senders that may ship --------------------------------------------------
unacked()	# NAME
{
	status_value "$T/spool-$1/status" unacked.recv
}

for n in s-fp s-zstd s-pubkey s-cafile; do
	case $n in s-fp|s-zstd) input=$T/big ;; *) input=$T/sample ;; esac
	size=$(stat -c %s "$input")
	if ! wait_for '[ "$(trail_size "$trails/$n")" -ge "$size" ]' 120; then
		show_tails "$T/$n.log" "$T/recv.log"
		echo "status: $(tail -n 1 "$T/spool-$n/status" 2>/dev/null)"
		fail "$n: the trail holds $(trail_size "$trails/$n") of $size bytes after 120 s"
	fi
	wait_for '[ "$(unacked "$n")" = 0 ]' 15 ||
	    fail "$n: the trail is complete but the status says unacked.recv=$(unacked "$n"): $(tail -n 1 "$T/spool-$n/status")"
	te=$(now_ms)
	if ! trail_cat "$trails/$n" | cmp - "$input"; then
		fail "$n: the trail differs from the input ($(trail_files "$trails/$n" | wc -l) files)"
	fi
	for f in $(trail_files "$trails/$n"); do
		[ "$(tail -c 1 "$f" | od -An -tx1 | tr -d ' ')" = 0a ] ||
		    fail "$n: $f does not end with a newline"
		head -n 1 "$f" | grep -qE '^(node=[^ ]+ )?type=[A-Z0-9_]+ msg=audit\(' ||
		    fail "$n: the first line of $f is not a record"
		case $f in
		*/audit.log) ;;
		*)	m=$(stat -c %a "$f")
			[ "$m" = 440 ] || fail "$n: rotated trail file $f has mode $m, not 0440" ;;
		esac
	done
	# Shipped segments leave the spool (the open one may stay, empty or not).
	if ! wait_for '[ -z "$(find "$T/spool-$n" -maxdepth 1 -name "*.seg")" ]' 10; then
		find "$T/spool-$n" -maxdepth 1 -printf '%f %s\n' | sed 's/^/  | /'
		fail "$n: shipped segments are still in the spool 10 s after the receiver had them"
	fi

	# ausearch and aureport read the directory as auditd's own.
	lines=$(wc -l < "$input")
	raw=$(timeout 60 ausearch -if "$trails/$n" --raw 2>/dev/null | wc -l)
	[ "$raw" = "$lines" ] ||
	    fail "$n: ausearch -if $trails/$n --raw printed $raw records, the input has $lines"
	timeout 60 aureport -if "$input" > "$T/$n.aureport.in" 2>&1 || :
	timeout 60 aureport -if "$trails/$n" 2>&1 | grep -v "^NOTE - using logs in" > "$T/$n.aureport.trail" || :
	if ! cmp -s "$T/$n.aureport.in" "$T/$n.aureport.trail"; then
		diff "$T/$n.aureport.in" "$T/$n.aureport.trail" | head -20
		fail "$n: aureport -if on the trail differs from aureport -if on the input"
	fi
	grep -q 'Number of events' "$T/$n.aureport.trail" ||
	    fail "$n: aureport printed no summary: $(head -3 "$T/$n.aureport.trail")"
	nfiles=$(trail_files "$trails/$n" | wc -l)
	nseg=$(cat "$trails/$n"/.store/*.idx 2>/dev/null | grep -c '^S ' || :)
	info "$n: $(stat -c %s "$input") bytes, $lines records in $nseg segments, $nfiles trail files, shipped within $(( (te - ts) / 1000 )) s"
	[ "$n" != s-fp ] || { big_ms=$((te - ts)); big_files=$nfiles; big_segs=$nseg; }
done
[ "$big_files" -ge 3 ] || fail "s-fp: only $big_files trail files for $MB MiB with trail_size 1M"

# --- the senders that must not ship -------------------------------------------
# By now each has tried for several seconds.
for n in s-badfp s-badpin s-badca; do
	case $n in
	s-badfp)	re='fingerprint' ;;
	s-badpin)	re='pubkey|public key' ;;
	s-badca)	re='certificate|verif|issuer' ;;
	esac
	wait_for "grep -qiE '$re' '$T/$n.log'" 10 || {
		show_tails "$T/$n.log"
		fail "$n: no log line about the receiver's certificate (/$re/) in 10 s"; }
	sz=$(trail_size "$trails/$n")
	[ "$sz" = 0 ] || fail "$n: a sender that cannot verify the receiver got $sz bytes into its trail"
	if grep -qE "\\b$n\\b" "$T/recv.log" && grep -iE "\\b$n\\b" "$T/recv.log" | grep -qiE 'authenticated|welcome|accepted host'; then
		fail "$n: the receiver says it authenticated $n: $(grep -E "\\b$n\\b" "$T/recv.log" | head -3)"
	fi
	mapfile -t segs < <(spool_segments "$T/spool-$n")
	spooled=$(cat "${segs[@]}" /dev/null | wc -c)
	size=$(stat -c %s "$T/sample")
	[ "$spooled" = "$size" ] ||
	    fail "$n: its spool holds $spooled bytes, the input has $size (it must keep everything)"
	u=$(unacked "$n")
	[ "$u" != 0 ] || fail "$n: status says unacked.recv=0 but nothing was shipped"
	info "$n: refused as it should: $(grep -iE "$re" "$T/$n.log" | head -1 | cut -c1-200)"
done

# --- orderly stop ------------------------------------------------------------
for v in "${VARIANTS[@]}"; do
	n=${v%%|*}
	p=$(bg_pid "$n")
	[ -n "$p" ] || { show_tails "$T/$n.log"; fail "$n: the feeder (and plugin) died early"; }
	plug=$(child_pid "$p")
	[ -n "$plug" ] || fail "$n: no plugin process under feed $p"
	kids=$(descendants "$plug")
	[ -n "$kids" ] || fail "$n: the plugin (pid $plug) runs no forwarder"
	kill -TERM "$plug"
	bg_stop "$n" 0 15 || fail "$n: audisp-dist did not exit within 15 s of SIGTERM"
	[ "$BG_RC" = 0 ] || { show_tails "$T/$n.log"; fail "$n: audisp-dist exited with status $BG_RC after SIGTERM"; }
	wait_for "[ -z \"\$(kids_alive '$kids')\" ]" 10 ||
	    fail "$n: the forwarder (pid $(kids_alive "$kids")) outlived its plugin by 10 s"
	sanity "$T/$n.log" "$n"
done
# Compression: the s-zstd connection carried far fewer bytes than it
# stored (its goodbye line counts what arrived, TLS payload).
zin=$(sed -n 's/.*host s-zstd: .* said goodbye (\([0-9]*\) bytes in).*/\1/p' "$T/recv.log" | tail -n 1)
big=$(stat -c %s "$T/big")
[ -n "$zin" ] || { show_tails "$T/recv.log"; fail "s-zstd: no goodbye line in the receiver's log"; }
# The same stream from s-fp, uncompressed, for the ratio.
fin=$(sed -n 's/.*host s-fp: .* said goodbye (\([0-9]*\) bytes in).*/\1/p' "$T/recv.log" | tail -n 1)
[ "$zin" -lt $((big / 2)) ] ||
    fail "s-zstd: $zin bytes arrived for $big bytes of records: not compressed"
info "s-zstd: $zin bytes on the wire for $big bytes stored (s-fp: ${fin:-?}), byte-identical"
bg_stop recv TERM 15 || fail "auditdistd did not exit within 15 s of SIGTERM"
[ "$BG_RC" = 0 ] || { show_tails "$T/recv.log"; fail "auditdistd exited with status $BG_RC after SIGTERM"; }
sanity "$T/recv.log" auditdistd

t1=$(now_ms)
big=$(stat -c %s "$T/big")
echo "ship: $big bytes, $(wc -l < "$T/big") records in $big_segs segments -> $big_files trail files" \
    "in $((big_ms / 1000)).$((big_ms % 1000 / 100)) s" \
    "($(( big * 1000 / (big_ms > 0 ? big_ms : 1) / 1024 )) KiB/s with 64K segments);" \
    "fingerprint, pubkey and cafile verified; wrong fingerprint, pin and CA refused;" \
    "zstd: $zin bytes in for $big;" \
    "$(( (t1 - t0) / 1000 )) s in all"
