#!/usr/bin/env bash
# Benchmark: wrk against (a) the upstream directly, (b) the gateway, (c) Debian's nginx as an
# equivalent reverse proxy, side by side in one run with the same wrk settings.
#
# Upstream: `bench-upstream` (src/bin/bench-upstream.rs), a small release-built hyper server.
# Gateway and nginx both proxy HTTP/1.1 with upstream keep-alive, set X-Forwarded-*, and log
# nothing per request (gateway RUST_LOG=warn, nginx access_log off); gateway rate limits are
# lifted so the proxy path, not the limiter's 429s, is measured.
#
# Usage: gateway/bench/run.sh   (env: THREADS=2 CONNS=64 DURATION=15s ROUNDS=3)
# Installs wrk and nginx with apt-get when missing (needs root). Stops every process it starts.
set -euo pipefail

THREADS="${THREADS:-2}"
CONNS="${CONNS:-64}"
DURATION="${DURATION:-15s}"
UPSTREAM_PORT="${UPSTREAM_PORT:-18081}"
GATEWAY_PORT="${GATEWAY_PORT:-18082}"
NGINX_PORT="${NGINX_PORT:-18083}"
HOST_HEADER="bench.bench.test"

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
WORK="$(mktemp -d)"
PIDS=()

cleanup() {
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx)
if [ "${#need[@]}" -gt 0 ]; then
    if [ "$(id -u)" -ne 0 ]; then
        echo "missing ${need[*]}; run as root or install them" >&2
        exit 1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >/dev/null
    # The Debian package may start a system nginx on port 80; it is not used here.
fi
NGINX="$(command -v nginx || echo /usr/sbin/nginx)"

echo "building release binaries..." >&2
(cd "$ROOT" && cargo build --release -p gateway --bin gateway --bin bench-upstream >&2)
BIN="$ROOT/target/release"

wait_port() {
    for _ in $(seq 1 200); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        sleep 0.05
    done
    echo "port $1 did not open" >&2
    exit 1
}

"$BIN/bench-upstream" "127.0.0.1:$UPSTREAM_PORT" &
PIDS+=($!)
wait_port "$UPSTREAM_PORT"

cat >"$WORK/routes.json" <<JSON
{"routes":[{"coop":"bench","upstream":"127.0.0.1:$UPSTREAM_PORT","state":"ready"}]}
JSON
cat >"$WORK/gateway.toml" <<TOML
listen = "127.0.0.1:$GATEWAY_PORT"
base_domain = "bench.test"
route_file = "$WORK/routes.json"
[limits]
rate = [{ per_second = 100000000, window_secs = 1 }]
TOML
RUST_LOG=warn "$BIN/gateway" --config "$WORK/gateway.toml" &
PIDS+=($!)
wait_port "$GATEWAY_PORT"

mkdir -p "$WORK/nginx/logs" "$WORK/nginx/tmp"
NGINX_USER=""
[ "$(id -u)" -eq 0 ] && NGINX_USER="user root;"
cat >"$WORK/nginx/nginx.conf" <<CONF
$NGINX_USER
worker_processes auto;
pid $WORK/nginx/nginx.pid;
error_log $WORK/nginx/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    client_body_temp_path $WORK/nginx/tmp/body;
    proxy_temp_path $WORK/nginx/tmp/proxy;
    fastcgi_temp_path $WORK/nginx/tmp/fastcgi;
    uwsgi_temp_path $WORK/nginx/tmp/uwsgi;
    scgi_temp_path $WORK/nginx/tmp/scgi;
    keepalive_requests 100000;
    client_max_body_size 1m;
    upstream bench_node {
        server 127.0.0.1:$UPSTREAM_PORT;
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$NGINX_PORT;
        server_name bench.bench.test;
        location / {
            proxy_pass http://bench_node;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host \$proxy_host;
            proxy_set_header X-Forwarded-For \$remote_addr;
            proxy_set_header X-Forwarded-Proto \$scheme;
            proxy_set_header X-Forwarded-Host \$host;
            proxy_set_header X-Mono-Coop bench;
            proxy_connect_timeout 2s;
            proxy_read_timeout 30s;
        }
    }
}
CONF
"$NGINX" -p "$WORK/nginx" -c "$WORK/nginx/nginx.conf" -g 'daemon off;' &
PIDS+=($!)
wait_port "$NGINX_PORT"

# Sanity: every target answers 200 with the upstream's body.
for port in "$UPSTREAM_PORT" "$GATEWAY_PORT" "$NGINX_PORT"; do
    out="$(exec 3<>"/dev/tcp/127.0.0.1/$port"; printf 'GET /graphql HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n' "$HOST_HEADER" >&3; cat <&3)"
    case "$out" in
        "HTTP/1.1 200"*cooperative*) ;;
        *) echo "port $port did not answer 200: $out" >&2; exit 1 ;;
    esac
done

