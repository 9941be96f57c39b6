#!/usr/bin/env bash
# Builds the demo image docker.io/library/busybox:latest as an OCI-layout tarball from the
# root filesystem scripts/busybox-rootfs.sh makes (Debian's busybox-static): one gzip layer,
# a config with Cmd ["sh"] and PATH, a manifest, and index.json naming the image.
#
# The output is reproducible: entries sorted, owner root, fixed mtimes and modes, gzip
# without a timestamp, JSON written in one fixed form. The same busybox package gives
# the same digests on every machine.
#
# Usage: busybox-image.sh OUT.tar [ROOTFS]   (without ROOTFS one is built in a temp dir)
set -euo pipefail
out=${1:?usage: $0 OUT.tar [ROOTFS]}
rootfs=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
command -v python3 >/dev/null || { echo "python3 not found (make deps)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if [ -z "$rootfs" ]; then
    rootfs="$tmp/rootfs"
    bash "$here/busybox-rootfs.sh" "$rootfs"
fi
[ -x "$rootfs/bin/busybox" ] || { echo "$rootfs has no bin/busybox" >&2; exit 1; }

python3 - "$rootfs" "$tmp/image.tar" <<'PY'
import gzip, hashlib, io, json, os, stat, sys, tarfile

rootfs, out = sys.argv[1], sys.argv[2]
NAME = "docker.io/library/busybox:latest"
EPOCH = 0
CREATED = "1970-01-01T00:00:00Z"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

def info(name, kind, mode, size=0, linkname=""):
    t = tarfile.TarInfo(name)
    t.type, t.mode, t.size, t.linkname = kind, mode, size, linkname
    t.uid = t.gid = 0
    t.uname = t.gname = "root"
    t.mtime = EPOCH
    return t

def layer_tar():
    """The rootfs as an uncompressed tar: sorted by path components, normalised modes."""
    paths = []
    for dirpath, dirnames, filenames in os.walk(rootfs):
        for n in dirnames + filenames:
            full = os.path.join(dirpath, n)
            paths.append(os.path.relpath(full, rootfs))
    paths.sort(key=lambda p: p.split("/"))
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for rel in paths:
            full = os.path.join(rootfs, rel)
            st = os.lstat(full)
            if stat.S_ISLNK(st.st_mode):
                tar.addfile(info(rel, tarfile.SYMTYPE, 0o777, linkname=os.readlink(full)))
            elif stat.S_ISDIR(st.st_mode):
                # Only the sticky bit survives (/tmp); everything else is 0755.
                mode = 0o1777 if st.st_mode & stat.S_ISVTX else 0o755
                tar.addfile(info(rel, tarfile.DIRTYPE, mode))
            elif stat.S_ISREG(st.st_mode):
                mode = 0o755 if st.st_mode & 0o111 else 0o644
                with open(full, "rb") as f:
                    data = f.read()
                tar.addfile(info(rel, tarfile.REGTYPE, mode, len(data)), io.BytesIO(data))
            else:
                sys.exit(f"unexpected file type: {rel}")
    return buf.getvalue()

def gz(data):
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as g:
        g.write(data)
    return buf.getvalue()

def js(obj):
    return json.dumps(obj, separators=(",", ":"), sort_keys=False).encode()

def sha(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()

blobs = {}
def blob(media_type, data, **extra):
    d = sha(data)
    blobs[d] = data
    desc = {"mediaType": media_type, "digest": d, "size": len(data)}
    desc.update(extra)
    return desc

tar = layer_tar()
layer = blob("application/vnd.oci.image.layer.v1.tar+gzip", gz(tar))
config = blob("application/vnd.oci.image.config.v1+json", js({
    "created": CREATED,
    "architecture": "amd64",
    "os": "linux",
    "config": {"Env": [PATH_ENV], "Cmd": ["sh"]},
    "rootfs": {"type": "layers", "diff_ids": [sha(tar)]},
    "history": [{"created": CREATED, "created_by": "scripts/busybox-image.sh (Debian busybox-static)"}],
}))
manifest = blob("application/vnd.oci.image.manifest.v1+json", js({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": config,
    "layers": [layer],
}))
manifest["annotations"] = {
    "io.containerd.image.name": NAME,
    "org.opencontainers.image.ref.name": "latest",
}
manifest["platform"] = {"architecture": "amd64", "os": "linux"}
index = js({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [manifest],
})

with tarfile.open(out, mode="w", format=tarfile.USTAR_FORMAT) as t:
    def add(name, data=None):
        if data is None:
            t.addfile(info(name, tarfile.DIRTYPE, 0o755))
        else:
            t.addfile(info(name, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    add("blobs")
    add("blobs/sha256")
    for d in sorted(blobs):
        add("blobs/sha256/" + d.split(":", 1)[1], blobs[d])
    add("index.json", index)
    add("oci-layout", js({"imageLayoutVersion": "1.0.0"}))
PY
mkdir -p "$(dirname "$out")"
mv "$tmp/image.tar" "$out"
