#!/usr/bin/env bash
# `make up` / `make down`: start or stop mycontainerd and myengined in the background, with
# pid files under $RUNDIR and logs under $LOGDIR; `up` also imports the busybox image
# ($IMAGE, an OCI tarball) for myctr (namespace default) and for the engine (namespace
# myengine). Containers keep running across `down` and `up` (each one's shim is its
# parent; both daemons reconnect on start).
#
# Usage: daemons.sh up|down    (environment: RELEASE RUNDIR LOGDIR CONTAINERD_SOCK ENGINE_SOCK IMAGE)
set -euo pipefail
: "${RELEASE:?}" "${RUNDIR:?}" "${LOGDIR:?}" "${CONTAINERD_SOCK:?}" "${ENGINE_SOCK:?}"
rel=$(cd "$RELEASE" && pwd)

running() { [ -f "$RUNDIR/$1.pid" ] && kill -0 "$(cat "$RUNDIR/$1.pid")" 2>/dev/null; }

# start NAME SOCKET ARGS...: runs $rel/NAME ARGS in its own session; waits for SOCKET.
start() {
    local name=$1 sock=$2; shift 2
    if running "$name"; then
        echo "$name is already running (pid $(cat "$RUNDIR/$name.pid"))"
        return
    fi
    PATH=$rel:$PATH setsid "$rel/$name" "$@" >>"$LOGDIR/$name.log" 2>&1 </dev/null &
    echo $! >"$RUNDIR/$name.pid"
    for _ in $(seq 100); do
        [ -S "$sock" ] && break
        if ! running "$name"; then
            tail -3 "$LOGDIR/$name.log" >&2
            rm -f "$RUNDIR/$name.pid"
            exit 1
        fi
        sleep 0.1
    done
    [ -S "$sock" ] || { echo "$name did not open $sock in 10 s (log: $LOGDIR/$name.log)" >&2; exit 1; }
    echo "$name running (pid $(cat "$RUNDIR/$name.pid"), socket $sock, log $LOGDIR/$name.log)"
}

stop() {
    local name=$1 pid
    if [ ! -f "$RUNDIR/$name.pid" ]; then
        echo "$name is not running"
        return
    fi
    pid=$(cat "$RUNDIR/$name.pid")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    rm -f "$RUNDIR/$name.pid"
    echo "$name stopped (containers keep running)"
}

case ${1:-} in
up)
    mkdir -p "$RUNDIR" "$LOGDIR"
    start mycontainerd "$CONTAINERD_SOCK" --address "$CONTAINERD_SOCK"
    "$rel/myctr" --address "$CONTAINERD_SOCK" images import "${IMAGE:?}" >/dev/null
    start myengined "$ENGINE_SOCK" -H "unix://$ENGINE_SOCK" --containerd "$CONTAINERD_SOCK" \
        --init-path "$rel/myinit"
    "$rel/mycli" -H "unix://$ENGINE_SOCK" load -i "$IMAGE" >/dev/null
    echo "imported docker.io/library/busybox:latest (for myctr and for mycli)"
    ;;
down)
    stop myengined
    stop mycontainerd
    ;;
*)
    echo "usage: $0 up|down" >&2
    exit 2
    ;;
esac