run_wrk() {
    # Short warm-up, then the measured run.
    wrk -t"$THREADS" -c"$CONNS" -d2s -H "Host: $HOST_HEADER" "http://127.0.0.1:$1/graphql" >/dev/null
    wrk -t"$THREADS" -c"$CONNS" -d"$DURATION" --latency -H "Host: $HOST_HEADER" "http://127.0.0.1:$1/graphql"
}

# CPU time (user + system, clock ticks) of a process and all its threads / nginx workers.
cpu_ticks() {
    local total=0 stat
    for pid in "$@"; do
        for stat in /proc/"$pid"/task/*/stat; do
            [ -r "$stat" ] || continue
            total=$((total + $(awk '{print $14 + $15}' "$stat")))
        done
    done
    echo "$total"
}
HZ="$(getconf CLK_TCK)"
GATEWAY_PID="${PIDS[1]}"
NGINX_PIDS="${PIDS[2]} $(pgrep -P "${PIDS[2]}" -d ' ' || true)"

# Rounds rotate the order of the targets, so background load hits them alike; the summary is
# the median over rounds. CPU µs per request is the proxy's own CPU time over the run.
ROUNDS="${ROUNDS:-3}"
TARGETS=(direct gateway nginx)
declare -A RPS P50 P99 NON2XX CPU
for round in $(seq 1 "$ROUNDS"); do
    for i in 0 1 2; do
        target="${TARGETS[$(( (i + round - 1) % 3 ))]}"
        case "$target" in
            direct) port="$UPSTREAM_PORT"; pids="" ;;
            gateway) port="$GATEWAY_PORT"; pids="$GATEWAY_PID" ;;
            nginx) port="$NGINX_PORT"; pids="$NGINX_PIDS" ;;
        esac
        echo "round $round: wrk -t$THREADS -c$CONNS -d$DURATION --latency  ($target, port $port)" >&2
        before="$(cpu_ticks $pids)"
        out="$(run_wrk "$port")"
        after="$(cpu_ticks $pids)"
        echo "$out" >"$WORK/wrk-$target-$round.txt"
        RPS[$target,$round]="$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")"
        P50[$target,$round]="$(awk '$1 == "50%" {print $2}' <<<"$out")"
        P99[$target,$round]="$(awk '$1 == "99%" {print $2}' <<<"$out")"
        NON2XX[$target,$round]="$(awk '/Non-2xx/ {print $NF}' <<<"$out")"
        reqs="$(awk '/requests in/ {print $1}' <<<"$out")"
        if [ -n "$pids" ] && [ "${reqs:-0}" -gt 0 ]; then
            CPU[$target,$round]="$(awk -v t=$((after - before)) -v hz="$HZ" -v r="$reqs" 'BEGIN {printf "%.1f", t * 1e6 / hz / r}')"
        else
            CPU[$target,$round]="-"
        fi
    done
done

median() { tr ' ' '\n' | grep -v -e '^-$' -e '^$' | sort -g | awk '{a[NR] = $1} END {if (NR) print a[int((NR + 1) / 2)]; else print "-"}'; }
to_ms() { awk '{v = $1; if (v ~ /us$/) {sub(/us$/, "", v); v /= 1000} else if (v ~ /ms$/) {sub(/ms$/, "", v)} else if (v ~ /s$/) {sub(/s$/, "", v); v *= 1000}; printf "%.2f\n", v}'; }

echo
echo "wrk -t$THREADS -c$CONNS -d$DURATION --latency, $ROUNDS rounds, loopback, $(nproc) cores shared by wrk, proxy and upstream"
printf '%-8s %-6s %12s %10s %10s %8s %14s\n' target round requests/s p50_ms p99_ms non-2xx cpu_us/request
for target in direct gateway nginx; do
    for round in $(seq 1 "$ROUNDS"); do
        printf '%-8s %-6s %12s %10s %10s %8s %14s\n' "$target" "$round" "${RPS[$target,$round]}" \
            "$(to_ms <<<"${P50[$target,$round]}")" "$(to_ms <<<"${P99[$target,$round]}")" \
            "${NON2XX[$target,$round]:-0}" "${CPU[$target,$round]}"
    done
done
echo
echo "medians over $ROUNDS rounds"
printf '%-8s %12s %10s %10s %14s\n' target requests/s p50_ms p99_ms cpu_us/request
for target in direct gateway nginx; do
    rps=""; p50=""; p99=""; cpu=""
    for round in $(seq 1 "$ROUNDS"); do
        rps+="${RPS[$target,$round]} "
        p50+="$(to_ms <<<"${P50[$target,$round]}") "
        p99+="$(to_ms <<<"${P99[$target,$round]}") "
        cpu+="${CPU[$target,$round]} "
    done
    printf '%-8s %12s %10s %10s %14s\n' "$target" "$(median <<<"$rps")" "$(median <<<"$p50")" \
        "$(median <<<"$p99")" "$(median <<<"$cpu")"
done
