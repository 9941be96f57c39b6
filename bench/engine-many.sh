#!/usr/bin/env bash
# Engine benchmark with 100 stopped containers, in one run: `ps -a` and `inspect` of one
# container through Debian's dockerd 20.10 (docker CLI) and myengined (mycli and the docker
# CLI), then the idle VmRSS of each engine and of the containerd under it.
#
# Every daemon runs on temporary sockets and directories and is stopped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-30}
COUNT=${COUNT:-100}
. bench/engines-start.sh

for c in "$D" "$E"; do
    for i in $(seq "$COUNT"); do $c run --network none --name "many$i" busybox true >/dev/null; done
    [ "$($c ps -aq | wc -l)" -eq "$COUNT" ] || { echo "expected $COUNT containers" >&2; exit 1; }
done

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/ps.json" \
    -n "docker → dockerd" "$D ps -a" \
    -n "docker → myengined" "$DE ps -a" \
    -n "mycli → myengined" "$E ps -a" >&2
hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/inspect.json" \
    -n "docker → dockerd" "$D inspect many50" \
    -n "docker → myengined" "$DE inspect many50" \
    -n "mycli → myengined" "$E inspect many50" >&2

sleep 3
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
# dockerd started its own containerd: the child whose command line names our directory.
dcontainerd=$(for p in $(grep -l "$work/d-exec" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do
    [ "$(awk '{print $4}' "/proc/$p/stat" 2>/dev/null)" = "${pids[0]}" ] && echo "$p"; done | head -1)
python3 - "$work" "$COUNT" "$(rss "${pids[0]}")" "$(rss "$dcontainerd")" "$(rss "${pids[2]}")" "$(rss "${pids[1]}")" <<'PY'
import json, sys
work, count = sys.argv[1], sys.argv[2]
dockerd, dcontainerd, engine, mycontainerd = (int(x) / 1024 for x in sys.argv[3:7])
def medians(name):
    return {r["command"]: sorted(r["times"])[len(r["times"]) // 2] * 1000
            for r in json.load(open(f"{work}/{name}.json"))["results"]}
for name, what in (("ps", "ps -a"), ("inspect", "inspect many50")):
    m = medians(name)
    base = next(iter(m.values()))
    print(f"| `{what}` with {count} containers | median (ms) | vs docker → dockerd |")
    print("|---|---|---|")
    for k, v in m.items():
        print(f"| {k} | {v:.1f} | {v / base:.2f}× |")
    print()
print(f"| Idle VmRSS with {count} stopped containers | engine (MiB) | its containerd (MiB) | together |")
print("|---|---|---|---|")
print(f"| dockerd 20.10 | {dockerd:.1f} | {dcontainerd:.1f} | {dockerd + dcontainerd:.1f} |")
print(f"| myengined | {engine:.1f} | {mycontainerd:.1f} | {engine + mycontainerd:.1f} "
      f"({(engine + mycontainerd) / (dockerd + dcontainerd):.2f}×) |")
PY
