# Sourced by the engine benchmarks: checks the tools, starts Debian's dockerd 20.10 (with
# its own containerd 1.6 and runc; no bridge, no iptables rules) and myengined (on
# mycontainerd, mycontainerd-shim, myrunc) on temporary sockets, and loads busybox into
# both. Sets $work, $tag, $pids (dockerd, mycontainerd, myengined), and the clients $D
# (docker → dockerd), $E (mycli → myengined) and $DE (docker → myengined); the clean-up
# runs on exit.
rel=$PWD/target/release
for b in mycontainerd mycontainerd-shim myrunc myengined mycli myinit; do
    [ -x "$rel/$b" ] || { echo "build first: make build" >&2; exit 1; }
done
for t in dockerd docker containerd hyperfine python3 skopeo; do
    command -v $t >/dev/null || { echo "$t missing: make deps" >&2; exit 1; }
done

work=$(mktemp -d /tmp/myengine-bench.XXXXXX)
tag=mybench$$
pids=()
D="docker -H unix://$work/d.sock"
E="$rel/mycli -H unix://$work/e.sock"
DE="docker -H unix://$work/e.sock"
. bench/engines-cleanup.sh
trap cleanup EXIT

scripts/busybox-image.sh "$work/busybox-oci.tar" >/dev/null
skopeo copy -q "oci-archive:$work/busybox-oci.tar" "docker-archive:$work/busybox.tar:busybox:latest"

# dockerd with its own containerd, no bridge and no iptables rules (as --network none needs).
echo "{\"deprecated-key-path\": \"$work/key.json\"}" > "$work/daemon.json"
dockerd -H "unix://$work/d.sock" --config-file "$work/daemon.json" --data-root "$work/d-data" \
    --exec-root "$work/d-exec" --pidfile "$work/d.pid" --bridge=none --iptables=false --ip-masq=false \
    --ip-forward=false --userland-proxy=false --containerd-namespace "$tag" \
    --containerd-plugins-namespace "$tag-plugins" --cgroup-parent "/$tag-docker" \
    >"$work/dockerd.log" 2>&1 &
pids+=($!)
PATH=$rel:$PATH "$rel/mycontainerd" --address "$work/m.sock" --root "$work/m-root" --state "$work/m-state" \
    --log-level warn >"$work/mycontainerd.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$work/m.sock" ] && break; sleep 0.1; done
PATH=$rel:$PATH "$rel/myengined" -H "unix://$work/e.sock" --containerd "$work/m.sock" \
    --data-root "$work/e-data" --exec-root "$work/e-exec" --log-level warn \
    --bridge mybrbench0 --bip 10.208.0.1/24 --chain-prefix MYBENCH \
    >"$work/myengined.log" 2>&1 &
pids+=($!)
for c in "$D" "$E"; do
    for _ in $(seq 300); do $c version >/dev/null 2>&1 && break; sleep 0.1; done
    $c load -i "$work/busybox.tar" >/dev/null
done

