#!/usr/bin/env bash
# Image benchmark, in one hyperfine run per measure: a generated image of 5 layers (50 MiB
# of incompressible data in all) served by Debian's docker-registry on 127.0.0.1, fetched
# (download only: `content fetch`) and pulled (download + unpack) by Debian's ctr and by
# myctr, against Debian's containerd 1.6 and against mycontainerd; unpack time is the
# difference. Then `run --rm IMAGE true` of the busybox image through both daemons.
#
# Everything runs on temporary sockets, ports and directories and is stopped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
rel=$PWD/target/release
for b in mycontainerd mycontainerd-shim myrunc myctr; do
    [ -x "$rel/$b" ] || { echo "build first: make build" >&2; exit 1; }
done
for t in containerd ctr hyperfine python3 skopeo docker-registry; do
    command -v $t >/dev/null || { echo "$t missing: make deps" >&2; exit 1; }
done

work=$(mktemp -d /tmp/myimages-bench.XXXXXX)
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
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
    # Snapshots of the daemons' overlay mounts that a killed daemon left behind.
    { grep -o " $work[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    for d in $(find /sys/fs/cgroup -maxdepth 4 -type d -name $ns 2>/dev/null | sort -r); do rmdir "$d" 2>/dev/null || true; done
    rm -rf "/run/containerd/runc/$ns"
    for d in "${made_run[@]}"; do rmdir "$d" 2>/dev/null || true; done
    rm -rf "$work" || { sleep 1; rm -rf "$work"; }
}
trap cleanup EXIT

# The images: busybox (as `make image` builds it) and busybox plus four 12 MiB layers.
scripts/busybox-image.sh "$work/busybox.tar" >/dev/null
python3 - "$work/busybox.tar" "$work/big.tar" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile

src, out = sys.argv[1], sys.argv[2]
files = {}
with tarfile.open(src) as t:
    for m in t.getmembers():
        if m.isfile():
            files[m.name] = t.extractfile(m).read()
def blob(d): return files["blobs/sha256/" + d.split(":")[1]]
index = json.loads(files["index.json"])
manifest = json.loads(blob(index["manifests"][0]["digest"]))
config = json.loads(blob(manifest["config"]["digest"]))
blobs = {k: v for k, v in files.items() if k.startswith("blobs/")}
def put(data):
    d = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs["blobs/sha256/" + d[7:]] = data
    return d
