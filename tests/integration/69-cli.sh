#!/bin/bash
# shellcheck disable=SC2015 # "a && b || fail" is meant
# Hole 1: -h/--help printed "invalid option" and a bare usage line, and
# there was no -V.  Each of audisp-dist, audisp-dist-forwarder and
# auditdistd must print its usage and one line per option on stdout for
# -h and --help, "PROG VERSION" for -V and --version (exit 0), the usage
# on stderr with exit 64 for a bad option, and the usage line must be the
# SYNOPSIS of its man page.
# Hole 2: a fingerprint pasted as openssl prints it ("sha256
# Fingerprint=AB:...") was refused; auditdistd -n and audisp-dist -n must
# take it, quoted or not, as the administrator pastes it.
# Hole 3: audisp-dist linked libcrypto only for -n's certificate dates,
# 1.3 MiB more resident for its whole life.  It must not link it; its -n
# has the forwarder check the dates, and says so, still exiting 0, when
# the forwarder cannot be run.
set -eu -o pipefail
# shellcheck source=tests/lib.sh
. tests/lib.sh

need_cmd mandoc col openssl
for p in audisp-dist audisp-dist-forwarder auditdistd; do
	[ -x "$B/$p" ] || skip "no $B/$p (not built yet)"
done
deadline 60

# run PROG ARGS...: sets rc, out, err
run()
{
	set +e
	"$@" >"$T/out" 2>"$T/err" </dev/null
	rc=$?
	set -e
	out=$(cat "$T/out")
	err=$(cat "$T/err")
}

# synopsis PAGE PROG: PROG's SYNOPSIS line in PAGE, as mandoc renders it.
synopsis()
{
	mandoc -Tascii "man/$1" | col -b |
	    awk '/^SYNOPSIS/ { s = 1; next } /^[A-Z]/ { s = 0 } s' |
	    sed 's/^ *//' | grep -E "^$2 " | head -1
}

info "hole 1: -h, --help, -V, --version and a bad option of each program"
for p in audisp-dist audisp-dist-forwarder auditdistd; do
	case $p in
	auditdistd) page=auditdistd.8 opts="-c -d -f -h -l -n -R -V" ;;
	audisp-dist) page=audisp-dist.8 opts="-D -d -f -h -n -s -V" ;;
	*) page=audisp-dist.8 opts="-c -d -f -h -n -V" ;;
	esac
	for h in -h --help; do
		run "$B/$p" $h
		[ "$rc" -eq 0 ] || fail "$p $h exits $rc, not 0: $err"
		[ -z "$err" ] || fail "$p $h writes to stderr: $err"
		usage=$(head -1 "$T/out")
		case $usage in
		"usage: $p "*) ;;
		*) fail "$p $h: first line is not its usage: $usage" ;;
		esac
		for o in $opts; do
			grep -qE "^  ${o}[ ,]" "$T/out" ||
			    fail "$p $h: no line for $o in: $out"
		done
		[ "$(grep -c '^  -' "$T/out")" -eq "$(wc -w <<<"$opts")" ] ||
		    fail "$p $h: not one line per option: $out"
	done
	syn=$(synopsis "$page" "$p")
	[ "usage: $syn" = "$usage" ] ||
	    fail "$p: SYNOPSIS \"$syn\" of $page is not its usage \"$usage\""
	for v in -V --version; do
		run "$B/$p" $v
		[ "$rc" -eq 0 ] || fail "$p $v exits $rc, not 0: $err"
		[ -z "$err" ] || fail "$p $v writes to stderr: $err"
		[[ $out =~ ^$p\ [0-9][^[:space:]]*$ ]] ||
		    fail "$p $v prints \"$out\", not \"$p VERSION\""
	done
	for bad in -x --bogus; do
		run "$B/$p" $bad
		[ "$rc" -eq 64 ] || fail "$p $bad exits $rc, not 64"
		[ -z "$out" ] || fail "$p $bad writes to stdout: $out"
		grep -qxF "$usage" "$T/err" ||
		    fail "$p $bad: no usage on stderr: $err"
	done
done

info "hole 2: a fingerprint pasted from openssl x509 -fingerprint -sha256"
tls_cert "$T" recv
tls_cert "$T" send
line=$(openssl x509 -in "$T/send.pem" -noout -fingerprint -sha256)
case $line in
*[Ff]ingerprint=*) ;;
*) skip "openssl prints the fingerprint as \"$line\"" ;;
esac
lower=$(printf '%s' "$line" | tr 'A-F' 'a-f')
mkdir -m 0700 "$T/spool" "$T/trails"
n=0
for fp in "\"$line\"" "$line" "\"$lower\""; do
	n=$((n + 1))
	cat > "$T/r$n.conf" <<EOC
receiver {
	listen "tls://127.0.0.1:7878"
	directory "$T/trails"
	user "$FWD_USER"
	certfile "$T/recv.pem"
	keyfile "$T/recv.key"
	host h {
		fingerprint $fp
	}
}
EOC
	run "$B/auditdistd" -n "$T/r$n.conf"
	[ "$rc" -eq 0 ] && [ "$out" = "configuration OK" ] ||
	    fail "auditdistd -n refuses fingerprint $fp (exit $rc): $err"
	cat > "$T/s$n.conf" <<EOC
sender {
	directory "$T/spool"
	host h {
		remote "tls://127.0.0.1:7878"
		fingerprint $fp
		password "pw"
	}
}
EOC
	chmod 0600 "$T/s$n.conf"
	run "$B/audisp-dist" -n "$T/s$n.conf"
	[ "$rc" -eq 0 ] && [ "$out" = "configuration OK" ] ||
	    fail "audisp-dist -n refuses fingerprint $fp (exit $rc): $err"
done
# What is still refused says which forms are accepted.
sed -i 's/fingerprint .*/fingerprint "sha1 Fingerprint=AB:CD"/' "$T/s1.conf"
run "$B/audisp-dist" -n "$T/s1.conf"
[ "$rc" -eq 78 ] || fail "audisp-dist -n takes a SHA-1 fingerprint (exit $rc)"
case $err in
*'"SHA256="'*'"sha256 Fingerprint="'*) ;;
*) fail "the refusal does not name the accepted forms: $err" ;;
esac

info "hole 3: audisp-dist links no libcrypto; -n without the forwarder"
need_cmd readelf
if readelf -d "$B/audisp-dist" | grep 'NEEDED' | grep -q 'libcrypto'; then
	fail "audisp-dist links libcrypto: $(readelf -d "$B/audisp-dist" | grep NEEDED | tr -s ' ' | tr '\n' ' ')"
fi
sed "s|fingerprint .*|cafile \"$T/recv.pem\"|" "$T/s2.conf" > "$T/ca.conf"
chmod 0600 "$T/ca.conf"
run "$B/audisp-dist" -n "$T/ca.conf"
[ "$rc" -eq 0 ] && [ "$out" = "configuration OK" ] && [ -z "$err" ] ||
    fail "audisp-dist -n on a valid cafile (exit $rc): $err"
mkdir "$T/alone"
cp "$B/audisp-dist" "$T/alone/"
run "$T/alone/audisp-dist" -n "$T/ca.conf"
[ "$rc" -eq 0 ] && [ "$out" = "configuration OK" ] ||
    fail "audisp-dist -n without its forwarder exits $rc: $out $err"
grep -qF "audisp-dist: warning: certificate dates not checked: $T/alone/audisp-dist-forwarder -n: No such file or directory" "$T/err" ||
    fail "audisp-dist -n without its forwarder does not say the dates went unchecked: $err"
info "hole 3: $err"
echo "PASS: $TEST_NAME"
