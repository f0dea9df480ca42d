#!/usr/bin/env bash
# Proves deploy/nginx.conf works: runs Debian's nginx, configured from that
# file, in front of the release server (SQLite in a temporary directory),
# and checks through it: /healthz and /readyz, static files (cache and CORS
# headers, gzip, wasm MIME type), a conversation start, a visitor WebSocket
# (auth, message, echo), and the per-address start limit keyed by the
# forwarded client address. Prints PASS/FAIL per check; exits 1 if any
# failed, 2 if it could not run.
#
#   cargo leptos build --release --split     # first (with scripts/build-widget.sh before it)
#   scripts/check-nginx.sh           # KEEP_TMP=1 keeps the logs and configs
#
# Installs nginx with apt-get when /usr/sbin/nginx is missing (needs root);
# nginx is not started as a service. Everything listens on, and all traffic
# goes to, 127.0.0.1; both processes are stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
BIN=${CARGO_TARGET_DIR:-$ROOT/target}/release/defmis-chat
SITE=$ROOT/target/site
CONF=$ROOT/deploy/nginx.conf
NGINX=/usr/sbin/nginx

die() { echo "check-nginx: $*" >&2; exit 2; }

[[ -x $BIN ]] || die "$BIN is missing; build it with: cargo leptos build --release --split"
[[ -d $SITE/pkg && -d $SITE/static ]] || die "$SITE is incomplete; build it with: cargo leptos build --release --split"
[[ -f $CONF ]] || die "$CONF is missing"
command -v python3 >/dev/null || die "python3 is needed"

if [[ ! -x $NGINX ]]; then
  [[ $EUID -eq 0 ]] || die "nginx is missing; install it (apt-get install nginx) or run this as root"
  echo "==> installing nginx (apt-get)"
  export DEBIAN_FRONTEND=noninteractive
  # Debian's package starts nginx on port 80 unless policy-rc.d says no.
  policy_added=false
  if [[ ! -e /usr/sbin/policy-rc.d ]]; then
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d
    chmod 755 /usr/sbin/policy-rc.d
    policy_added=true
  fi
  timeout 300 apt-get update -qq || echo "check-nginx: apt-get update failed; trying the install anyway" >&2
  installed=true
  timeout 600 apt-get install -y -qq nginx >/dev/null || installed=false
  if $policy_added; then rm -f /usr/sbin/policy-rc.d; trap - EXIT; fi
  $installed && [[ -x $NGINX ]] || die "apt-get install nginx failed"
fi

TMP=$(mktemp -d /tmp/defmis-check-nginx.XXXXXX)
SERVER_PID=
NGINX_PID=
failed=1

