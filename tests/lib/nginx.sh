#!/usr/bin/env bash
# nginx.sh - run a real nginx with a throw-away test CA on 127.0.0.1 (tests only).
#
#   nginx.sh start DIR PORT [EXTRA_CONF]   start (PORT 0: pick a free port)
#   nginx.sh stop DIR                      stop it (by PID), bounded wait
#
# Also sourceable: `source nginx.sh; sw_nginx_start DIR 0; ...; sw_nginx_stop DIR`.
#
# start writes, under DIR (everything stays under DIR, nothing in /var):
#   ca.pem              the test CA (generated once per DIR; give it as ca_file / --ca-file)
#   port                the HTTPS port;  http_port  a plain-HTTP port serving the same tree
#   nginx.pid           the PID of the nginx master (started with `daemon off;`)
#   access.log          "$server_port $status $body_bytes_sent "$http_range" "$request" $connection
#                       $connection_requests $request_time" ($connection: the connection's serial
#                       number, $connection_requests: the request's number on it, to see a
#                       connection reused; $request_time stays last, tools/bench reads it there)
#   error.log, nginx.conf, www/ (the document root: put files there), extra/ (*.conf
#   snippets included in the server block: add locations there before start)
#
# Locations (besides plain files under www/):
#   /slow/X             www/X at limit_rate 20k
#   /nolength/X         www/X without Content-Length (SSI on: chunked)
#   /norange/X          www/X with Range ignored (200 to a range request)
#   /redirect-https/X   302 to https://127.0.0.1:PORT/X
#   /redirect-http/X    302 to http://127.0.0.1:HTTP_PORT/X (the plain listener)
#
# If SW_NGINX_OWNER is set to a PID, a watchdog stops nginx once that process is
# gone, so a test killed before its cleanup does not leave a server behind.
# Every wait is bounded (10 s).

sw_nginx__die() { echo "nginx.sh: $*" >&2; return 1; }

# Print a port that is free on 127.0.0.1 now, outside the ephemeral range (freeport.py says why).
sw_nginx__free_port() { /usr/bin/python3 "$(dirname "${BASH_SOURCE[0]}")/freeport.py"; }

sw_nginx__alive() {
  local pid=$1 state
  kill -0 "$pid" 2>/dev/null || return 1
  # A zombie (not reaped by whoever inherited it) is dead for our purpose.
  state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null) || return 1
  [ "$state" != Z ]
}

sw_nginx__make_certs() {
  local dir=$1
  [ -s "$dir/ca.pem" ] && [ -s "$dir/server.pem" ] && [ -s "$dir/server.key" ] && return 0
  (
    set -e
    cd "$dir"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout ca.key -out ca.pem -days 30 -subj "/CN=swarmup test CA" \
      -addext "basicConstraints=critical,CA:TRUE" \
      -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
    openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout server.key -out server.csr -subj "/CN=127.0.0.1" 2>/dev/null
    printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" > server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
      -out server.pem -days 30 -extfile server.ext 2>/dev/null
    rm -f server.csr
  ) || sw_nginx__die "certificate generation failed in $dir"
}

