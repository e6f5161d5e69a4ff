#!/bin/bash
# shellcheck disable=SC2016 # wait_for takes code in single quotes
# Hole 6: segment names are durable before anything of a segment leaves
# the host, with every flush mode.
#  1. strace audisp-dist with "flush none" while it rotates small
#     segments: closing segment N must be fdatasync(N) < fsync(spool
#     directory) < renameat(N.open, N.seg) < fsync(spool directory).
#     (Before the fix, flush none synced neither.)
#  2. "A crash between creating and naming a segment": gdb stops the
#     plugin at the syncer's renameat of a rotation; while it is stopped,
#     nothing of the next segment (created, its name not yet known to be
#     durable) may reach the receiver.  The plugin is SIGKILLed there and
#     started again on the rest of the input: the trail must be the input
#     byte for byte, and no segment number is used twice.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

SAMPLE=${ADTEST_SAMPLE:-tests/data/sample-enriched.log}
RECV=$B/auditdistd
PLUGIN=$B/audisp-dist
FEED=$B/tests/feed
need_root
need_cmd strace gdb openssl ss cmp perl stat
for b in "$RECV" "$PLUGIN" "$B/audisp-dist-forwarder" "$FEED"; do
	[ -x "$b" ] || skip "no $b (not built yet)"
done
deadline 90

# --- 1: the order of a close, with flush none -------------------------------
head -n 300 "$SAMPLE" > "$T/small"
mkdir -m 0700 "$T/spool1"
cat > "$T/one.conf" <<EOC
name "one"
sender {
	directory "$T/spool1"
	segment_size 4K
	spool_min_free 0
	flush none
}
EOC
chmod 0600 "$T/one.conf"
"$FEED" -t 30 "$T/small" strace -f -y -qq -o "$T/strace.out" \
    -e trace=fdatasync,fsync,renameat,renameat2 "$PLUGIN" -f "$T/one.conf" \
    > "$T/one.log" 2>&1 || { show_tails "$T/one.log"; fail "audisp-dist under strace failed"; }
