#!/usr/bin/env bash
# Benchmark: myproxy vs Debian's docker-proxy vs a direct connection, in one run.
#
#   throughput (MiB/s) upload and download, 1 and 8 streams   (proxy/examples/loadgen.rs)
#   connections/s: sequential connect + 1-byte ping + close    (hyperfine)
#   idle VmRSS / RssAnon of each proxy, at start and after the load
#   memory per published port: docker runs two docker-proxy processes (IPv4 and
#   IPv6), myproxy one with -dual-stack
#
# Needs: hyperfine, docker.io (/usr/sbin/docker-proxy). Loopback only; every load
# is bounded in time or count. Builds loadgen and the release myproxy first, the
# latter statically linked as `make build` does (CARGO overrides the cargo command,
# e.g. CARGO="flock /tmp/lock cargo").
# Prints a Markdown report on stdout.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
CARGO=${CARGO:-cargo}
DOCKER_PROXY=${DOCKER_PROXY:-/usr/sbin/docker-proxy}
SECONDS_PER_RUN=${SECONDS_PER_RUN:-3}
CONNECTS=${CONNECTS:-500}
# Below the ephemeral range (32768+), where client sockets could already hold a port.
BASE_PORT=${BASE_PORT:-20100}

BACKEND_PORT=$BASE_PORT
MY_PORT=$((BASE_PORT + 1))
DP_PORT=$((BASE_PORT + 2))
MY_DUAL_PORT=$((BASE_PORT + 3))
DP_DUAL_PORT=$((BASE_PORT + 4))

for tool in hyperfine "$DOCKER_PROXY"; do
    command -v "$tool" >/dev/null || { echo "missing $tool (make deps)" >&2; exit 1; }
done

(
    cd "$ROOT"
    $CARGO build --quiet --release -p myproxy --example loadgen
    $CARGO rustc --quiet --release -p myproxy --bin myproxy -- -C target-feature=+crt-static
)
MYPROXY="$ROOT/target/release/myproxy"
LOADGEN="$ROOT/target/release/examples/loadgen"

