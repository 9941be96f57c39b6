#!/usr/bin/env bash
# Builds a minimal root filesystem from Debian's busybox-static: the binary, one symlink
# per applet, /etc/passwd, /etc/group and a sticky /tmp.
# Usage: busybox-rootfs.sh DEST
set -euo pipefail
dest=${1:?usage: $0 DEST}
busybox=$(command -v busybox || true)
[ -n "$busybox" ] || { echo "busybox not found: install busybox-static (make deps)" >&2; exit 1; }
file -L "$busybox" | grep -q "statically linked" || { echo "$busybox is not static: install busybox-static" >&2; exit 1; }

tmp="$dest.tmp.$$"
rm -rf "$tmp"
mkdir -p "$tmp"/{bin,sbin,usr/bin,usr/sbin,etc,proc,sys,dev,root,home,var,run,www,tmp}
install -m 0755 "$(readlink -f "$busybox")" "$tmp/bin/busybox"
# One ln per applet, grouped by directory: `ln -s TARGET NAME` per call is the slow part.
"$tmp/bin/busybox" --list-full | grep -v '^bin/busybox$' | while read -r applet; do
    echo "$applet"
done > "$tmp/.applets"
while read -r applet; do
    ln -s /bin/busybox "$tmp/$applet"
done < "$tmp/.applets"
rm "$tmp/.applets"
cat > "$tmp/etc/passwd" <<'PW'
root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
PW
cat > "$tmp/etc/group" <<'GR'
root:x:0:
daemon:x:1:
tty:x:5:
nogroup:x:65534:
GR
chmod 1777 "$tmp/tmp"
echo '<h1>hello from busybox</h1>' > "$tmp/www/index.html"
# Publish atomically so concurrent users never see a half-built tree.
rm -rf "$dest"
mv "$tmp" "$dest"