for i in range(4):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        data = os.urandom(12 << 20)
        info = tarfile.TarInfo(f"data/layer{i}.bin")
        info.size, info.mode = len(data), 0o644
        t.addfile(info, io.BytesIO(data))
    diff = "sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()
    gz = gzip.compress(raw.getvalue(), compresslevel=1, mtime=0)
    manifest["layers"].append({"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                               "digest": put(gz), "size": len(gz)})
    config["rootfs"]["diff_ids"].append(diff)
    config.setdefault("history", []).append({"created_by": f"bench layer {i}"})
cfg = json.dumps(config).encode()
manifest["config"] = {"mediaType": manifest["config"]["mediaType"], "digest": put(cfg), "size": len(cfg)}
man = json.dumps(manifest).encode()
index["manifests"] = [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "digest": put(man), "size": len(man),
                       "annotations": {"org.opencontainers.image.ref.name": "1"}}]
with tarfile.open(out, "w") as t:
    for name, data in [("oci-layout", files["oci-layout"]), ("index.json", json.dumps(index).encode())] + sorted(blobs.items()):
        info = tarfile.TarInfo(name)
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
PY

# The registry on a free loopback port.
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$work/registry.yml" <<YML
version: 0.1
log:
  level: error
storage:
  filesystem:
    rootdirectory: $work/registry
http:
  addr: 127.0.0.1:$port
YML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do python3 -c "import socket; socket.create_connection(('127.0.0.1',$port))" 2>/dev/null && break; sleep 0.1; done
skopeo copy -q --dest-tls-verify=false "oci-archive:$work/big.tar" "docker://127.0.0.1:$port/big:1"
skopeo copy -q --dest-tls-verify=false "oci-archive:$work/busybox.tar" "docker://127.0.0.1:$port/busybox:1"
BIG=127.0.0.1:$port/big:1
BB=127.0.0.1:$port/busybox:1

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
MC="$rel/myctr -a $work/c.sock -n $ns"
MM="$rel/myctr -a $work/m.sock -n $ns"
# Each run starts from an empty store: remove the image, then wait until the garbage
# collector has taken its content and snapshots.
empty() { echo "$1 images rm --sync $BIG >/dev/null 2>&1; until [ -z \"\$($1 content ls -q)\" ] && [ -z \"\$($1 snapshots ls | tail -n +2)\" ]; do sleep 0.05; done"; }

echo "== fetch (download only) of $BIG: 5 layers, $(du -m "$work/big.tar" | cut -f1) MiB" >&2
hyperfine -N --runs "$RUNS" --export-json "$work/fetch.json" \
    --prepare "sh -c '$(empty "$C")'" -n "ctr → containerd" "$C content fetch --plain-http $BIG" \
    --prepare "sh -c '$(empty "$MC")'" -n "myctr → containerd" "$MC content fetch --plain-http $BIG" \
    --prepare "sh -c '$(empty "$M")'" -n "ctr → mycontainerd" "$M content fetch --plain-http $BIG" \
    --prepare "sh -c '$(empty "$MM")'" -n "myctr → mycontainerd" "$MM content fetch --plain-http $BIG" >&2

echo "== pull (download + unpack) of $BIG" >&2
hyperfine -N --runs "$RUNS" --export-json "$work/pull.json" \
    --prepare "sh -c '$(empty "$C")'" -n "ctr → containerd" "$C images pull --plain-http $BIG" \
    --prepare "sh -c '$(empty "$MC")'" -n "myctr → containerd" "$MC images pull --plain-http $BIG" \
    --prepare "sh -c '$(empty "$M")'" -n "ctr → mycontainerd" "$M images pull --plain-http $BIG" \
    --prepare "sh -c '$(empty "$MM")'" -n "myctr → mycontainerd" "$MM images pull --plain-http $BIG" >&2

echo "== run --rm of the busybox image, /bin/true" >&2
$C images pull --plain-http $BB >/dev/null
$M images pull --plain-http $BB >/dev/null
# Once each first, so a failure shows its message instead of hyperfine's exit-code note.
$C run --rm $BB r0 /bin/true && $MC run --rm --runc-binary runc $BB r0 /bin/true &&
    $M run --rm $BB r0 /bin/true && $MM run --rm $BB r0 /bin/true
hyperfine -N --warmup 3 --runs $((RUNS * 3)) --export-json "$work/run.json" \
    -n "ctr → containerd (runc)" "$C run --rm $BB r1 /bin/true" \
    -n "myctr → containerd (runc)" "$MC run --rm --runc-binary runc $BB r2 /bin/true" \
    -n "ctr → mycontainerd (myrunc)" "$M run --rm $BB r3 /bin/true" \
    -n "myctr → mycontainerd (myrunc)" "$MM run --rm $BB r4 /bin/true" >&2

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
def medians(name):
    return {r["command"]: sorted(r["times"])[len(r["times"]) // 2] * 1000
            for r in json.load(open(f"{work}/{name}.json"))["results"]}
fetch, pull, run = medians("fetch"), medians("pull"), medians("run")
print("| client → daemon | fetch (ms) | pull (ms) | unpack = pull − fetch (ms) |")
print("|---|---|---|---|")
for k in fetch:
    print(f"| {k} | {fetch[k]:.0f} | {pull[k]:.0f} | {pull[k] - fetch[k]:.0f} |")
base = pull["ctr → containerd"]
print()
print("pull ratio to ctr → containerd: " + ", ".join(f"{k} {v / base:.2f}" for k, v in pull.items()))
print()
print("| `run --rm busybox /bin/true` | median (ms) |")
print("|---|---|")
for k, v in run.items():
    print(f"| {k} | {v:.1f} |")
PY
