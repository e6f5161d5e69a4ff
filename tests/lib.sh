# tests/lib.sh: helpers shared by the integration tests (bash only).
# shellcheck shell=bash disable=SC2015,SC2016,SC2034
#
# Source it from a test run at the repo root with B set (B=build):
#	. tests/lib.sh
# It creates a private temporary directory $T, removed at exit together with
# everything registered with on_exit (run last-registered first).  Exit codes
# follow the convention of tests/run.sh: 0 pass, 77 skip, anything else fail.
#
# The auditd helpers run a private auditd 3.x (auditd -n -c DIR) that owns the
# kernel audit connection for the length of one test.  They refuse to run when
# another auditd owns it, and put back the kernel state they change (enabled,
# backlog_limit) and the rules they load.  KEEP_T=1 keeps $T for a post-mortem.

: "${B:=build}"
export LC_ALL=C
TEST_NAME=${TEST_NAME:-$(basename "$0")}

skip()
{
	printf 'SKIP: %s\n' "$*"
	exit 77
}

fail()
{
	printf 'FAIL: %s\n' "$*"
	exit 1
}

info()
{
	printf '# %s\n' "$*" >&2
}

need_root()
{
	[ "$(id -u)" -eq 0 ] || skip "needs root"
}

need_cmd()
{
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "needs $c (not in PATH)"
	done
}

# --- temporary directory and cleanup ---------------------------------------

_LIB_ON_EXIT=()
_LIB_CLEANUP_FAILED=0

# Register a command (a string, eval'd) to run at exit; last in, first out.
# It runs in the test's shell, so it must not call fail or skip (exit).
on_exit()
{
	_LIB_ON_EXIT+=("$1")
}

# A cleanup step that could not put things back calls this: the test then
# fails even if its checks passed, because it left the machine dirty.
cleanup_failed()
{
	printf 'FAIL: cleanup: %s\n' "$*"
	_LIB_CLEANUP_FAILED=1
}

