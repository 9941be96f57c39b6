#!/usr/bin/env bash
# Runtime start-up benchmark: `run` of /bin/true in the busybox bundle with myrunc, Debian's
# runc and crun in one hyperfine run, then the create / start / delete split.
#
# crun 1.8 refuses this host's hybrid cgroup layout while hugetlb sits on the cgroup2
# hierarchy ("cgroups in hybrid mode not supported"). If hugetlb has no v1 hierarchy, this
# script mounts one for the duration of the run and puts it back afterwards: unmount, then
# mount and unmount once more with no child cgroups left, which returns hugetlb to cgroup2.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-50}
myrunc=${MYRUNC:-$PWD/target/release/myrunc}
[ -x "$myrunc" ] || { echo "build first: make build" >&2; exit 1; }
for t in runc crun hyperfine python3; do command -v $t >/dev/null || { echo "$t missing: make deps" >&2; exit 1; }; done

work=$(mktemp -d /tmp/myrunc-bench.XXXXXX)
hugetlb_hierarchy() { awk '$1 == "hugetlb" { print $2 }' /proc/cgroups; }
hugetlb_mounted=0
cleanup() {
    for r in myrunc runc crun; do
        for id in bench split; do "$(bin_of $r)" --root "$work/root-$r" delete -f $id >/dev/null 2>&1 || true; done
    done
    if [ "$hugetlb_mounted" = 1 ]; then
        umount /sys/fs/cgroup/hugetlb || true
        # The hierarchy goes back to cgroup2 when it is unmounted with no child cgroups
        # left; the containers' cgroups die asynchronously, so give them a moment, then
        # mount and unmount once more and wait for the kernel to free it.
        for attempt in 1 2 3; do
            sleep 1
            mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb && umount /sys/fs/cgroup/hugetlb || true
            for _ in $(seq 20); do
                [ "$(hugetlb_hierarchy)" = 0 ] && break 2
                sleep 0.25
            done
        done
        rmdir /sys/fs/cgroup/hugetlb 2>/dev/null || true
        echo "hugetlb back on cgroup2: $(cat /sys/fs/cgroup/unified/cgroup.controllers 2>/dev/null)" >&2
    fi
    rm -rf "$work"
}
bin_of() { case $1 in myrunc) echo "$myrunc";; runc) command -v runc;; crun) command -v crun;; esac; }
trap cleanup EXIT

# /proc/cgroups gives hugetlb's hierarchy: 0 is cgroup2. A v1 hierarchy that is no longer
# mounted is freed asynchronously; wait for that to settle first.
for _ in $(seq 30); do
    [ "$(hugetlb_hierarchy)" = 0 ] || awk '$5 == "/sys/fs/cgroup/hugetlb"' /proc/self/mountinfo | grep -q . && break
    sleep 0.5
done
if [ "$(hugetlb_hierarchy)" = 0 ] && [ -d /sys/fs/cgroup/unified ]; then
    echo "note: mounting a v1 hugetlb hierarchy for crun (restored afterwards)" >&2
    mkdir -p /sys/fs/cgroup/hugetlb
    mount -t cgroup -o hugetlb cgroup /sys/fs/cgroup/hugetlb
    hugetlb_mounted=1
fi

scripts/busybox-rootfs.sh "$work/bundle/rootfs"
"$myrunc" spec --bundle "$work/bundle"
python3 - "$work/bundle/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["/bin/true"]
json.dump(c, open(p, "w"), indent=1)
PY

cmd() { echo "$(bin_of $1) --root $work/root-$1"; }
B="--bundle $work/bundle"
hyperfine -N --warmup 5 --runs "$RUNS" --export-json "$work/run.json" \
    -n myrunc "$(cmd myrunc) run $B bench" \
    -n crun "$(cmd crun) run $B bench" \
    -n runc "$(cmd runc) run $B bench" >&2

split=()
for r in myrunc crun runc; do
    c=$(cmd $r)
    split+=(-n "$r create" --prepare "$c delete -f split" "$c create $B split")
    split+=(-n "$r start" --prepare "sh -c '$c delete -f split; $c create $B split'" "$c start split")
    split+=(-n "$r delete" --prepare "sh -c '$c delete -f split; $c create $B split; $c start split; sleep 0.05'" "$c delete split")
done
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/split.json" "${split[@]}" >&2

python3 - "$work/run.json" "$work/split.json" <<'PY'
import json, sys, statistics, datetime, platform, os
run = {r["command"]: r for r in json.load(open(sys.argv[1]))["results"]}
split = {r["command"]: r for r in json.load(open(sys.argv[2]))["results"]}
ms = lambda r: statistics.median(r["times"]) * 1000
print(f"### Runtime: `run` of /bin/true ({datetime.date.today()}, {os.cpu_count()} cores, kernel {platform.release()})\n")
print("| runtime | median ms | mean ± σ ms | vs myrunc |")
print("|---|---|---|---|")
base = ms(run["myrunc"])
for n in ["myrunc", "crun", "runc"]:
    r = run[n]
    print(f"| {n} | {ms(r):.1f} | {r['mean']*1000:.1f} ± {r['stddev']*1000:.1f} | {ms(r)/base:.2f}× |")
print("\n| phase | myrunc ms | crun ms | runc ms |")
print("|---|---|---|---|")
for phase in ["create", "start", "delete"]:
    print(f"| {phase} | " + " | ".join(f"{ms(split[f'{n} {phase}']):.1f}" for n in ["myrunc", "crun", "runc"]) + " |")
PY