stop() { # pid: SIGTERM, then SIGKILL after 15 s
  local pid=$1 i
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 150; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

cleanup() {
  stop "$NGINX_PID"
  stop "$SERVER_PID"
  if [[ $failed -ne 0 || -n ${KEEP_TMP:-} ]]; then
    echo "logs and configs kept in $TMP (server.log, nginx.log, nginx/)"
  else
    rm -rf "$TMP"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
SERVER_PORT=$(free_port)
NGINX_PORT=$(free_port)
while [[ $NGINX_PORT == "$SERVER_PORT" ]]; do NGINX_PORT=$(free_port); done

# --- the server: temporary SQLite, nothing from the caller's environment or
# ./.env (it runs in $TMP), limits as in production but starts set explicitly.
SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_hex(20))')   # 40 characters
(
  cd "$TMP"
  exec env -i PATH="$PATH" HOME="$TMP" RUST_LOG="${RUST_LOG:-info}" \
    BIND_ADDR="127.0.0.1:$SERVER_PORT" \
    DATABASE_URL="sqlite://$TMP/db.sqlite?mode=rwc" \
    SECRET_KEY="$SECRET_KEY" \
    TRUSTED_PROXIES=127.0.0.1/32 \
    LIMIT_STARTS_PER_MINUTE=10 \
    LEPTOS_SITE_ROOT="$SITE" \
    "$BIN"
) >"$TMP/server.log" 2>&1 &
SERVER_PID=$!

# --- nginx: deploy/nginx.conf with the test's ports and site root, inside a
# minimal main config whose paths are all under $TMP.
mkdir -p "$TMP/nginx/temp"
sed -e "s|server 127\.0\.0\.1:8000;|server 127.0.0.1:$SERVER_PORT;|" \
    -e "s|^\([[:space:]]*\)listen 80;|\1listen 127.0.0.1:$NGINX_PORT;|" \
    -e "/^[[:space:]]*listen \[::\]:80;/d" \
    -e "s|/opt/defmis-chat/site|$SITE|g" \
    "$CONF" >"$TMP/nginx/defmis-chat.conf"
for want in "server 127.0.0.1:$SERVER_PORT;" "listen 127.0.0.1:$NGINX_PORT;" "root $SITE;"; do
  grep -qF "$want" "$TMP/nginx/defmis-chat.conf" \
    || die "deploy/nginx.conf changed shape: could not set \"$want\" (see the sed lines in $0)"
done
{
  # As root, nginx's workers would switch to nobody, who cannot use $TMP.
  if [[ $EUID -eq 0 ]]; then echo "user root;"; fi
  cat <<EOF
worker_processes 1;
events { worker_connections 512; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log $TMP/nginx/access.log;
    client_body_temp_path $TMP/nginx/temp/body;
    proxy_temp_path $TMP/nginx/temp/proxy;
    fastcgi_temp_path $TMP/nginx/temp/fastcgi;
    uwsgi_temp_path $TMP/nginx/temp/uwsgi;
    scgi_temp_path $TMP/nginx/temp/scgi;
    include $TMP/nginx/defmis-chat.conf;
}
EOF
} >"$TMP/nginx/nginx.conf"

NGINX_ARGS=(-p "$TMP/nginx/" -c "$TMP/nginx/nginx.conf")
NGINX_GLOBALS="pid $TMP/nginx/nginx.pid; error_log stderr;"
if timeout 30 "$NGINX" -t -q "${NGINX_ARGS[@]}" -g "$NGINX_GLOBALS" 2>"$TMP/nginx-t.log"; then
  echo "PASS nginx -t on deploy/nginx.conf"
else
  echo "FAIL nginx -t on deploy/nginx.conf:"
  cat "$TMP/nginx-t.log"
  exit 1
fi
"$NGINX" "${NGINX_ARGS[@]}" -g "daemon off; $NGINX_GLOBALS" >"$TMP/nginx.log" 2>&1 &
NGINX_PID=$!

# --- the checks
set +e
timeout 180 python3 - "$SERVER_PORT" "$NGINX_PORT" "$SERVER_PID" "$NGINX_PID" <<'PY'
import base64, gzip, hashlib, http.client, json, os, socket, struct, sys, time

SERVER_PORT, NGINX_PORT, SERVER_PID, NGINX_PID = map(int, sys.argv[1:5])
HOST = "127.0.0.1"
failures = 0


def report(ok, name, detail=""):
    """PASS/FAIL line; the detail only for a failure."""
    global failures
    if not ok:
        failures += 1
    print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""), flush=True)


def alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except OSError:
        return False


def request(port, method, path, body=None, headers=None, timeout=10):
    """(status, headers as a lower-cased dict, body bytes); status None when
    the request failed (the body then says why)."""
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    except (OSError, http.client.HTTPException) as e:
        return None, {}, f"{type(e).__name__}: {e}".encode()
    finally:
        conn.close()


def wait_until_up(port, pid, what, timeout=60):
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if not alive(pid):
            return f"{what} exited"
        status, _, body = request(port, "GET", "/healthz", timeout=2)
        if status == 200:
            return None
        last = f"status {status} {body[:200]!r}"
        time.sleep(0.2)
    return f"{what} not answering /healthz within {timeout} s ({last})"


def start(port, headers=None):
    h = {"Content-Type": "application/json"}
    h.update(headers or {})
    return request(port, "POST", "/chat/api/chat/start/", body=b"{}", headers=h)