_lib_exit()
{
	local rc=$? i
	trap - EXIT
	set +e
	for ((i = ${#_LIB_ON_EXIT[@]} - 1; i >= 0; i--)); do
		eval "${_LIB_ON_EXIT[i]}"
	done
	if [ -n "${T:-}" ] && [ -d "$T" ]; then
		if [ "${KEEP_T:-0}" = 1 ]; then
			info "kept $T"
		else
			rm -rf -- "$T"
		fi
	fi
	if [ "$_LIB_CLEANUP_FAILED" = 1 ] && { [ "$rc" -eq 0 ] || [ "$rc" -eq 77 ]; }; then
		rc=1
	fi
	exit "$rc"
}

trap _lib_exit EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

# Plugin conf lines are read into 160-byte buffers by auditd 3.0.9 and split
# on spaces, so keep $T short and free of blanks.
T=$(mktemp -d "${TMPDIR:-/tmp}/adtest.XXXXXX") || { echo "FAIL: mktemp"; exit 1; }
case $T in
*[[:space:]]*) fail "temporary directory '$T' contains a blank; set TMPDIR" ;;
esac
[ "${#T}" -le 60 ] || fail "temporary directory '$T' is too long; set TMPDIR"
chmod 0755 "$T"
# audisp-dist keeps its last good configuration there, not in the machine's
# /var/spool/audisp-dist (plugins that auditd starts get -D instead).
export AUDISP_DIST_STATEDIR=$T/state

# Give up on the whole test after SECONDS: the shell gets SIGTERM, which runs
# the cleanup as soon as the current command returns (use timeout on anything
# that can block).
deadline()
{
	local parent=$$
	(
		sleep "$1" || exit 0
		printf 'FAIL: %s: deadline of %ss reached\n' "$TEST_NAME" "$1" >&3
		kill -TERM "$parent"
	) </dev/null >/dev/null 3>&2 2>/dev/null &
	# the sleep first, so that the watchdog does not fire on its way out
	on_exit "pkill -TERM -P $! sleep; kill $! 2>/dev/null"
}

# wait_for CMD TIMEOUT_SECONDS: poll (every 0.1 s) until CMD (eval'd, output
# discarded) succeeds; returns 1 when TIMEOUT_SECONDS pass first.
wait_for()
{
	local cmd=$1 timeout=$2 end
	end=$(( $(date +%s%N) + timeout * 1000000000 ))
	while :; do
		if eval "$cmd" >/dev/null 2>&1; then
			return 0
		fi
		[ "$(date +%s%N)" -lt "$end" ] || return 1
		sleep 0.1
	done
}

# Milliseconds since the epoch, for timings.
now_ms()
{
	echo $(( $(date +%s%N) / 1000000 ))
}

# True while PID exists and is not a zombie.
pid_alive()
{
	local st
	[ -r "/proc/$1/stat" ] || return 1
	st=$(sed 's/^.*) \(.\).*$/\1/' "/proc/$1/stat" 2>/dev/null) || return 1
	[ -n "$st" ] && [ "$st" != Z ]
}

# All descendants of PID (children first), one per line.
descendants()
{
	local c
	for c in $(pgrep -P "$1" 2>/dev/null); do
		echo "$c"
		descendants "$c"
	done
}

# --- kernel audit state ----------------------------------------------------

# audit_status FIELD: one field of `auditctl -s` (enabled, pid, lost, ...).
audit_status()
{
	timeout 10 auditctl -s 2>/dev/null | awk -v k="$1" '$1 == k { print $2; exit }'
}

_AUDIT_RULES=()
_AUDIT_RULES_HOOKED=0

# audit_rule_add RULE...: load one rule (auditctl -a RULE...) and remember
# it, so that cleanup deletes exactly this rule and nothing else.
audit_rule_add()
{
	local out
	out=$(timeout 10 auditctl -a "$@" 2>&1) || fail "auditctl -a $*: $out"
	_AUDIT_RULES+=("$*")
	if [ "$_AUDIT_RULES_HOOKED" = 0 ]; then
		_AUDIT_RULES_HOOKED=1
		on_exit _audit_rules_cleanup
	fi
}

# audit_rule_del RULE...: delete a rule loaded by audit_rule_add.
audit_rule_del()
{
	local out i
	out=$(timeout 10 auditctl -d "$@" 2>&1) || fail "auditctl -d $*: $out"
	for i in "${!_AUDIT_RULES[@]}"; do
		if [ "${_AUDIT_RULES[i]}" = "$*" ]; then
			unset '_AUDIT_RULES[i]'
			break
		fi
	done
}

_audit_rules_cleanup()
{
	local r
	for r in "${_AUDIT_RULES[@]}"; do
		# word splitting is intended: rules were given as words
		# shellcheck disable=SC2086
		timeout 10 auditctl -d $r >/dev/null 2>&1 ||
		    cleanup_failed "could not delete rule: $r"
	done
	_AUDIT_RULES=()
}

# --- a private auditd ------------------------------------------------------

AUDITD_PID=
AUDITD_DIR=
AUDITD_LOG=
AUDITD_RC=
_AUDITD_SAVED_ENABLED=
_AUDITD_SAVED_BACKLOG=
_AUDITD_LOCKED=0
: "${AUDITD_LOG_FORMAT:=ENRICHED}"	# or RAW
: "${AUDITD_NAME_FORMAT:=NONE}"		# or HOSTNAME, ...
: "${AUDITD_CONF_EXTRA:=}"		# more auditd.conf lines (later wins)
: "${AUDITD_BACKLOG_LIMIT:=8192}"	# raised for the test, then restored

# Write DIR/auditd.conf for auditd 3.0.9.  auditd reads it from the -c
# directory, requires it to be owned by root and not world-writable, and
# chmods the log file's directory to 0700: DIR is given to auditd alone.
_auditd_write_conf()
{
	local dir=$1 plugdir=$2
	cat > "$dir/auditd.conf" <<EOF
# written by tests/lib.sh for a private auditd
local_events = yes
write_logs = yes
log_file = $dir/audit.log
log_group = root
log_format = $AUDITD_LOG_FORMAT
flush = INCREMENTAL_ASYNC
freq = 50
max_log_file = 4096
num_logs = 2
max_log_file_action = IGNORE
priority_boost = 4
name_format = $AUDITD_NAME_FORMAT
space_left = 2
space_left_action = SYSLOG
verify_email = no
action_mail_acct = root
admin_space_left = 1
admin_space_left_action = SYSLOG
disk_full_action = SYSLOG
disk_error_action = SYSLOG
use_libwrap = no
tcp_listen_queue = 5
tcp_max_per_addr = 1
tcp_client_max_idle = 0
transport = TCP
distribute_network = no
q_depth = 8000
overflow_action = SYSLOG
max_restarts = 10
plugin_dir = $plugdir
end_of_event_timeout = 2
$AUDITD_CONF_EXTRA
EOF
	chmod 0600 "$dir/auditd.conf"
}

# auditd_private_start DIR PLUGIN_CONF_DIR
# Start `auditd -n -c DIR` with DIR/audit.log as its log and PLUGIN_CONF_DIR
# as plugin_dir.  Skips when the kernel's audit is unusable or another auditd
# owns it.  Sets AUDITD_PID, AUDITD_DIR, AUDITD_LOG.  May be called again
# after auditd_private_stop (with a new DIR); the kernel state saved by the
# first call is what the exit cleanup restores.
auditd_private_start()
{
	local dir=$1 plugdir=$2 out pid enabled lock
	need_root
	need_cmd auditd auditctl pgrep flock
	[ -z "$AUDITD_PID" ] || fail "auditd_private_start: one is running (pid $AUDITD_PID); auditd_private_stop it first"

	# Tests that need the kernel's audit connection take turns (fd 9 keeps
	# the lock until the test exits, across several auditd runs).
	if [ "$_AUDITD_LOCKED" = 0 ]; then
		lock=/run/lock
		[ -d "$lock" ] || lock=/tmp
		exec 9>"$lock/auditdist-tests.lock"
		flock -w 300 9 || skip "another test has held $lock/auditdist-tests.lock for 300 s"
		_AUDITD_LOCKED=1
	fi

	out=$(timeout 10 auditctl -s 2>&1) ||
	    skip "kernel audit not usable (auditctl -s: $(echo "$out" | head -1))"
	pid=$(audit_status pid)
	[ -n "$pid" ] || skip "cannot read the audit pid from auditctl -s"
	if [ "$pid" != 0 ]; then
		skip "another auditd (pid $pid, $(cat "/proc/$pid/comm" 2>/dev/null || echo '?')) owns the kernel audit connection"
	fi
	enabled=$(audit_status enabled)
	[ "$enabled" != 2 ] || skip "kernel audit configuration is locked (enabled 2)"
	# Save the state once: a second auditd in the same test must not take
	# what the first one left as the state to restore.
	if [ -z "$_AUDITD_SAVED_ENABLED" ]; then
		_AUDITD_SAVED_ENABLED=$enabled
		_AUDITD_SAVED_BACKLOG=$(audit_status backlog_limit)
		on_exit _auditd_private_cleanup
	fi

	if [ -n "$_AUDITD_SAVED_BACKLOG" ] &&
	    [ "$_AUDITD_SAVED_BACKLOG" -lt "$AUDITD_BACKLOG_LIMIT" ]; then
		timeout 10 auditctl -b "$AUDITD_BACKLOG_LIMIT" >/dev/null ||
		    fail "auditctl -b $AUDITD_BACKLOG_LIMIT"
	fi

	mkdir -p "$dir" && chmod 0700 "$dir" || fail "mkdir $dir"
	[ -d "$plugdir" ] || fail "auditd_private_start: no plugin directory $plugdir"
	_auditd_write_conf "$dir" "$plugdir"
	AUDITD_DIR=$dir
	AUDITD_LOG=$dir/audit.log

	# -n: no fork, so $! is auditd.  (-f would also send the events to
	# stderr instead of the log file.)  Its messages go to syslog.
	auditd -n -c "$dir" </dev/null >"$dir/auditd.out" 2>&1 &
	AUDITD_PID=$!
	if ! wait_for '[ "$(audit_status pid)" = "$AUDITD_PID" ]' 10; then
		if pid_alive "$AUDITD_PID"; then
			fail "auditd (pid $AUDITD_PID) did not register with the kernel within 10 s"
		fi
		wait "$AUDITD_PID"
		AUDITD_RC=$?
		AUDITD_PID=
		info "auditd exited with $AUDITD_RC; its complaint (auditd -f):"
		timeout 3 auditd -f -n -c "$dir" </dev/null 2>&1 |
		    grep -v 'parser called with' | head -20 >&2
		fail "private auditd did not start (config $dir/auditd.conf)"
	fi
	info "auditd pid $AUDITD_PID, log $AUDITD_LOG; kernel had enabled=$_AUDITD_SAVED_ENABLED backlog_limit=$_AUDITD_SAVED_BACKLOG (restored at exit)"
}

# The plugins (and what they spawned) auditd is running now.
auditd_plugin_pids()
{
	[ -n "$AUDITD_PID" ] && descendants "$AUDITD_PID"
}

# auditd_private_stop [TIMEOUT]: SIGTERM auditd and wait (bounded) until it
# and every process it started have exited, so that its log and the plugins'
# output are complete.  Returns 1, after SIGKILLing what is left, when
# something did not exit in time.  Sets AUDITD_RC to auditd's exit status.
auditd_private_stop()
{
	local timeout=${1:-20} kids p left rc=0
	[ -n "$AUDITD_PID" ] || return 0
	kids=$(descendants "$AUDITD_PID")
	kill -TERM "$AUDITD_PID" 2>/dev/null
	if ! wait_for '! pid_alive "$AUDITD_PID"' "$timeout"; then
		echo "auditd (pid $AUDITD_PID) ignored SIGTERM for ${timeout}s; killing it" >&2
		kill -KILL "$AUDITD_PID" 2>/dev/null
		rc=1
	fi
	wait "$AUDITD_PID" 2>/dev/null
	AUDITD_RC=$?
	AUDITD_PID=
	for p in $kids; do
		if ! wait_for '! pid_alive "$p"' "$timeout"; then
			echo "process $p ($(tr '\0' ' ' < "/proc/$p/cmdline" 2>/dev/null)) still running ${timeout}s after auditd stopped; killing it" >&2
			# shellcheck disable=SC2046
			kill -KILL "$p" $(descendants "$p") 2>/dev/null
			rc=1
		fi
	done
	sleep 0.1
	left=$(kids_alive "$kids")
	[ -z "$left" ] || { echo "processes $left survived SIGKILL" >&2; rc=1; }
	wait_for '[ "$(audit_status pid)" = 0 ]' 5 || {
		echo "kernel still reports an audit pid after auditd stopped" >&2; rc=1; }
	return $rc
}

# The pids among $1 (a list) still alive.
kids_alive()
{
	local p out=
	for p in $1; do
		pid_alive "$p" && out="$out $p"
	done
	echo "${out# }"
}

_auditd_private_cleanup()
{
	if [ -n "$AUDITD_PID" ]; then
		auditd_private_stop 10 || cleanup_failed "private auditd or its plugins did not stop cleanly"
	fi
	if [ -n "$_AUDITD_SAVED_BACKLOG" ] &&
	    [ "$(audit_status backlog_limit)" != "$_AUDITD_SAVED_BACKLOG" ]; then
		timeout 10 auditctl -b "$_AUDITD_SAVED_BACKLOG" >/dev/null ||
		    cleanup_failed "could not restore backlog_limit $_AUDITD_SAVED_BACKLOG"
	fi
	# auditd 3.0.9 leaves the kernel enabled when it stops.
	if [ -n "$_AUDITD_SAVED_ENABLED" ] &&
	    [ "$(audit_status enabled)" != "$_AUDITD_SAVED_ENABLED" ]; then
		timeout 10 auditctl -e "$_AUDITD_SAVED_ENABLED" >/dev/null ||
		    cleanup_failed "could not restore enabled $_AUDITD_SAVED_ENABLED"
	fi
	[ "$(audit_status pid)" = 0 ] || cleanup_failed "an auditd still owns the kernel audit connection"
}

# --- plugins ---------------------------------------------------------------

# plugin_install SRC [NAME]: copy an executable to $T/bin/NAME, root-owned
# and mode 0750 (auditd 3.0.9 wants the plugin path owned by root, a
# regular file, with at least u=rwx,g=rx), and print the new path.
plugin_install()
{
	local src=$1 name=${2:-$(basename "$1")}
	[ -f "$src" ] && [ -x "$src" ] || fail "plugin_install: $src is not an executable file"
	mkdir -p "$T/bin" && chmod 0755 "$T/bin" || fail "mkdir $T/bin"
	install -o root -g root -m 0750 "$src" "$T/bin/$name" || fail "install $src"
	echo "$T/bin/$name"
}

# write_plugin_conf DIR PATH [ARGS] [NAME]: write DIR/NAME (default
# audisp-dist.conf) declaring PATH as an always-running plugin fed the string
# format.  auditd 3.0.9 skips files whose name has more than one dot, refuses
# confs not owned by root or world-writable, splits lines on blanks, keeps
# only the first 2 args and ignores lines of 160 bytes or more.
write_plugin_conf()
{
	local dir=$1 path=$2 args=${3:-} name=${4:-audisp-dist.conf} st
	local -a words

	case $name in
	*.*.*) fail "write_plugin_conf: auditd 3.0.9 ignores '$name' (more than one dot)" ;;
	esac
	case $path in
	/*) ;;
	*) fail "write_plugin_conf: path must be absolute: $path" ;;
	esac
	case $path in
	*[[:space:]]*) fail "write_plugin_conf: blank in path: $path" ;;
	esac
	read -r -a words <<< "$args"
	[ "${#words[@]}" -le 2 ] || fail "write_plugin_conf: auditd 3.0.9 passes at most 2 args: $args"
	[ "${#path}" -lt 140 ] && [ "${#args}" -lt 140 ] ||
	    fail "write_plugin_conf: line too long for auditd 3.0.9"
	[ -f "$path" ] || fail "write_plugin_conf: $path is not a regular file"
	st=$(stat -L -c '%u %a' "$path") || fail "write_plugin_conf: stat $path"
	[ "${st% *}" = 0 ] || fail "write_plugin_conf: $path is not owned by root"
	[ $(( 8#${st#* } & 8#750 )) -eq $(( 8#750 )) ] ||
	    fail "write_plugin_conf: $path mode ${st#* } lacks u=rwx,g=rx (auditd 3.0.9 requires them)"

	mkdir -p "$dir" && chmod 0750 "$dir" || fail "mkdir $dir"
	{
		echo "active = yes"
		echo "direction = out"
		echo "path = $path"
		echo "type = always"
		[ -z "$args" ] || echo "args = $args"
		echo "format = string"
	} > "$dir/$name"
	chmod 0640 "$dir/$name"
}

# --- spool -----------------------------------------------------------------

# spool_segments DIR: the segment files of a spool in name (= arrival) order.
spool_segments()
{
	find "$1" -maxdepth 1 -type f -regextype posix-extended \
	    -regex '.*/[0-9a-f]{16}\.(open|seg)' | sort
}

# Remove type=EOE records (auditd sends them to plugins, never to its log).
strip_eoe()
{
	grep -Ev '^(node=[^ ]+ )?type=EOE msg=' || :
}

# --- test streams and status ------------------------------------------------

# sample_stream SAMPLE BYTES OUT: write to OUT copies of the recorded stream
# SAMPLE, at least BYTES in all, each copy's serial numbers moved past the
# previous copy's (msg=audit(SEC.MSEC:SERIAL)), so that every event stays
# unique and the stream stays one that auditd could have sent.
sample_stream()
{
	need_cmd perl
	perl -e '
		my ($f, $want) = @ARGV;
		open(my $fh, "<", $f) or die "$f: $!\n";
		local $/;
		my $s = <$fh>;
		my $max = 0;
		while ($s =~ /msg=audit\(\d+\.\d+:(\d+)\)/g) {
			$max = $1 if $1 > $max;
		}
		die "$f: no msg=audit(...) serial numbers\n" if $max == 0;
		my ($n, $r) = (0, 0);
		while ($n < $want) {
			my $add = $r * ($max + 1);
			(my $t = $s) =~ s/(msg=audit\(\d+\.\d+:)(\d+)\)/$1 . ($2 + $add) . ")"/ge;
			print $t;
			$n += length($t);
			$r++;
		}' "$1" "$2" > "$3" || fail "sample_stream: could not build $3 from $1"
}

# status_value FILE KEY: the value of KEY in the last line of a status file.
status_value()
{
	tail -n 1 "$1" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p" | head -n 1
}

# --- shipping: background processes, TLS material, receiver, trails ----------
# Used by the tests of the shipping path (tests/integration/5*.sh, 6*.sh).

declare -A _BG_PIDS=()
_BG_HOOKED=0
BG_PID=

# bg_start NAME LOG CMD [ARG...]: run CMD in the background, stdin from
# /dev/null, stdout and stderr appended to LOG.  Its pid goes to BG_PID and
# is remembered under NAME: at exit it is SIGKILLed with what it started.
bg_start()
{
	local name=$1 log=$2
	shift 2
	"$@" </dev/null >>"$log" 2>&1 &
	BG_PID=$!
	_BG_PIDS[$name]=$BG_PID
	if [ "$_BG_HOOKED" = 0 ]; then
		_BG_HOOKED=1
		on_exit _bg_cleanup
	fi
}

# bg_pid NAME: the pid of NAME if it is still running, else nothing.
bg_pid()
{
	local p=${_BG_PIDS[$1]:-}
	[ -n "$p" ] && pid_alive "$p" && echo "$p"
	return 0
}

# bg_stop NAME [SIGNAL] [TIMEOUT]: send SIGNAL (default TERM; 0 sends
# nothing, to wait for an exit caused otherwise) to NAME, wait (bounded,
# default 10 s) for it to exit, and reap it; then its exit status is in
# BG_RC.  After the timeout it is SIGKILLed, with what it started, and
# bg_stop returns 1.
bg_stop()
{
	local name=$1 sig=${2:-TERM} timeout=${3:-10} p kids rc=0
	p=${_BG_PIDS[$name]:-}
	BG_RC=
	[ -n "$p" ] || return 0
	kids=$(descendants "$p")
	kill "-$sig" "$p" 2>/dev/null
	if ! wait_for '! pid_alive "$p"' "$timeout"; then
		# shellcheck disable=SC2086
		kill -KILL "$p" $kids 2>/dev/null
		rc=1
	fi
	{ wait "$p"; } 2>/dev/null
	BG_RC=$?
	unset '_BG_PIDS[$name]'
	return $rc
}

_bg_cleanup()
{
	local n p
	for n in "${!_BG_PIDS[@]}"; do
		p=${_BG_PIDS[$n]}
		# shellcheck disable=SC2046
		kill -KILL "$p" $(descendants "$p") 2>/dev/null
		{ wait "$p"; } 2>/dev/null
	done
	_BG_PIDS=()
}

# child_pid PID: the oldest child of PID, or nothing (never fails).
child_pid()
{
	{ pgrep -o -P "$1" 2>/dev/null || :; } | head -n 1
}

# free_port: a random TCP port from 20000-59999 that nothing on this host
# listens on or uses.
free_port()
{
	local p i
	need_cmd ss
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + (RANDOM * 32768 + RANDOM) % 40000))
		if [ -z "$(ss -Htan "( sport = :$p or dport = :$p )" 2>/dev/null)" ]; then
			echo "$p"
			return 0
		fi
	done
	fail "free_port: no free port after 200 tries"
}

