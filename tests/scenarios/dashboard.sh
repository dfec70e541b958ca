#!/bin/sh
# dashboard: the web dashboard of allot server, over HTTP and in a real
# browser (Debian's /usr/bin/chromium, headless, driven by npm's
# playwright-core from build/web; tests/browser/dashboard.mjs):
#   1. the page and its assets: content types, caching, no CDN;
#   2. reports: listed and served from --reports-dir, while "..", encoded
#      slashes, absolute paths, links and hidden files are refused;
#   3. `allot server --dev`: jobs submitted with the CLI appear in the fleet
#      and queue views and the views follow them as they finish; a job's page
#      shows its events and log tail; screenshots at 1366x768 and 2560x1440
#      go to build/screenshots/;
#   4. a server with tokens: the page asks for one, and tenant a sees only
#      its own jobs.
# Without node, chromium or playwright-core (installed by scripts/deps.sh and
# the Makefile) it fails, unless ALLOT_SKIP_BROWSER=1 (developers only).
. "$(dirname "$0")/lib/common.sh"

BUILD_DIR=$(dirname "$ALLOT_FAST")
PW_DIR=${PW_DIR:-$BUILD_DIR/web}
SHOTS=${SHOTS:-$BUILD_DIR/screenshots}
need_python
missing=""
command -v node >/dev/null 2>&1 || missing="$missing node"
[ -x /usr/bin/chromium ] || missing="$missing /usr/bin/chromium"
[ -d "$PW_DIR/node_modules/playwright-core" ] || missing="$missing $PW_DIR/node_modules/playwright-core"
command -v curl >/dev/null 2>&1 || missing="$missing curl"
if [ -n "$missing" ]; then
    if [ "${ALLOT_SKIP_BROWSER:-0}" = 1 ]; then
        say "SKIPPED (ALLOT_SKIP_BROWSER=1): missing$missing"
        exit 0
    fi
    fail "missing$missing (scripts/deps.sh installs node and chromium; make installs playwright-core into $PW_DIR; ALLOT_SKIP_BROWSER=1 skips this scenario)"
fi

PIDS=""
cleanup_all() {
    for p in $PIDS; do kill "$p" 2>/dev/null; done
    sleep 0.5
    for p in $PIDS; do kill -9 "$p" 2>/dev/null; done
    rm -rf "$TMP"
}
trap cleanup_all EXIT

start_server() { # LOG ARGS... -> URL, SERVER_PID
    log=$1; shift
    rm -f "$TMP/url"
    "$ALLOT" server --listen 127.0.0.1:0 "$@" >"$TMP/url" 2>"$log" &
    SERVER_PID=$!
    PIDS="$PIDS $SERVER_PID"
    i=0
    while ! grep -q '^http' "$TMP/url" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 300 ] || { tail -n 20 "$log" >&2; fail "the server did not start"; }
        sleep 0.05
    done
    URL=$(cat "$TMP/url")
}

code() { # [curl args] URL -> HTTP status on stdout, body in $TMP/body, headers in $TMP/hdr
    curl -s --path-as-is -o "$TMP/body" -D "$TMP/hdr" -w '%{http_code}' "$@"
}
header() { grep -i "^$1:" "$TMP/hdr" | head -n 1 | cut -d' ' -f2- | tr -d '\r'; }

submit() { # ARGS... -> job id on stdout
    "$ALLOT_FAST" submit --server "$URL" "$@" || fail "allot submit $* failed"
}

# ---- reports directory: one report, one file outside, a link to it, a hidden file
mkdir -p "$TMP/reports" "$TMP/outside"
run "$ALLOT_FAST" sim --out "$TMP/reports/run1" --quiet
expect_rc 0
echo '<html><title>secret</title>SECRET-OUTSIDE</html>' >"$TMP/outside/secret.html"
echo '<html>SECRET-HIDDEN</html>' >"$TMP/reports/.hidden.html"
ln -s "$TMP/outside/secret.html" "$TMP/reports/link.html"
ln -s "$TMP/outside" "$TMP/reports/linkdir"

say "1. the page and its assets"
start_server "$TMP/dev.log" --dev --sim-nodes 6 --sim-chip A100 --local-devices 2 \
    --local-chip H100 --reports-dir "$TMP/reports"
