#!/usr/bin/env bash
# Engine benchmark, in one run: `run --rm busybox true` (both `--network none`) through
# Debian's dockerd 20.10 (with its own containerd 1.6 and runc) driven by the docker CLI,
# and through myengined (on mycontainerd, mycontainerd-shim, myrunc) driven by mycli and by
# the same docker CLI; then 50 sequential `run -d busybox sleep 60` followed by `rm -f` of
# all of them; then the idle VmRSS of each daemon.
#
# Every daemon runs on temporary sockets and directories and is stopped afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-20}
. bench/engines-start.sh

# Once each first, so a failure shows its message.
$D run --rm --network none busybox true
$E run --rm --network none busybox true
$DE run --rm --network none busybox true

hyperfine -N --warmup 3 --runs "$RUNS" --export-json "$work/run.json" \
    -n "docker → dockerd (containerd, runc)" "$D run --rm --network none busybox true" \
    -n "docker → myengined" "$DE run --rm --network none busybox true" \
    -n "mycli → myengined (mycontainerd, myrunc)" "$E run --rm --network none busybox true" >&2

fifty() { echo "for i in \$(seq 50); do $1 run -d --network none busybox sleep 60 >/dev/null; done; $1 rm -f \$($1 ps -aq) >/dev/null"; }
hyperfine --runs 2 --export-json "$work/fifty.json" \
    -n "docker → dockerd" "$(fifty "$D")" \
    -n "mycli → myengined" "$(fifty "$E")" >&2

sleep 3
rss() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }
python3 - "$work" "$(rss "${pids[0]}")" "$(rss "${pids[2]}")" "$(rss "${pids[1]}")" <<'PY'
import json, sys
work, dockerd, engine, mycontainerd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
def medians(name):
    return {r["command"]: sorted(r["times"])[len(r["times"]) // 2] * 1000
            for r in json.load(open(f"{work}/{name}.json"))["results"]}
run, fifty = medians("run"), medians("fifty")
base = next(iter(run.values()))
print("| `run --rm --network none busybox true` | median (ms) | vs docker → dockerd |")
print("|---|---|---|")
for k, v in run.items():
    print(f"| {k} | {v:.0f} | {v / base:.2f}× |")
print()
fbase = next(iter(fifty.values()))
print("| 50 × `run -d … sleep 60`, then `rm -f` | median (s) | vs docker |")
print("|---|---|---|")
for k, v in fifty.items():
    print(f"| {k} | {v / 1000:.1f} | {v / fbase:.2f}× |")
print()
print(f"Idle VmRSS after the runs: dockerd {dockerd / 1024:.1f} MiB, myengined {engine / 1024:.1f} MiB "
      f"(mycontainerd {mycontainerd / 1024:.1f} MiB).")
PY