# recv_writers PID: the trail writers of the receiver whose parent is PID:
# its children but the oldest (the network process, forked first and
# never again; by start time, as pids wrap) and those named
# auditdistd-sync (the committer), auditdistd-gaps (the auditor) and
# auditdistd-pub (the publisher), told apart by /proc/PID/comm (pgrep
# takes no name pattern longer than 15 characters).
recv_writers()
{
	local p net list=
	net=$(child_pid "$1")
	for p in $(pgrep -P "$1"); do
		[ "$p" != "$net" ] || continue
		case $(cat "/proc/$p/comm" 2>/dev/null) in
		auditdistd-sync|auditdistd-gaps|auditdistd-pub|'') ;;
		*) list="$list$p"$'\n' ;;
		esac
	done
	# One write: a reader that stops early (head -n 1) leaves no echo
	# to die of SIGPIPE under pipefail.
	printf '%s' "$list"
}

# port_listening PORT: true when something listens on TCP PORT.
port_listening()
{
	[ -n "$(ss -Hltn "( sport = :$1 )" 2>/dev/null)" ]
}

# rand_password: a fresh random password.
rand_password()
{
	openssl rand -base64 24
}

# tls_ca DIR NAME: a throwaway CA, DIR/NAME.pem and DIR/NAME.key.  It and
# tls_cert's certificates are valid for 90 days: -n warns of fewer than 30.
tls_ca()
{
	need_cmd openssl
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
	    -nodes -days 90 -subj "/CN=adtest CA $2" \
	    -addext basicConstraints=critical,CA:TRUE \
	    -addext keyUsage=critical,keyCertSign,cRLSign \
	    -keyout "$1/$2.key" -out "$1/$2.pem" >/dev/null 2>&1 ||
	    fail "tls_ca: openssl req failed"
	chmod 0600 "$1/$2.key"
}