[ "$(code "$URL/")" = 200 ] || fail "GET / is not 200"
case $(header Content-Type) in text/html*) ;; *) fail "GET /: content type $(header Content-Type)" ;; esac
[ "$(header Cache-Control)" = no-cache ] || fail "GET /: Cache-Control $(header Cache-Control)"
header Content-Security-Policy | grep -q "default-src 'self'" || fail "GET /: no Content-Security-Policy"
grep -q 'src="/ui/app.js?v=' "$TMP/body" || fail "the page does not load /ui/app.js by version"
if grep -E -q 'src="https?:|href="https?:' "$TMP/body"; then fail "the page loads something from another host"; fi
ver=$(sed -n 's|.*src="/ui/app.js?v=\([0-9]*\)".*|\1|p' "$TMP/body" | head -n 1)
[ "$(code "$URL/ui/app.js?v=$ver")" = 200 ] || fail "GET /ui/app.js is not 200"
case $(header Content-Type) in text/javascript*) ;; *) fail "app.js: content type $(header Content-Type)" ;; esac
header Cache-Control | grep -q immutable || fail "app.js by version is not cached as immutable"
etag=$(header ETag)
[ "$(code -H "If-None-Match: $etag" "$URL/ui/app.js")" = 304 ] || fail "If-None-Match does not give 304"
[ "$(code "$URL/ui/app.css")" = 200 ] || fail "GET /ui/app.css"
case $(header Content-Type) in text/css*) ;; *) fail "app.css: content type $(header Content-Type)" ;; esac
[ "$(code "$URL/ui/nothing.js")" = 404 ] || fail "an unknown asset is not 404"
[ "$(code -X POST "$URL/")" = 405 ] || fail "POST / is not 405"
[ "$(code "$URL/v1/whoami")" = 200 ] && grep -q '"role":"admin"' "$TMP/body" || fail "whoami in --dev is not admin"

say "2. reports and path traversal"
[ "$(code "$URL/v1/reports")" = 200 ] || fail "GET /v1/reports"
grep -q '"name":"run1/report.html"' "$TMP/body" || fail "run1/report.html is not listed: $(cat "$TMP/body")"
grep -q '"title":"allot sim report"' "$TMP/body" || fail "the report's title is not listed"
if grep -E -q 'secret|hidden|link' "$TMP/body"; then fail "the list shows a link or hidden file: $(cat "$TMP/body")"; fi
[ "$(code "$URL/reports/run1/report.html")" = 200 ] || fail "GET /reports/run1/report.html"
header Content-Security-Policy | grep -q sandbox || fail "a report is not served sandboxed"
for bad in "/reports/../outside/secret.html" "/reports/..%2foutside%2fsecret.html" \
    "/reports/run1/../../outside/secret.html" "/reports/%2e%2e/outside/secret.html" \
    "/reports/link.html" "/reports/linkdir/secret.html" "/reports/.hidden.html" \
    "/reports/%2Ftmp%2Fsecret.html" "/reports//etc/passwd" "/reports/run1/summary.json" \
    "/reports/run1%00.html" "/reports/a/b/c.html" "/reports/"; do
    c=$(code "$URL$bad")
    [ "$c" = 404 ] || fail "GET $bad answered $c, not 404"
    if grep -q -E 'SECRET|root:' "$TMP/body"; then fail "GET $bad leaked a file"; fi
done
say "   13 traversal attempts refused"

say "3. the dashboard in a browser, following jobs (--dev)"
gang=$(submit --chip A100 --devices 8 --gang-size 4 --name gang-all --env ALLOT_SIM_DURATION=900 -- sleep 900)
short=""
for k in 1 2 3; do
    short="$short${short:+,}$(submit --chip A100 --devices 4 --name "short-$k" --env ALLOT_SIM_DURATION=8 -- sleep 8)"
done
pending=$(submit --chip A100 --devices 8 --gang-size 3 --name waits -- sleep 900)
local_job=$(submit --chip H100 --devices 1 --name real-process -- sh -c \
    'echo hello-from-the-dashboard-test; sleep 3; echo last-line')
[ "$(code "$URL/v1/jobs/$pending")" = 200 ] && grep -q '"state":"pending"' "$TMP/body" ||
    fail "job $pending should be pending"
grep -q '"events":\[{"time":[0-9.]*,"type":"submitted"' "$TMP/body" || fail "GET /v1/jobs/ID has no events"
JOBS="{\"gang\":$gang,\"short\":[$short],\"pending\":$pending,\"local\":$local_job,\"shortDevices\":44}"
mkdir -p "$SHOTS"
if ! JOBS=$JOBS PW_DIR=$PW_DIR SHOTS=$SHOTS node "$ROOT/tests/browser/dashboard.mjs" dev "$URL" \
    >"$TMP/browser.out" 2>&1; then
    cat "$TMP/browser.out"
    tail -n 20 "$TMP/dev.log"
    fail "the browser checks failed (dev)"
