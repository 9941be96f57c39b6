# Sourced by the engine benchmarks: stops what they started. Expects $work (the temp dir),
# $tag (the containerd namespace and cgroup prefix), $pids (daemons started) and the
# client commands $D and $E.
cleanup() {
    for c in "$D" "$E"; do
        ids=$($c ps -aq 2>/dev/null || true)
        [ -z "$ids" ] || $c rm -f $ids >/dev/null 2>&1 || true
    done
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do
        for _ in $(seq 100); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true
    done
    # dockerd's containerd, shims and proxies name our directory on their command lines.
    for p in $(grep -l "$work" /proc/[0-9]*/cmdline 2>/dev/null | cut -d/ -f3); do kill -9 "$p" 2>/dev/null || true; done
    { grep -o " $work[^ ]*" /proc/self/mounts || true; } | sort -r | while read -r m; do umount -l "$m" 2>/dev/null || true; done
    for d in $(find /sys/fs/cgroup -maxdepth 3 -type d -name "$tag*" 2>/dev/null | sort -r); do
        find "$d" -mindepth 1 -depth -type d -exec rmdir {} \; 2>/dev/null || true
        rmdir "$d" 2>/dev/null || true
    done
    rm -rf "$work" || { sleep 1; rm -rf "$work"; }
}
