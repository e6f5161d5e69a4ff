#!/bin/bash
# make demo: run audisp-dist on the bundled sample of real audit records (fed
# through a pipe, as auditd feeds a plugin), show the spool and its status
# file, then search and report on the spooled records with ausearch and
# aureport.  Everything lives in one directory, kept for a look afterwards.
set -euo pipefail
: "${B:=build}"
SAMPLE=tests/data/sample-enriched.log
D=${DEMO_DIR:-/tmp/auditdist-demo}

[ -r "$SAMPLE" ] || { echo "demo: $SAMPLE is missing" >&2; exit 1; }
rm -rf "$D"
mkdir -p "$D"
cat > "$D/auditdistd.conf" <<CONF
# A sender with a small segment size, so that the demo shows rotation.
sender {
	directory "$D/spool"
	segment_size 256K
	status_interval 1
}
CONF
chmod 600 "$D/auditdistd.conf"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "check the configuration"
"$B/audisp-dist" -n "$D/auditdistd.conf"

records=$(wc -l < "$SAMPLE")
step "feed $records real audit records ($(wc -c < "$SAMPLE") bytes) through a pipe into audisp-dist"
cat "$SAMPLE" | "$B/audisp-dist" -f "$D/auditdistd.conf" 2> "$D/audisp-dist.log"
cat "$D/audisp-dist.log"

step "the spool: identity, closed segments (.seg) and the open one (.open)"
ls -l "$D/spool"

step "the status file (tail)"
tail -n 2 "$D/spool/status"

step "the spool holds the input, byte for byte"
(cd "$D/spool" && cat ./*.seg ./*.open) > "$D/spooled.log"
cmp "$SAMPLE" "$D/spooled.log" && echo "identical: $(wc -l < "$D/spooled.log") records"

step "ausearch over the spooled records: the last 3 execve events, interpreted"
(cd "$D/spool" && cat ./*.seg ./*.open) | ausearch -i -m EXECVE 2>/dev/null | tail -n 12 || true

step "ausearch on one closed segment, as it is"
first=$(cd "$D/spool" && ls ./*.seg | head -n 1)
printf 'events in %s: ' "${first#./}"
ausearch -if "$D/spool/${first#./}" --raw 2>/dev/null | grep -c '' || true

step "aureport summary over the spooled records"
(cd "$D/spool" && cat ./*.seg ./*.open) | aureport --summary 2>/dev/null | head -n 30 || true

step "done: everything is in $D"