WORK=$(mktemp -d)
PIDS=()
cleanup() {
    for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

# start NAME BINARY ARGS... : runs a proxy with its status pipe (fd 3) on a file and
# waits for its "0" (docker-proxy needs fd 3 open: it closes fd 3 unconditionally).
start() {
    local name=$1; shift
    "$@" 3>"$WORK/$name.status" 2>"$WORK/$name.log" &
    PIDS+=($!)
    echo $! >"$WORK/$name.pid"
    for _ in $(seq 100); do
        if [ -s "$WORK/$name.status" ]; then break; fi
        sleep 0.05
    done
    if [ "$(head -c1 "$WORK/$name.status")" != 0 ]; then
        echo "$name did not start: $(cat "$WORK/$name.status" "$WORK/$name.log")" >&2
        exit 1
    fi
}

mem() { # PID -> "VmRSS / RssAnon" in KiB
    awk '/^VmRSS/ {rss=$2} /^RssAnon/ {anon=$2} END {printf "%d KiB / %d KiB", rss, anon}' "/proc/$1/status"
}
kib() { # PID FIELD -> KiB
    awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"
}

"$LOADGEN" server "127.0.0.1:$BACKEND_PORT" &
PIDS+=($!)
for _ in $(seq 100); do
    (exec 9<>"/dev/tcp/127.0.0.1/$BACKEND_PORT") 2>/dev/null && break
    sleep 0.05
done

common=(-container-ip 127.0.0.1 -container-port "$BACKEND_PORT")
start myproxy "$MYPROXY" -proto tcp -host-ip 127.0.0.1 -host-port "$MY_PORT" "${common[@]}"
start docker-proxy "$DOCKER_PROXY" -proto tcp -host-ip 127.0.0.1 -host-port "$DP_PORT" "${common[@]}"
# One published port on both families, the way each is deployed.
start myproxy-dual "$MYPROXY" -proto tcp -host-ip 0.0.0.0 -host-port "$MY_DUAL_PORT" -dual-stack "${common[@]}"
start docker-proxy-v4 "$DOCKER_PROXY" -proto tcp -host-ip 0.0.0.0 -host-port "$DP_DUAL_PORT" "${common[@]}"
start docker-proxy-v6 "$DOCKER_PROXY" -proto tcp -host-ip :: -host-port "$DP_DUAL_PORT" "${common[@]}"
sleep 1

MY_PID=$(cat "$WORK/myproxy.pid")
DP_PID=$(cat "$WORK/docker-proxy.pid")
MY_IDLE=$(mem "$MY_PID")
DP_IDLE=$(mem "$DP_PID")
MY_PORT_RSS=$(kib "$(cat "$WORK/myproxy-dual.pid")" VmRSS)
MY_PORT_ANON=$(kib "$(cat "$WORK/myproxy-dual.pid")" RssAnon)
DP_PORT_RSS=$(( $(kib "$(cat "$WORK/docker-proxy-v4.pid")" VmRSS) + $(kib "$(cat "$WORK/docker-proxy-v6.pid")" VmRSS) ))
DP_PORT_ANON=$(( $(kib "$(cat "$WORK/docker-proxy-v4.pid")" RssAnon) + $(kib "$(cat "$WORK/docker-proxy-v6.pid")" RssAnon) ))

declare -A TARGET=([direct]=$BACKEND_PORT [myproxy]=$MY_PORT [docker-proxy]=$DP_PORT)
ORDER=(direct myproxy docker-proxy)
declare -A RESULT
# median3 MODE ADDR STREAMS: the median of three runs, taken in turns with the other
# targets so that a burst of load elsewhere on the machine hits all of them alike.
declare -A RUNS
for round in 1 2 3; do
    for name in "${ORDER[@]}"; do
        addr="127.0.0.1:${TARGET[$name]}"
        RUNS[$name,up1,$round]=$("$LOADGEN" upload "$addr" "$SECONDS_PER_RUN" 1)
        RUNS[$name,up8,$round]=$("$LOADGEN" upload "$addr" "$SECONDS_PER_RUN" 8)
        RUNS[$name,down1,$round]=$("$LOADGEN" download "$addr" "$SECONDS_PER_RUN" 1)
    done
done
for name in "${ORDER[@]}"; do
    for test in up1 up8 down1; do
        RESULT[$name,$test]=$(printf '%s\n' "${RUNS[$name,$test,1]}" "${RUNS[$name,$test,2]}" "${RUNS[$name,$test,3]}" | sort -n | sed -n 2p)
    done
done

hyperfine --style basic --shell none --warmup 2 --runs 10 \
    --export-csv "$WORK/connect.csv" \
    -n direct "$LOADGEN connect 127.0.0.1:$BACKEND_PORT $CONNECTS" \
    -n myproxy "$LOADGEN connect 127.0.0.1:$MY_PORT $CONNECTS" \
    -n docker-proxy "$LOADGEN connect 127.0.0.1:$DP_PORT $CONNECTS" >"$WORK/hyperfine.txt"
for name in "${ORDER[@]}"; do
    RESULT[$name,conn]=$(awk -F, -v n="$name" -v c="$CONNECTS" '$1 == n {printf "%.0f", c / $2}' "$WORK/connect.csv")
done

sleep 1
MY_AFTER=$(mem "$MY_PID")
DP_AFTER=$(mem "$DP_PID")

cat <<EOF
## myproxy vs docker-proxy ($(date -u +%Y-%m-%dT%H:%MZ))

Machine: $(nproc) cores, $(. /etc/os-release && echo "$PRETTY_NAME"), kernel $(uname -r);
docker-proxy from Debian docker.io $(dpkg-query -W -f '${Version}' docker.io 2>/dev/null || echo '?').
Loopback, TCP; throughput is the median of 3 runs of ${SECONDS_PER_RUN} s; connections/s from hyperfine
(10 runs of ${CONNECTS} sequential connect + 1-byte ping + close).

| | direct | myproxy | docker-proxy |
|---|---:|---:|---:|
| upload, 1 stream (MiB/s) | ${RESULT[direct,up1]} | ${RESULT[myproxy,up1]} | ${RESULT[docker-proxy,up1]} |
| upload, 8 streams (MiB/s) | ${RESULT[direct,up8]} | ${RESULT[myproxy,up8]} | ${RESULT[docker-proxy,up8]} |
| download, 1 stream (MiB/s) | ${RESULT[direct,down1]} | ${RESULT[myproxy,down1]} | ${RESULT[docker-proxy,down1]} |
| connections/s | ${RESULT[direct,conn]} | ${RESULT[myproxy,conn]} | ${RESULT[docker-proxy,conn]} |
| idle VmRSS / RssAnon at start | | $MY_IDLE | $DP_IDLE |
| idle VmRSS / RssAnon after the load | | $MY_AFTER | $DP_AFTER |
| one published port, IPv4 + IPv6: processes, VmRSS / RssAnon | | 1 (-dual-stack), $MY_PORT_RSS KiB / $MY_PORT_ANON KiB | 2, $DP_PORT_RSS KiB / $DP_PORT_ANON KiB |

Targets (issue 4): myproxy VmRSS ≤ 2048 KiB, RssAnon ≤ 512 KiB, throughput ≥ docker-proxy's.

<details><summary>hyperfine</summary>

\`\`\`
$(cat "$WORK/hyperfine.txt")
\`\`\`
</details>
EOF