# Per rename of N.open: the syscalls since the previous one, in order.
verdict=$(SPOOL="$T/spool1" perl -ne '
	BEGIN { $bad = 0; $n = 0; @seen = (); }
	s/^\d+\s+//;
	if (/^fdatasync\(\d+<.*\/([0-9a-f]{16})\.open>\)\s+= 0/) {
		push @seen, "data:$1";
	} elsif (/^fsync\(\d+<(.*)>\)\s+= 0/) {
		push @seen, "dir" if $1 eq $ENV{SPOOL};
	} elsif (/^renameat2?\(.*"([0-9a-f]{16})\.open",.*"\1\.seg"/) {
		push @seen, "rename:$1";
	}
	END {
		# fdatasync N, fsync dir, rename N, fsync dir, for every N.
		my $s = join(" ", @seen);
		while ($s =~ /rename:([0-9a-f]{16})/g) {
			my $seq = $1;
			$n++;
			$bad++ unless $s =~ /data:$seq dir rename:$seq dir/;
		}
		print "$n $bad\n";
	}' < "$T/strace.out")
read -r renames bad <<< "$verdict"
[ "$renames" -ge 3 ] || { head -40 "$T/strace.out"; fail "only $renames segment renames traced"; }
if [ "$bad" != 0 ]; then
	grep -E 'fdatasync|fsync|rename' "$T/strace.out" | head -20 | sed 's/^/  | /'
	fail "hole 6: $bad of $renames closes with flush none are not fdatasync(segment) < fsync(dir) < renameat < fsync(dir)"
fi
info "flush none: $renames closes, each fdatasync < fsync(dir) < renameat < fsync(dir)"

# --- 2: SIGKILL between creating segment N+1 and naming N -------------------
recv_setup
test_recv_conf "$T/recv.conf" "127.0.0.1:$PORT" "timeout 5" \
    "$(test_recv_host two "$PW")"
# A second host that is never reached: nothing is deleted from the
# spool, so its segments say where the plugin's input stopped.
test_sender_conf "$T/two.conf" two "$T/spool2" "127.0.0.1:$PORT" "$FP" "$PW" 5 \
    "segment_size 8K
flush none
host never {
	remote \"tls://127.0.0.1:$(free_port)\"
	fingerprint \"$FP\"
	password \"$PW\"
}"
head -n 1500 "$SAMPLE" > "$T/input"
size=$(stat -c %s "$T/input")
bg_start recv "$T/recv.log" "$RECV" -f "$T/recv.conf"
wait_for "port_listening $PORT" 10 || fail "auditdistd did not listen"
bg_start send "$T/send.log" "$FEED" -r 20000 -p "$T/fed" -t 60 "$T/input" \
    "$PLUGIN" -f "$T/two.conf"
wait_for '[ -n "$(child_pid "$(bg_pid send)")" ]' 5 || fail "no plugin"
plug=$(child_pid "$(bg_pid send)")
tdir=$trails/two
wait_for '[ "$(trail_size "$tdir")" -gt 0 ]' 15 ||
    { show_tails "$T/send.log" "$T/recv.log"; fail "nothing shipped"; }

# Stop it at the next rename of a rotation; hold it there 3 s.
gdb -p "$plug" -batch -nx -ex 'set pagination off' -ex 'break renameat' \
    -ex continue -ex "shell touch $T/hit" -ex 'shell sleep 3' \
    -ex 'info threads' -ex kill > "$T/gdb.out" 2>&1 &
gdbpid=$!
on_exit "kill -KILL $gdbpid 2>/dev/null"
wait_for "[ -e '$T/hit' ]" 20 || { cat "$T/gdb.out"; fail "gdb: no renameat in 20 s"; }
sleep 2
mapfile -t opens < <(find "$T/spool2" -maxdepth 1 -name '*.open' -printf '%f\n' | sort)
[ "${#opens[@]}" -ge 2 ] || fail "at the breakpoint: ${opens[*]} (expected the segment being closed and the next)"
next=${opens[-1]%.open}
nsz=$(stat -c %s "$T/spool2/${opens[-1]}")
shipped=$(cat "$tdir"/.store/*.idx 2>/dev/null | awk -v s="$next" '$1 == "S" && $3 == s' | wc -l)
info "stopped closing ${opens[0]}; ${opens[-1]} holds $nsz bytes; the receiver has $shipped S lines for it"
[ "$shipped" = 0 ] ||
    fail "hole 6: segment $next was shipped while the one before it was still being named"
wait "$gdbpid" || :
bg_stop send 0 10 || :
fed=$(cat "$T/fed")
info "plugin killed after $fed of $size bytes fed"

# Restart on the input from where the spool's whole records end.
spooled=$(spool_segments "$T/spool2" | xargs -r stat -c %s | awk '{ s += $1 } END { print s + 0 }')
feed_input "$T/input" "$T/input.feed"
bg_start send2 "$T/send.log" "$FEED" -o "$spooled" -t 60 -w "$((size - spooled)):$T/go" \
    "$T/input.feed" "$PLUGIN" -f "$T/two.conf"
wait_for '[ "$(trail_size "$tdir")" -ge "$size" ]' 40 ||
    { show_tails "$T/send.log" "$T/recv.log"; fail "the trail holds $(trail_size "$tdir") of $size bytes"; }
sleep 1
trail_cat "$tdir" | cmp - "$T/input" || fail "hole 6: after the crash the trail differs from the input"
dups=$(cat "$tdir"/.store/*.idx | awk '$1 == "S" { print $3 }' | sort | uniq -d | wc -l)
[ "$dups" = 0 ] || fail "hole 6: $dups segment numbers were used twice"
touch "$T/go"
bg_stop send2 0 15 || fail "audisp-dist did not exit at the end of its input"
bg_stop recv TERM 15 || fail "auditdistd did not stop"
echo "hole 6: flush none syncs every close ($renames traced, in order); nothing of a segment left before its name was durable; after SIGKILL there, trail == input, no number reused"