sw_nginx__write_conf() {
  local dir=$1 port=$2 hport=$3 user_line=""
  # As root the workers would drop to nobody, who cannot enter a mktemp -d (0700) DIR.
  [ "$(id -u)" = 0 ] && user_line="user root;"
  cat > "$dir/nginx.conf" <<EOF
$user_line
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid.nginx;
error_log $dir/error.log info;
events { worker_connections 256; }
http {
  types { text/plain txt; text/html html; application/octet-stream bin; }
  default_type application/octet-stream;
  client_body_temp_path $dir/tmp/client_body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;
  log_format sw '\$server_port \$status \$body_bytes_sent "\$http_range" "\$request" \$connection \$connection_requests \$request_time';
  access_log $dir/access.log sw;
  sendfile on;
  keepalive_timeout 10;
  server {
    listen 127.0.0.1:$port ssl;
    listen 127.0.0.1:$hport;
    server_name localhost 127.0.0.1;
    ssl_certificate $dir/server.pem;
    ssl_certificate_key $dir/server.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    root $dir/www;
    location /slow/ { alias $dir/www/; limit_rate 20k; }
    location /nolength/ { alias $dir/www/; ssi on; ssi_types *; }
    location /norange/ { alias $dir/www/; max_ranges 0; }
    location ~ ^/redirect-https/(.*)\$ { return 302 https://127.0.0.1:$port/\$1; }
    location ~ ^/redirect-http/(.*)\$ { return 302 http://127.0.0.1:$hport/\$1; }
    include $dir/extra/*.conf;
  }
}
EOF
}

# Start nginx for DIR on PORT (0: pick). Returns 0 once the HTTPS port answers.
sw_nginx_start() {
  local dir=$1 port=${2:-0} extra=${3:-} hport pid i attempt
  [ -n "$dir" ] || { sw_nginx__die "usage: start DIR PORT [EXTRA_CONF]"; return 2; }
  mkdir -p "$dir/www" "$dir/extra" "$dir/tmp" || return 1
  dir=$(cd "$dir" && pwd) || return 1
  if [ -f "$dir/nginx.pid" ] && sw_nginx__alive "$(cat "$dir/nginx.pid")"; then
    sw_nginx__die "already running in $dir (pid $(cat "$dir/nginx.pid"))"; return 1
  fi
  if [ -n "$extra" ]; then cp "$extra" "$dir/extra/" || return 1; fi
  sw_nginx__make_certs "$dir" || return 1
  # A picked port can be taken between the pick and nginx's bind: retry a few times.
  for attempt in 1 2 3 4 5; do
    local p=$port
    [ "$p" = 0 ] && p=$(sw_nginx__free_port)
    hport=$(sw_nginx__free_port)
    [ "$hport" = "$p" ] && continue
    sw_nginx__write_conf "$dir" "$p" "$hport"
    : > "$dir/error.log"
    # -e: log startup errors under DIR too, not into /var/log/nginx.
    nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" </dev/null >"$dir/nginx.out" 2>&1 &
    pid=$!
    echo "$pid" > "$dir/nginx.pid"
    for i in $(seq 1 100); do
      sw_nginx__alive "$pid" || break
      if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
        echo "$p" > "$dir/port"
        echo "$hport" > "$dir/http_port"
        if [ -n "${SW_NGINX_OWNER:-}" ]; then
          ( trap '' HUP
            while kill -0 "$SW_NGINX_OWNER" 2>/dev/null && sw_nginx__alive "$pid"; do sleep 1; done
            sw_nginx__alive "$pid" && kill -TERM "$pid" 2>/dev/null ) </dev/null >/dev/null 2>&1 &
        fi
        return 0
      fi
      sleep 0.1
    done
    sw_nginx__alive "$pid" && { kill -KILL "$pid" 2>/dev/null; }
    rm -f "$dir/nginx.pid"
    # Retry only a bind race on a port we picked ourselves.
    if [ "$port" != 0 ] || ! grep -q 'Address already in use' "$dir/error.log" "$dir/nginx.out" 2>/dev/null; then
      break
    fi
  done
  sw_nginx__die "nginx did not start in $dir:"
  tail -n 5 "$dir/error.log" "$dir/nginx.out" >&2 2>/dev/null
  return 1
}

# Stop the nginx of DIR by its PID; TERM, then KILL after 10 s.
sw_nginx_stop() {
  local dir=$1 pid i
  [ -n "$dir" ] || { sw_nginx__die "usage: stop DIR"; return 2; }
  [ -f "$dir/nginx.pid" ] || return 0
  pid=$(cat "$dir/nginx.pid")
  case "$pid" in ''|*[!0-9]*) sw_nginx__die "bad pid file $dir/nginx.pid"; return 1 ;; esac
  if sw_nginx__alive "$pid"; then
    kill -TERM "$pid" 2>/dev/null
    for i in $(seq 1 100); do sw_nginx__alive "$pid" || break; sleep 0.1; done
    if sw_nginx__alive "$pid"; then kill -KILL "$pid" 2>/dev/null; sleep 0.2; fi
  fi
  rm -f "$dir/nginx.pid"
  return 0
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
  cmd=${1:-}; shift || true
  case "$cmd" in
    start) sw_nginx_start "$@" ;;
    stop) sw_nginx_stop "$@" ;;
    *) echo "usage: nginx.sh start DIR PORT [EXTRA_CONF] | stop DIR" >&2; exit 2 ;;
  esac
  exit $?
fi
