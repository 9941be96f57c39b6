#!/usr/bin/env bash
# Networking benchmark, in one run: Debian's dockerd 20.10 (its containerd 1.6, runc,
# docker0, docker-proxy) and myengined (mycontainerd, myrunc, its own bridge, myproxy)
#
#   `run --rm busybox true` on the default bridge and with `--network none`: what the
#   bridge adds to a run (target: ours adds at most 20 ms);
#   download of a 64 MiB file served by busybox httpd in a container through a published
#   port: via 127.0.0.1 (the userland proxy path) and via a local non-loopback address
#   (the DNAT path).
#
# The whole script runs in a network namespace of its own (re-executed under
# `unshare --net`), so both daemons' bridges, iptables rules and proxies live and die
# there and the host's network configuration is never touched. Prints Markdown.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ -z "${MYBENCH_IN_NETNS:-}" ]; then
    exec env MYBENCH_IN_NETNS=1 unshare --net -- "$0" "$@"
fi
RUNS=${RUNS:-20}
rel=$PWD/target/release
for b in mycontainerd mycontainerd-shim myrunc myengined mycli myinit myproxy; do
    [ -x "$rel/$b" ] || { echo "build first: make build" >&2; exit 1; }
done
for t in dockerd docker containerd hyperfine python3 skopeo curl iptables; do
    command -v $t >/dev/null || { echo "$t missing: make deps" >&2; exit 1; }
done

ip link set lo up
# A local address outside 127/8: traffic to it takes the DNAT rules, as from another host.
ip addr add 192.0.2.10/32 dev lo
HOSTIP=192.0.2.10

work=$(mktemp -d /tmp/mynet-bench.XXXXXX)
tag=mynetbench$$
pids=()
D="docker -H unix://$work/d.sock"
E="$rel/mycli -H unix://$work/e.sock"
. bench/engines-cleanup.sh
trap cleanup EXIT

scripts/busybox-image.sh "$work/busybox-oci.tar" >/dev/null
skopeo copy -q "oci-archive:$work/busybox-oci.tar" "docker-archive:$work/busybox.tar:busybox:latest"

# Both with their defaults: a bridge, iptables rules and a userland proxy.
echo "{\"deprecated-key-path\": \"$work/key.json\"}" > "$work/daemon.json"
dockerd -H "unix://$work/d.sock" --config-file "$work/daemon.json" --data-root "$work/d-data" \
    --exec-root "$work/d-exec" --pidfile "$work/d.pid" --containerd-namespace "$tag" \
    --containerd-plugins-namespace "$tag-plugins" --cgroup-parent "/$tag-docker" \
    >"$work/dockerd.log" 2>&1 &
pids+=($!)
PATH=$rel:$PATH "$rel/mycontainerd" --address "$work/m.sock" --root "$work/m-root" --state "$work/m-state" \
    --log-level warn >"$work/mycontainerd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$work/m.sock" ] && break; sleep 0.1; done
PATH=$rel:$PATH "$rel/myengined" -H "unix://$work/e.sock" --containerd "$work/m.sock" \
    --data-root "$work/e-data" --exec-root "$work/e-exec" --log-level warn \
    >"$work/myengined.log" 2>&1 &
pids+=($!)
for c in "$D" "$E"; do
    for _ in $(seq 300); do $c version >/dev/null 2>&1 && break; sleep 0.1; done
    $c load -i "$work/busybox.tar" >/dev/null
done

# Once each first, so a failure shows its message.
for c in "$D" "$E"; do
    $c run --rm busybox true
    $c run --rm --network none busybox true
done

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/run.json" \
    -n "docker → dockerd, bridge" "$D run --rm busybox true" \
    -n "docker → dockerd, none" "$D run --rm --network none busybox true" \
    -n "mycli → myengined, bridge" "$E run --rm busybox true" \
    -n "mycli → myengined, none" "$E run --rm --network none busybox true" >&2

serve='mkdir -p /www && dd if=/dev/zero of=/www/big bs=1M count=64 2>/dev/null && httpd -f -p 80 -h /www'
$D run -d --name web -p 20301:80 busybox sh -c "$serve" >/dev/null
$E run -d --name web -p 20302:80 busybox sh -c "$serve" >/dev/null
for url in http://127.0.0.1:20301/big http://127.0.0.1:20302/big; do
    for _ in $(seq 100); do curl -sf -o /dev/null "$url" && break; sleep 0.1; done
done
get() { echo "curl -sf -o /dev/null $1"; }
hyperfine -N --warmup 2 --runs "$RUNS" --export-json "$work/get.json" \
    -n "dockerd: 127.0.0.1 (docker-proxy)" "$(get http://127.0.0.1:20301/big)" \
    -n "myengined: 127.0.0.1 (myproxy)" "$(get http://127.0.0.1:20302/big)" \
    -n "dockerd: local address (DNAT)" "$(get http://$HOSTIP:20301/big)" \
    -n "myengined: local address (DNAT)" "$(get http://$HOSTIP:20302/big)" >&2

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
def medians(name):
    return {r["command"]: sorted(r["times"])[len(r["times"]) // 2] * 1000
            for r in json.load(open(f"{work}/{name}.json"))["results"]}
run, get = medians("run"), medians("get")
k = list(run)
print("| `run --rm busybox true` | median (ms) | vs docker, bridge |")
print("|---|---|---|")
for name, v in run.items():
    print(f"| {name} | {v:.0f} | {v / run[k[0]]:.2f}× |")
print()
print(f"The bridge adds {run[k[0]] - run[k[1]]:.0f} ms to a docker run "
      f"(ratio none/bridge {run[k[1]] / run[k[0]]:.2f}) and {run[k[2]] - run[k[3]]:.0f} ms to ours "
      f"(ratio {run[k[3]] / run[k[2]]:.2f}).")
print()
print("| 64 MiB through a published port | median (ms) | MiB/s |")
print("|---|---|---|")
for name, v in get.items():
    print(f"| {name} | {v:.0f} | {64 / (v / 1000):.0f} |")
PY
