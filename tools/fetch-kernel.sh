#!/usr/bin/env bash
# Fetches Debian's linux-image-cloud-amd64 kernel (the default guest) into
# DIR/vmlinuz without installing it on the host: apt-get download + dpkg -x.
set -euo pipefail
dir=${1:-.cache}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[ -s "$dir/vmlinuz" ] && exit 0
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
cp "$tmp"/x/boot/vmlinuz-* "$dir/vmlinuz.tmp"
cp "$tmp"/x/boot/config-* "$dir/config"
mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
echo "fetch-kernel: $pkg -> $dir/vmlinuz"
