#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Issue 11: a typo in the configuration file and a restart made
# audisp-dist exit (78); auditd gives up on a plugin that exits, and the
# records it sent meanwhile were lost without a trace.  Now audisp-dist
# keeps a copy of each configuration that loaded (the last good copy, in
# its state directory, -D) and, started with a broken file, keeps every
# record:
#   lastgood	a good start ships part 1 and saves the copy; the file
#		gets a typo; a start while part 2 flows runs on the copy,
#		says which error and which line (log and status file) and
#		ships part 2; the fixed file and SIGHUP clear the error.
#   defaults	a fresh state directory and a broken file: part 3 is
#		spooled in the state directory, the status says why
#		nothing ships; the fixed file and SIGHUP ship it all.
#   restart	the same, fixed by a restart instead of SIGHUP.
# Each host's trail must be what it was fed, byte for byte: every
# record, hence every serial, exactly once.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
need_root
need_cmd openssl ss cmp perl stat sort uniq
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet)"
done
deadline 90

HOSTS=(lastgood defaults restart)
recv_setup
rconf=$T/recv.conf
{
	echo "timeout 5"
	echo "receiver {"
	echo "	listen \"tls://127.0.0.1:$PORT\""
	echo "	directory \"$trails\""
	echo "	user \"$FWD_USER\""
	echo "	certfile \"$pki/recv.pem\""
	echo "	keyfile \"$pki/recv.key\""
	for h in "${HOSTS[@]}"; do
		printf '\thost %s {\n\t\tremote "tls://127.0.0.1"\n\t\tpassword "%s"\n\t}\n' "$h" "$PW"
	done
	echo "}"
} > "$rconf"
chmod 0600 "$rconf"
# lastgood: its own spool, state elsewhere.  defaults and restart: the
# spool is the state directory, as with the defaults of an installation
# (both /var/spool/audisp-dist).
test_sender_conf "$T/lastgood.conf" lastgood "$T/spool-lastgood" \
    "127.0.0.1:$PORT" "$FP" "$PW" 5 "segment_size 16K"
for h in defaults restart; do
	test_sender_conf "$T/$h.conf" "$h" "$T/state-$h" "127.0.0.1:$PORT" \
	    "$FP" "$PW" 5 "segment_size 16K"
done

# Five parts of one stream, every record unique.
sample_stream "$SAMPLE" 400000 "$T/all"
n=$(wc -l < "$T/all")
for i in 1 2 3 4 5; do
	sed -n "$(( (i - 1) * n / 5 + 1)),$(( i * n / 5 ))p" "$T/all" > "$T/p$i"
	feed_input "$T/p$i" "$T/p$i.feed"
done
cat "$T/p1" "$T/p2" > "$T/want-lastgood"
cp "$T/p3" "$T/want-defaults"
cat "$T/p4" "$T/p5" > "$T/want-restart"

bg_start recv "$T/recv.log" "$RECV" -f "$rconf"
wait_for "port_listening $PORT" 10 || fail "auditdistd did not listen"

# start HOST PART STATE-DIR: HOST's audisp-dist (-D STATE-DIR) is fed PART
# and stays up (feed_input) until stop HOST.
start()
{
	local h=$1 p=$2 st=$3
	bg_start "send-$h" "$T/$h.log" "$FEED" -t 80 \
	    -w "$(stat -c %s "$T/$p"):$T/go-$h" "$T/$p.feed" \
	    "$PLUGIN" -f -D "$st" "$T/$h.conf"
}
plugin_pid()	# HOST
{
	local p
	p=$(bg_pid "send-$1")
	[ -n "$p" ] || { show_tails "$T/$1.log"; fail "$1: audisp-dist exited (it must keep running with a broken file)"; }
	child_pid "$p"
}
# SIGTERM, not the end of input: feed_input's extra record stays unsent.
stop()
{
	local p
	p=$(plugin_pid "$1")
	kill -TERM "$p"
	bg_stop "send-$1" 0 15 || fail "$1: audisp-dist did not exit within 15 s of SIGTERM"
	[ "$BG_RC" = 0 ] || { show_tails "$T/$1.log"; fail "$1: audisp-dist exited with $BG_RC"; }
}
shipped()	# HOST FILE: the trail holds FILE's size
{
	[ "$(trail_size "$trails/$1")" -ge "$(stat -c %s "$2")" ]
}
# break_conf HOST: a typo in a keyword, on line $line.
break_conf()
{
	local c=$T/$1.conf out rc=0
	line=$(grep -n 'segment_age 1$' "$c" | cut -d: -f1)
	sed -i 's/segment_age 1$/segmnet_age 1/' "$c"
	out=$(timeout 10 "$PLUGIN" -n "$c" 2>&1) || rc=$?
	[ "$rc" = 78 ] || fail "$1: -n on the broken file exits $rc, not 78: $out"
}
fix_conf()
{
	sed -i 's/segmnet_age 1$/segment_age 1/' "$T/$1.conf"
}
# status_has HOST STATUS-FILE REGEX
status_has()
{
	tail -n 1 "$2" 2>/dev/null | grep -qE "$3"
}
# A plugin on the defaults (its file broken) writes its status every 10 s
# (status_interval): wait for one write and some.
expect_status()	# HOST STATUS-FILE REGEX WHAT
{
	wait_for "status_has '$1' '$2' '$3'" 15 || {
		echo "status: $(tail -n 1 "$2" 2>/dev/null)"
		show_tails "$T/$1.log"
		fail "$1: $4 (the status file lacks /$3/)"; }
}
# Every record, hence every serial, once: the trail is the input.
check_trail()	# HOST
{
	local h=$1 ns
	trail_cat "$trails/$h" > "$T/trail-$h"
	trail_compare "$T/trail-$h" "$T/want-$h" ||
	    fail "$h: the trail is not what was fed"
	ns=$(grep -o 'msg=audit([0-9.]*:[0-9]*)' "$T/want-$h" | sort -u | wc -l)
	cmp -s <(grep -o 'msg=audit([0-9.]*:[0-9]*)' "$T/trail-$h" | sort | uniq -c) \
	    <(grep -o 'msg=audit([0-9.]*:[0-9]*)' "$T/want-$h" | sort | uniq -c) ||
	    fail "$h: the serials in the trail are not those fed"
	info "$h: $(wc -l < "$T/want-$h") records, $ns events, each once in the trail"
}

