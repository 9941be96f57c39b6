#!/usr/bin/env bash
# Daemon benchmark: `run --rm` of /bin/true in the busybox rootfs through Debian's
# containerd 1.6 (+ containerd-shim-runc-v2 + runc) and through mycontainerd
# (+ mycontainerd-shim + myrunc), in one hyperfine run; then idle memory (VmRSS, RssAnon)
# of each daemon and of one shim with a `sleep` container.
#
# Both daemons run on temporary sockets and directories and are stopped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-40}
rel=$PWD/target/release
for b in mycontainerd mycontainerd-shim myrunc; do
    [ -x "$rel/$b" ] || { echo "build first: make build" >&2; exit 1; }
done
for t in containerd ctr hyperfine python3; do command -v $t >/dev/null || { echo "$t missing: make deps" >&2; exit 1; }; done

work=$(mktemp -d /tmp/mycontainerd-bench.XXXXXX)
ns=bench$$
pids=()
made_run=()
for d in /run/containerd/fifo /run/containerd/runc /run/containerd/s /run/containerd; do [ -e $d ] || made_run+=($d); done
cleanup() {
    for sock in "$work/c.sock" "$work/m.sock"; do
        for t in $(ctr -a "$sock" -n $ns t ls -q 2>/dev/null); do
            ctr -a "$sock" -n $ns t kill -s SIGKILL "$t" >/dev/null 2>&1 || true
            sleep 0.3
            ctr -a "$sock" -n $ns t rm -f "$t" >/dev/null 2>&1 || true
        done
        for c in $(ctr -a "$sock" -n $ns c ls -q 2>/dev/null); do ctr -a "$sock" -n $ns c rm "$c" >/dev/null 2>&1 || true; done
    done
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 1
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    for d in $(find /sys/fs/cgroup -maxdepth 4 -type d -name $ns 2>/dev/null | sort -r); do rmdir "$d" 2>/dev/null || true; done
    rm -rf "/run/containerd/runc/$ns"
    for d in "${made_run[@]}"; do rmdir "$d" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

scripts/busybox-rootfs.sh "$work/rootfs" >/dev/null
cat > "$work/containerd.toml" <<TOML
version = 2
root = "$work/c-root"
state = "$work/c-state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$work/c.sock"
[ttrpc]
  address = "$work/c.sock.ttrpc"
[debug]
  address = "$work/c-debug.sock"
TOML
containerd --config "$work/containerd.toml" >"$work/containerd.log" 2>&1 &
pids+=($!)
PATH=$rel:$PATH "$rel/mycontainerd" --address "$work/m.sock" --root "$work/m-root" --state "$work/m-state" \
    --log-level warn >"$work/mycontainerd.log" 2>&1 &
pids+=($!)
for sock in "$work/c.sock" "$work/m.sock"; do
    for _ in $(seq 100); do ctr -a "$sock" version >/dev/null 2>&1 && break; sleep 0.1; done
done

C="ctr -a $work/c.sock -n $ns"
M="ctr -a $work/m.sock -n $ns"
R="--rootfs $work/rootfs"
cmds=(-n "ctr → containerd (runc)" "$C run --rm $R b1 /bin/true"
      -n "ctr → mycontainerd (myrunc)" "$M run --rm $R b2 /bin/true")
if [ -x "$rel/myctr" ]; then
    cmds+=(-n "myctr → mycontainerd (myrunc)" "$rel/myctr -a $work/m.sock -n $ns run --rm $R b3 /bin/true")
fi
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/run.json" "${cmds[@]}" >&2

# Idle memory: one sleeping container on each daemon.
$C run -d $R idle-c /bin/sleep 1000 >/dev/null
$M run -d $R idle-m /bin/sleep 1000 >/dev/null
sleep 2
mem() { awk '/^VmRSS|^RssAnon/ {printf "%s %s ", $2, $3}' "/proc/$1/status"; }
shim_of() { pgrep -f "$1.*$work/$2.sock" | head -1; }
c_shim=$(pgrep -f "containerd-shim-runc-v2 -namespace $ns -id idle-c" | head -1)
m_shim=$(pgrep -f "mycontainerd-shim -namespace $ns -address $work/m.sock -id idle-m" | head -1)

python3 - "$work/run.json" "${pids[0]}" "${pids[1]}" "$c_shim" "$m_shim" <<'PY'
import json, sys, statistics, datetime, platform, os
runs = json.load(open(sys.argv[1]))["results"]
def mem(pid):
    vals = {}
    for line in open(f"/proc/{pid}/status"):
        k, _, v = line.partition(":")
        if k in ("VmRSS", "RssAnon"):
            vals[k] = int(v.split()[0])
    return vals
print(f"### Daemons: `run --rm` of /bin/true ({datetime.date.today()}, {os.cpu_count()} cores, kernel {platform.release()})\n")
print("| client → daemon (runtime) | median ms | mean ± σ ms | vs containerd |")
print("|---|---|---|---|")
base = statistics.median(runs[0]["times"])
for r in runs:
    med = statistics.median(r["times"])
    print(f"| {r['command']} | {med*1000:.1f} | {r['mean']*1000:.1f} ± {r['stddev']*1000:.1f} | {med/base:.2f}× |")
names = ["containerd", "mycontainerd", "containerd-shim-runc-v2", "mycontainerd-shim"]
print("\n| process (idle, one container) | VmRSS KiB | RssAnon KiB |")
print("|---|---|---|")
for name, pid in zip(names, sys.argv[2:6]):
    m = mem(pid)
    print(f"| {name} | {m['VmRSS']} | {m['RssAnon']} |")
PY
