#!/usr/bin/env bash
# Installs the Debian packages petrel needs to build, test and run its default
# guest, but only those missing (so a warm machine pays nothing).
set -euo pipefail
pkgs=(build-essential pkg-config zlib1g-dev liblzma-dev libzstd-dev liblz4-dev
      libbz2-dev libcmocka-dev liburing-dev busybox-static cpio qemu-system-x86 seabios
      ipxe-qemu gdb kmod lz4 xz-utils zstd bzip2 clang libclang-rt-14-dev e2fsprogs
      libslirp-dev iproute2 python3 acpica-tools libmicrohttpd-dev libjansson-dev curl
      libseccomp-dev)
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "petrel: installing ${missing[*]}"
$sudo apt-get update -q
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