# tls_cert DIR NAME [CA]: an EC P-256 key DIR/NAME.key and certificate
# DIR/NAME.pem for localhost and 127.0.0.1: self-signed, or signed by the
# CA made by tls_ca DIR CA.
tls_cert()
{
	local dir=$1 name=$2 ca=${3:-}
	local san="subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1"
	need_cmd openssl
	if [ -z "$ca" ]; then
		openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		    -nodes -days 90 -subj "/CN=localhost" -addext "$san" \
		    -keyout "$dir/$name.key" -out "$dir/$name.pem" >/dev/null 2>&1 ||
		    fail "tls_cert: openssl req failed"
	else
		openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
		    -nodes -subj "/CN=localhost" -keyout "$dir/$name.key" \
		    -out "$dir/$name.csr" >/dev/null 2>&1 &&
		printf '%s\n' "$san" "basicConstraints=CA:FALSE" \
		    "extendedKeyUsage=serverAuth,clientAuth" > "$dir/$name.ext" &&
		openssl x509 -req -in "$dir/$name.csr" -CA "$dir/$ca.pem" \
		    -CAkey "$dir/$ca.key" -CAcreateserial -days 90 \
		    -extfile "$dir/$name.ext" -out "$dir/$name.pem" >/dev/null 2>&1 ||
		    fail "tls_cert: could not sign $name with $ca"
	fi
	chmod 0600 "$dir/$name.key"
}