# ---- a minimal WebSocket client (RFC 6455), standard library only
class WebSocket:
    GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

    def __init__(self, port, path, timeout):
        self.deadline = time.monotonic() + timeout
        self.sock = socket.create_connection((HOST, port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
             f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
             f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            raise RuntimeError(f"handshake answered {lines[0]!r}")
        fields = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip()
                  for l in lines[1:] if ":" in l}
        accept = base64.b64encode(hashlib.sha1((key + self.GUID).encode()).digest()).decode()
        if fields.get("sec-websocket-accept") != accept:
            raise RuntimeError("wrong Sec-WebSocket-Accept")

    def _fill(self):
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("socket deadline passed")
        self.sock.settimeout(left)
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed")
        self.buf += chunk

    def _take(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def send(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        self.sock.sendall(head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def send_json(self, value):
        self.send(0x1, json.dumps(value).encode())

    def recv_text(self):
        """The next text message; answers pings; raises on close."""
        message, kind = b"", None
        while True:
            b0, b1 = self._take(2)
            fin, opcode, n = b0 & 0x80, b0 & 0x0F, b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._take(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._take(8))[0]
            mask = self._take(4) if b1 & 0x80 else None
            data = self._take(n)
            if mask:
                data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
            if opcode == 0x9:
                self.send(0xA, data)
                continue
            if opcode == 0xA:
                continue
            if opcode == 0x8:
                code = struct.unpack("!H", data[:2])[0] if len(data) >= 2 else None
                raise ConnectionError(f"closed by the server: {code} {data[2:].decode(errors='replace')}")
            if opcode in (0x1, 0x2):
                kind = opcode
            message += data
            if fin:
                if kind != 0x1:
                    raise RuntimeError("binary frame")
                return message.decode()

    def close(self):
        try:
            self.send(0x8, struct.pack("!H", 1000))
        except OSError:
            pass
        self.sock.close()


err = wait_until_up(SERVER_PORT, SERVER_PID, "the server")
if err:
    report(False, "server starts", err)
    sys.exit(1)
err = wait_until_up(NGINX_PORT, NGINX_PID, "nginx", timeout=15)
if err:
    report(False, "nginx starts", err)
    sys.exit(1)

N = NGINX_PORT

# (a) liveness and readiness through nginx
status, _, body = request(N, "GET", "/healthz")
report(status == 200, "GET /healthz through nginx is 200", f"got {status} {body[:200]!r}")
status, _, body = request(N, "GET", "/readyz")
report(status == 200, "GET /readyz through nginx is 200 (SQLite, no Redis)", f"got {status} {body[:200]!r}")

# (b) static files, served by nginx from the site root
status, h, body = request(N, "GET", "/static/js/chat-widget.js", headers={"Accept-Encoding": "gzip"})
if status == 200 and h.get("content-encoding") == "gzip":
    body = gzip.decompress(body)
report(status == 200 and b"DEFMIS Chat widget loader" in body,
       "GET /static/js/chat-widget.js is 200 (the loader)", f"got {status} {body[:200]!r}")
report("max-age=3600" in h.get("cache-control", "") and h.get("access-control-allow-origin") == "*",
       "chat-widget.js: Cache-Control max-age=3600 and Access-Control-Allow-Origin * (served by nginx)",
       f"cache-control={h.get('cache-control')!r} acao={h.get('access-control-allow-origin')!r}")
report(h.get("content-encoding") == "gzip", "chat-widget.js is gzipped", f"content-encoding={h.get('content-encoding')!r}")
status, h, _ = request(N, "GET", "/static/widget/defmis_widget_bg.wasm", headers={"Accept-Encoding": "gzip"})
report(status == 200 and h.get("content-type") == "application/wasm" and h.get("content-encoding") == "gzip",
       "GET /static/widget/defmis_widget_bg.wasm is 200, application/wasm, gzipped",
       f"got {status} type={h.get('content-type')!r} encoding={h.get('content-encoding')!r}"
       " (built by scripts/build-widget.sh before cargo leptos build)")
status, h, _ = request(N, "GET", "/pkg/defmis-chat.wasm", headers={"Accept-Encoding": "gzip"})
report(status == 200 and h.get("content-type") == "application/wasm" and h.get("content-encoding") == "gzip"
       and h.get("cache-control") == "no-cache",
       "GET /pkg/defmis-chat.wasm is 200, application/wasm, gzipped, no-cache (split chunks stay in step)",
       f"got {status} type={h.get('content-type')!r} encoding={h.get('content-encoding')!r}"
       f" cache-control={h.get('cache-control')!r}")

# (c) a conversation start through nginx (the first of this address's 10)
t_first_start = time.monotonic()
customer_id = token = None
status, _, body = start(N)
try:
    data = json.loads(body)
    customer_id, token = data.get("customer_id"), data.get("token")
except ValueError:
    data = None
report(status in (200, 201) and bool(customer_id) and bool(token),
       "POST /chat/api/chat/start/ through nginx gives customer_id and token", f"got {status} {body[:200]!r}")

# (d) the visitor socket through nginx: auth, message, echo
if customer_id and token:
    try:
        ws = WebSocket(N, f"/ws/chat/{customer_id}/", timeout=15)
        ws.send_json({"type": "auth", "token": token})
        ws.send_json({"type": "message", "content": "hello through nginx", "client_id": "c-1"})
        while True:
            frame = json.loads(ws.recv_text())
            if frame.get("type") == "error":
                raise RuntimeError(f"error frame {frame}")
            if frame.get("type") == "message" and frame.get("message", {}).get("content") == "hello through nginx":
                break
        ws.close()
        report(True, "WebSocket /ws/chat/{id}/ through nginx: auth, message, echo")
    except Exception as e:  # noqa: BLE001 - any failure is the check's failure
        report(False, "WebSocket /ws/chat/{id}/ through nginx: auth, message, echo", f"{type(e).__name__}: {e}")
else:
    report(False, "WebSocket /ws/chat/{id}/ through nginx: auth, message, echo", "no conversation to open")

# (e) the start limit (10 per minute per client address) through nginx.
# GCRA: a used start comes back after 6 s, so a slow run may see one more.
ok = 1 if customer_id else 0
status = None
for _ in range(15):
    status, h, body = start(N)
    if status != 200:
        break
    ok += 1
elapsed = time.monotonic() - t_first_start
t_limited = time.monotonic()
most = 10 + int(elapsed // 6)
report(status == 429 and 10 <= ok <= most and h.get("retry-after", "").isdigit(),
       "start limit through nginx: 10 starts succeed, the 11th is 429 with Retry-After",
       f"{ok} succeeded, then {status} retry-after={h.get('retry-after')!r} {body[:200]!r}")


def still_limited_window():
    return time.monotonic() - t_limited < 5


# A client cannot escape it by sending its own X-Forwarded-For: nginx
# overwrites the header (appended, the server would take the forged address).
status, _, body = start(N, {"X-Forwarded-For": "198.51.100.9"})
if still_limited_window():
    report(status == 429, "a forged X-Forwarded-For through nginx is still limited (nginx overwrites it)",
           f"got {status} {body[:200]!r}")
else:
    print("SKIP forged X-Forwarded-For check: the run was too slow to tell (a start came back)")

# The limit is the forwarded address's, not the proxy's: straight to the
# server from 127.0.0.1 (a trusted proxy), for another address: allowed.
status, _, body = start(SERVER_PORT, {"X-Forwarded-For": "203.0.113.7"})
report(status in (200, 201), "direct start from a trusted proxy for X-Forwarded-For 203.0.113.7 succeeds",
       f"got {status} {body[:200]!r}")
# ... while 127.0.0.1's own starts are used up (the address nginx forwarded).
status, _, body = start(SERVER_PORT)
if still_limited_window():
    report(status == 429, "direct start from 127.0.0.1 without X-Forwarded-For is 429 (the same address's limit)",
           f"got {status} {body[:200]!r}")
else:
    print("SKIP direct start from 127.0.0.1: the run was too slow to tell (a start came back)")

report(alive(SERVER_PID) and alive(NGINX_PID), "server and nginx still running")
sys.exit(1 if failures else 0)
PY
rc=$?
set -e

if [[ $rc -eq 0 ]]; then
  failed=0
  echo "check-nginx: all checks passed"
else
  [[ $rc -eq 124 ]] && echo "FAIL the checks did not finish within 180 s"
  echo "--- server.log (last 30 lines)"; tail -n 30 "$TMP/server.log" || true
  echo "--- nginx.log (last 30 lines)"; tail -n 30 "$TMP/nginx.log" || true
  exit 1
fi