fi
cat "$TMP/browser.out"
for f in overview-1366x768 fleet-1366x768 queue-1366x768 job-1366x768 overview-2560x1440 \
    fleet-2560x1440 queue-2560x1440 job-2560x1440; do
    [ -s "$SHOTS/$f.png" ] || fail "no screenshot $SHOTS/$f.png"
done
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
if grep -E -q 'AddressSanitizer|LeakSanitizer|runtime error:' "$TMP/dev.log"; then
    grep -E -A 20 'AddressSanitizer|LeakSanitizer|runtime error:' "$TMP/dev.log" | head -n 40
    fail "sanitizer report from the server"
fi

say "4. tokens: tenant a sees only its jobs"
ADMIN=admin-token-dashboard-0123456789
TA=tenant-a-token-dashboard-0123456789
TB=tenant-b-token-dashboard-0123456789
cat >"$TMP/allot.ini" <<EOF
[server]
admin_token = $ADMIN
reports_dir = $TMP/reports
[tenant.a]
token = $TA
[tenant.b]
token = $TB
EOF
start_server "$TMP/tok.log" --config "$TMP/allot.ini" --data "$TMP/data" --sim-nodes 2
[ "$(code "$URL/")" = 200 ] || fail "the page needs no token"
[ "$(code "$URL/v1/queue")" = 401 ] || fail "/v1/queue without a token is not 401"
[ "$(code "$URL/reports/run1/report.html")" = 401 ] || fail "a report without a token is not 401"
[ "$(code -H "Authorization: Bearer $TA" "$URL/reports/run1/report.html")" = 403 ] ||
    fail "a report with a tenant token is not 403"
[ "$(code -H "Authorization: Bearer $ADMIN" "$URL/reports/run1/report.html")" = 200 ] ||
    fail "a report with the admin token is not 200"
a1=$(ALLOT_TOKEN=$TA submit --name a-one --env ALLOT_SIM_DURATION=900 -- sleep 900)
a2=$(ALLOT_TOKEN=$TA submit --name a-two --env ALLOT_SIM_DURATION=900 -- sleep 900)
b1=$(ALLOT_TOKEN=$TB submit --name secret-b --env ALLOT_SIM_DURATION=900 -- sleep 900)
b2=$(ALLOT_TOKEN=$TB submit --name secret-b2 --env ALLOT_SIM_DURATION=900 -- sleep 900)
[ "$(code -H "Authorization: Bearer $TA" "$URL/v1/queue?state=all")" = 200 ] || fail "/v1/queue as a"
grep -q secret-b "$TMP/body" && fail "/v1/queue shows tenant b's job to tenant a"
grep -q '"a-one"' "$TMP/body" || fail "/v1/queue does not show a's job to a"
[ "$(code -H "Authorization: Bearer $ADMIN" "$URL/v1/jobs/$b1")" = 200 ] || fail "job $b1"
bnode=$("$PYTHON" -c 'import json,sys; print(json.load(open(sys.argv[1]))["tasks"][0]["node"])' "$TMP/body")
[ "$(code -H "Authorization: Bearer $TA" "$URL/v1/fleet/$bnode")" = 200 ] || fail "/v1/fleet/$bnode as a"
grep -q secret-b "$TMP/body" && fail "/v1/fleet/NODE shows tenant b's job to tenant a"
JOBS="{\"a\":[$a1,$a2],\"b\":[$b1,$b2],\"bnode\":\"$bnode\"}"
if ! JOBS=$JOBS PW_DIR=$PW_DIR SHOTS=$SHOTS TOKEN_A=$TA TOKEN_BAD=not-a-token-0123456789abc \
    node "$ROOT/tests/browser/dashboard.mjs" tenant "$URL" >"$TMP/browser2.out" 2>&1; then
    cat "$TMP/browser2.out"
    tail -n 20 "$TMP/tok.log"
    fail "the browser checks failed (tenant)"
fi
cat "$TMP/browser2.out"
kill "$SERVER_PID"
wait "$SERVER_PID" 2>/dev/null
if grep -E -q 'AddressSanitizer|LeakSanitizer|runtime error:' "$TMP/tok.log"; then
    grep -E -A 20 'AddressSanitizer|LeakSanitizer|runtime error:' "$TMP/tok.log" | head -n 40
    fail "sanitizer report from the server"
fi
say "ok (screenshots in $SHOTS)"