# --- lastgood --------------------------------------------------------------
h=lastgood
st=$T/state-lastgood
start $h p1 "$st"
wait_for "shipped $h '$T/p1'" 20 || { show_tails "$T/$h.log"; fail "$h: part 1 not shipped"; }
[ -f "$st/last-good.conf" ] || fail "$h: no last good copy in $st after a good start"
[ "$(stat -c '%a %u' "$st/last-good.conf")" = "600 0" ] ||
    fail "$h: the last good copy is $(stat -c '%a uid %u' "$st/last-good.conf"), not 600 root's"
cmp -s "$st/last-good.conf" "$T/$h.conf" || fail "$h: the last good copy is not the file"
stop $h
break_conf $h
start $h p2 "$st"
status=$T/spool-$h/status
expect_status $h "$status" "config=last_good config_error=\"$T/$h.conf:$line: " \
    "started with a broken file, no error shown"
grep -q "configuration error: $T/$h.conf:$line: .*running on the last good configuration $st/last-good.conf" "$T/$h.log" ||
    { show_tails "$T/$h.log"; fail "$h: the log does not say which error and that it runs on the last good copy"; }
wait_for "shipped $h '$T/want-lastgood'" 20 ||
    { show_tails "$T/$h.log"; fail "$h: part 2 not shipped on the last good configuration"; }
echo "issue 11: started with a broken file ($(grep -m1 -o "$T/$h.conf:$line: [^;]*" "$T/$h.log")), audisp-dist runs on its last good copy, says so in its log and status, and ships"
fix_conf $h
kill -HUP "$(plugin_pid $h)"
expect_status $h "$status" 'config=file config_error=""' "SIGHUP with the fixed file did not clear the error"
grep -q "the configuration error is over" "$T/$h.log" || fail "$h: the log does not say the error is over"
stop $h
check_trail $h
echo "issue 11: fixed file + SIGHUP clears the error; parts 1 and 2 are in the trail, every serial once"

# --- defaults: no last good copy; SIGHUP ------------------------------------
h=defaults
st=$T/state-$h
break_conf $h
start $h p3 "$st"
status=$st/status
expect_status $h "$status" "config=defaults config_error=\"$T/$h.conf:$line: " \
    "started with a broken file and no copy, no error shown"
expect_status $h "$status" "records_spooled=$(wc -l < "$T/p3") " "part 3 not spooled on the defaults"
expect_status $h "$status" 'forwarder=none .*last_error="nothing is shipped: ' \
    "the status does not say why nothing ships"
grep -q "configuration error: $T/$h.conf:$line: .*no last good copy.*NOTHING IS SHIPPED" "$T/$h.log" ||
    { show_tails "$T/$h.log"; fail "$h: the log does not say it runs on the defaults"; }
sleep 2
[ "$(trail_size "$trails/$h")" = 0 ] || fail "$h: shipped on the defaults, which have no receiver"
echo "issue 11: with no last good copy, part 3 is spooled in the state directory and the status says why nothing ships"
fix_conf $h
kill -HUP "$(plugin_pid $h)"
wait_for "shipped $h '$T/want-$h'" 20 ||
    { show_tails "$T/$h.log"; echo "status: $(tail -n 1 "$status")"; fail "$h: not shipped after the fix and SIGHUP"; }
expect_status $h "$status" 'config=file config_error="" .*last_error=""' \
    "SIGHUP with the fixed file did not clear the error"
stop $h
check_trail $h
[ -f "$st/last-good.conf" ] || fail "$h: no last good copy saved at the reload"
echo "issue 11: fixed file + SIGHUP ships everything spooled on the defaults, every serial once"

# --- restart: no last good copy; a restart fixes it -------------------------
h=restart
st=$T/state-$h
break_conf $h
start $h p4 "$st"
expect_status $h "$st/status" "records_spooled=$(wc -l < "$T/p4") .*config=defaults config_error=\"$T/$h.conf:$line: " \
    "part 4 not spooled on the defaults"
stop $h
fix_conf $h
start $h p5 "$st"
wait_for "shipped $h '$T/want-$h'" 20 ||
    { show_tails "$T/$h.log"; fail "$h: not shipped after the fix and a restart"; }
expect_status $h "$st/status" 'config=file config_error=""' "the error is still shown after the restart"
stop $h
check_trail $h
echo "issue 11: fixed file + restart ships everything spooled on the defaults, every serial once"

bg_stop recv TERM 15 || fail "auditdistd did not stop"
for h in "${HOSTS[@]}"; do
	log_sanity "$T/$h.log" "audisp-dist ($h)"
done
