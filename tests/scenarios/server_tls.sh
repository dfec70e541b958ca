#!/bin/sh
# server_tls: allot server over HTTPS (libmicrohttpd + GnuTLS) with a
# self-signed certificate; the client commands reach it with ALLOT_CA_CERT
# and refuse it without. Skipped when the openssl tool is not installed.
. "$(dirname "$0")/lib/common.sh"

command -v openssl >/dev/null 2>&1 || { say "skipped (no openssl tool)"; exit 0; }
openssl req -x509 -newkey rsa:2048 -nodes -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -days 2 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" >/dev/null 2>&1 ||
    fail "openssl could not make a certificate"
printf '[server]\ntls_cert = %s\ntls_key = %s\n' "$TMP/cert.pem" "$TMP/key.pem" >"$TMP/a.ini"
"$ALLOT" server --config "$TMP/a.ini" --listen 127.0.0.1:0 --data "$TMP/data" --sim-nodes 1 \
    >"$TMP/url" 2>"$TMP/log" &
SERVER=$!
trap 'kill -9 $SERVER 2>/dev/null; rm -rf "$TMP"' EXIT
i=0
while ! grep -q '^https://' "$TMP/url" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 200 ] || { cat "$TMP/log" >&2; fail "the server did not start"; }
    sleep 0.05
done
URL=$(cat "$TMP/url")
say "submit over https with the private CA"
run env ALLOT_CA_CERT="$TMP/cert.pem" "$ALLOT" submit --server "$URL" -- sleep 1
expect_rc 0
run env ALLOT_CA_CERT="$TMP/cert.pem" "$ALLOT" jobs --server "$URL" --all
expect_rc 0
expect_out "job-1"
say "without it, the certificate is refused (exit 3, one line)"
run env ALLOT_CA_CERT= "$ALLOT" jobs --server "$URL"
expect_rc 3
expect_err "cannot reach the server"
say "plain http to the https port gets nothing useful"
run "$ALLOT" jobs --server "http://${URL#https://}"
[ "$RC" -ne 0 ] || fail "plain http worked against the https port"
kill "$SERVER"
wait "$SERVER" 2>/dev/null
grep -E -q 'AddressSanitizer|runtime error:' "$TMP/log" && fail "sanitizer report in the server log"
say ok