# tls_fingerprint CERT: "SHA256=AA:BB:..." as `openssl x509 -fingerprint
# -sha256` prints it.
tls_fingerprint()
{
	openssl x509 -in "$1" -noout -fingerprint -sha256 |
	    sed 's/^[^=]*Fingerprint=/SHA256=/'
}

# recv_setup: what a test receiver needs: a certificate in $pki (recv.pem,
# recv.key), its fingerprint $FP, a password $PW, a free port $PORT and an
# empty trail directory $trails.
recv_setup()
{
	pki=$T/pki
	mkdir -m 0755 "$pki"
	tls_cert "$pki" recv
	FP=$(tls_fingerprint "$pki/recv.pem")
	PW=$(rand_password)
	PORT=$(free_port)
	trails=$T/trails
	mkdir -m 0750 "$trails"
}

# test_recv_conf FILE ADDR TOP [LINE...]: write FILE (mode 0600), the
# config of the receiver recv_setup made: the top-level lines TOP (e.g.
# "timeout 5"), then a receiver block listening on ADDR (HOST:PORT) with
# $trails, $FWD_USER and $pki/recv.pem, then LINEs: more settings and host
# blocks (test_recv_host), each of their lines indented by a tab.
test_recv_conf()
{
	local file=$1 addr=$2 top=$3
	shift 3
	{
		printf '%s\nreceiver {\n\tlisten "tls://%s"\n' "$top" "$addr"
		printf '\tdirectory "%s"\n\tuser "%s"\n' "$trails" "$FWD_USER"
		printf '\tcertfile "%s"\n\tkeyfile "%s"\n' "$pki/recv.pem" "$pki/recv.key"
		[ $# -eq 0 ] || printf '%s\n' "$@" | sed 's/^/\t/'
		echo "}"
	} > "$file" || fail "test_recv_conf: cannot write $file"
	chmod 0600 "$file"
}

# test_recv_host NAME PASSWORD [LINE...]: a host block for test_recv_conf,
# for a sender at 127.0.0.1; LINEs are more settings of the host.
test_recv_host()
{
	local name=$1 pw=$2
	shift 2
	printf 'host %s {\n\tremote "tls://127.0.0.1"\n\tpassword "%s"\n' "$name" "$pw"
	[ $# -eq 0 ] || printf '\t%s\n' "$@"
	echo "}"
}

# tls_pubkey_pin CERT: "sha256//BASE64" of the certificate's public key.
tls_pubkey_pin()
{
	printf 'sha256//%s\n' "$(openssl x509 -in "$1" -noout -pubkey |
	    openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary |
	    openssl base64 -A)"
}

# trail_files DIR: the names ausearch -if DIR reads, oldest first
# (audit.log.N ... audit.log.1 audit.log), stopping at the first gap.
trail_files()
{
	local d=$1 n=1
	while [ -e "$d/audit.log.$n" ]; do
		n=$((n + 1))
	done
	while ((--n >= 1)); do
		echo "$d/audit.log.$n"
	done
	[ ! -e "$d/audit.log" ] || echo "$d/audit.log"
}

# trail_cat DIR: a host's whole trail, oldest first, as ausearch reads it.
trail_cat()
{
	local f
	for f in $(trail_files "$1"); do
		cat "$f"
	done
}

# trail_size DIR: bytes in a host's trail (0 when there is none).
trail_size()
{
	local f n=0
	for f in $(trail_files "$1"); do
		n=$((n + $(stat -c %s "$f")))
	done
	echo "$n"
}

# feed_input INPUT OUT: OUT is INPUT plus one more record.  Feed OUT with
# `feed -w SIZE:GOFILE` (SIZE the size of INPUT, less the -o offset) and the
# plugin gets all of INPUT but stays running, with no partial line, until
# GOFILE exists: feed pauses before the extra record, and sends the end of
# input only after it.
feed_input()
{
	{ cat "$1"; printf 'type=EOE msg=audit(4000000000.000:4294967295):\n'; } > "$2" ||
	    fail "feed_input: cannot write $2"
}

# --- shipping tests -----------------------------------------------------

# The forwarder's user in test configs: auditdist where make install made
# it, else nobody.
FWD_USER=nobody
id auditdist >/dev/null 2>&1 && FWD_USER=auditdist

# show_tails [-n LINES] FILE...: the end of each log, for a failure report.
show_tails()
{
	local n=25 f
	if [ "${1:-}" = -n ]; then
		n=$2
		shift 2
	fi
	for f in "$@"; do
		echo "--- $f (last $n lines)"
		tail -n "$n" "$f" 2>/dev/null | cut -c1-300 | sed 's/^/  | /'
	done
}

# test_sender_conf FILE NAME SPOOL ADDR FP PASSWORD TIMEOUT [LINES]: write a
# sender config (mode 0600) that ships SPOOL, created here, to one receiver
# "recv" at ADDR (HOST:PORT), pinned by the certificate fingerprint FP.
# LINES are more sender-block settings, one per line.
test_sender_conf()
{
	local file=$1 name=$2 spool=$3 addr=$4 fp=$5 pw=$6 timeout=$7 lines=${8:-}
	mkdir -m 0700 "$spool" || fail "mkdir $spool"
	{
		printf 'name "%s"\ntimeout %s\nsender {\n' "$name" "$timeout"
		printf '\tdirectory "%s"\n\tsegment_age 1\n\tspool_min_free 0\n' "$spool"
		printf '\tstatus_interval 1\n\tuser %s\n' "$FWD_USER"
		[ -z "$lines" ] || printf '%s\n' "$lines" | sed 's/^/\t/'
		printf '\thost recv {\n\t\tremote "tls://%s"\n' "$addr"
		printf '\t\tfingerprint "%s"\n\t\tpassword "%s"\n\t}\n}\n' "$fp" "$pw"
	} > "$file"
	chmod 0600 "$file"
}

# log_sanity LOG WHAT: fail when LOG holds an internal error (a VERIFY, a
# sanitizer report, a process killed by a signal other than SIGKILL).
log_sanity()
{
	local re='invariant failed|AddressSanitizer|runtime error|LeakSanitizer|killed by signal ([0-8]|[1-9][0-9])([^0-9]|$)'
	if grep -qE "$re" "$1"; then
		grep -E -B3 -A10 "$re" "$1" | head -30 | cut -c1-300 | sed 's/^/  | /'
		fail "$2 reported an internal error (in $1)"
	fi
}

# trail_compare TRAIL INPUT: true when the file TRAIL (a trail_cat) is
# INPUT byte for byte; otherwise say where they part (byte and line, both
# sides around it), how many records are duplicated, missing or torn, and
# return 1.
trail_compare()
{
	local tr=$1 in=$2 out at line from dups missing torn
	out=$(cmp "$tr" "$in" 2>&1) && return 0
	at=$(printf '%s\n' "$out" | sed -n 's/.* \(byte\|char\) \([0-9]*\),.*/\2/p')
	line=$(printf '%s\n' "$out" | sed -n 's/.* line \([0-9]*\).*/\1/p')
	echo "trail $(stat -c %s "$tr") bytes, $(wc -l < "$tr") lines; input $(stat -c %s "$in") bytes, $(wc -l < "$in") lines"
	echo "cmp: $out"
	echo "first difference at byte ${at:-?}, line ${line:-?}"
	if [ -n "$at" ]; then
		from=$((at > 300 ? at - 300 : 1))
		echo "trail from byte $from:"
		tail -c +"$from" "$tr" | head -c 600 | cut -c1-160 | sed 's/^/  | /'
		echo "input from byte $from:"
		tail -c +"$from" "$in" | head -c 600 | cut -c1-160 | sed 's/^/  | /'
	fi
	dups=$(sort "$tr" | uniq -d | wc -l)
	missing=$(sort "$in" | comm -23 - <(sort -u "$tr") | wc -l)
	torn=$(sort -u "$tr" | comm -23 - <(sort -u "$in") | wc -l)
	echo "records duplicated in the trail: $dups; missing from it: $missing; in it but not in the input (torn or foreign): $torn"
	return 1
}

# trail_links DIR: which names of a host's trail are one file, a line per
# file (inode order), for a failure report.
trail_links()
{
	find "$1" -maxdepth 2 -type f ! -name '*.idx' -printf '%i %P\n' | sort -n |
	    awk '$1 != last { if (l != "") print l; l = "  | " $2; last = $1; next }
		{ l = l " = " $2 } END { if (l != "") print l }' | sort
}

# trail_whole_lines DIR: fail unless every trail file of DIR ends with a
# newline (ausearch reads each file on its own: a record split across two
# files is two torn records even if their concatenation is whole).
trail_whole_lines()
{
	local f
	for f in $(trail_files "$1"); do
		[ ! -s "$f" ] || [ "$(tail -c 1 "$f" | od -An -tx1 | tr -d ' ')" = 0a ] ||
		    fail "$f ends inside a record (a torn line)"
	done
}
