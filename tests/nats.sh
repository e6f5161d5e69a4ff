# shellcheck shell=bash
# A three-node NATS JetStream cluster on loopback, for the tests of
# publishing and reading (86-nats, 90-nats-read).  Source it after
# tests/lib.sh; nats_init picks the ports and sets NP[1..3] (client
# ports), CP[1..3] (cluster ports) and URLS (the client URLs, for a
# publish block).  Each node keeps its store in $T/natsN, so a node, or
# the whole cluster, stopped and started again has the streams it had.

nats_init()
{
	local i
	declare -g -a NP CP
	for i in 1 2 3; do
		NP[i]=$(free_port)
		CP[i]=$(free_port)
		mkdir -p "$T/nats$i"
	done
	# shellcheck disable=SC2034 # for the tests that source this file
	URLS="nats://127.0.0.1:${NP[1]},nats://127.0.0.1:${NP[2]},nats://127.0.0.1:${NP[3]}"
	NATS_ROUTES="nats://127.0.0.1:${CP[1]},nats://127.0.0.1:${CP[2]},nats://127.0.0.1:${CP[3]}"
}

nats_start()	# N
{
	bg_start "nats$1" "$T/nats$1.log" nats-server -a 127.0.0.1 -p "${NP[$1]}" \
	    -n "node$1" -js -sd "$T/nats$1" --cluster_name adtest \
	    --cluster "nats://127.0.0.1:${CP[$1]}" --routes "$NATS_ROUTES"
}

# All three, and wait until they listen.
nats_up()
{
	local i
	for i in 1 2 3; do
		nats_start "$i"
	done
	# shellcheck disable=SC2016 # wait_for takes code in single quotes
	wait_for 'port_listening ${NP[1]} && port_listening ${NP[2]} && port_listening ${NP[3]}' 15 ||
	    { show_tails "$T"/nats?.log; fail "the NATS cluster did not listen"; }
}

# All three stopped (SIGTERM: a node shuts down cleanly, its store kept).
nats_down()
{
	local i
	for i in 1 2 3; do
		bg_stop "nats$i" TERM 10 || :
	done
}

# nats_client_pid PROGRAM: the pid of PROGRAM's process that holds a
# connection to a node, if any.
nats_client_pid()
{
	ss -Htnp "( dport = :${NP[1]} or dport = :${NP[2]} or dport = :${NP[3]} )" 2>/dev/null |
	    sed -n "s/.*\"$1\",pid=\([0-9]*\),.*/\1/p" | head -n 1
}
