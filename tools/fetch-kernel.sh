#!/usr/bin/env bash
# Fetches Debian's linux-image-cloud-amd64 kernel (the default guest) into
# DIR/vmlinuz without installing it on the host: apt-get download + dpkg -x.
# The guest's virtio drivers are modules in that package: the closure of the
# ones petrel's devices need goes to DIR/modules/<version>/ with a
# modules.dep and modules.alias made by depmod, for tools/mkinitrd.sh.
set -euo pipefail
dir=${1:-.cache}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
want="virtio_pci virtio_mmio virtio_blk virtio_rng virtio_console virtio_net button evdev"
[ -s "$dir/vmlinuz" ] && [ -s "$dir/modules/stamp" ] &&
	[ "$(cat "$dir/modules/stamp")" = "$want" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# the metapackage depends on the current versioned image package
pkg=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
if [ -z "$pkg" ]; then
	sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
	$sudo apt-get update -q >/dev/null
	pkg=$(apt-cache depends linux-image-cloud-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
fi
[ -n "$pkg" ] || { echo "fetch-kernel: cannot resolve linux-image-cloud-amd64" >&2; exit 1; }
(cd "$tmp" && apt-get download -q "$pkg" 2>/dev/null) ||
	(cd "$tmp" && chmod 777 "$tmp" && apt-get download -q "$pkg")
dpkg -x "$tmp"/*.deb "$tmp/x"
kver=$(ls "$tmp/x/lib/modules")
depmod=$(command -v depmod || echo /sbin/depmod)
"$depmod" -b "$tmp/x" "$kver"
moddir=$tmp/x/lib/modules/$kver
rm -rf "$dir/modules.tmp" "$dir/modules"
mkdir -p "$dir/modules.tmp/$kver"
for m in $want; do
	# a module's file may spell _ as - (virtio-rng.ko)
	line=$(grep -E "/${m//_/[-_]}\.ko(\.[a-z]+)?:" "$moddir/modules.dep") ||
		{ echo "fetch-kernel: $pkg has no module $m" >&2; exit 1; }
	echo "${line%%:*}"
	for d in ${line#*:}; do echo "$d"; done
done | sort -u | while read -r rel; do
	mkdir -p "$dir/modules.tmp/$kver/$(dirname "$rel")"
	cp "$moddir/$rel" "$dir/modules.tmp/$kver/$rel"
done
cp "$moddir"/modules.{dep,alias,builtin,order} "$dir/modules.tmp/$kver/"
echo "$want" >"$dir/modules.tmp/stamp"
mv "$dir/modules.tmp" "$dir/modules"
cp "$tmp"/x/boot/vmlinuz-* "$dir/vmlinuz.tmp"
cp "$tmp"/x/boot/config-* "$dir/config"
mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
echo "fetch-kernel: $pkg -> $dir/vmlinuz"
