#!/usr/bin/env bash
# Prepares the nested test VM's L1: Debian's standard kernel (which has
# kvm-amd, virtio and 9p as modules) and a small busybox initramfs holding
# just the modules L1 needs, cached in DIR (default .cache/nested).
#   - the kernel and modules come from linux-image-amd64 via apt-get download
#     + dpkg -x: nothing is installed on the host;
#   - modules.dep is made with depmod, since the package does not ship it.
# Prints nothing but errors on a warm cache. Every failure names its step.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${1:-.cache/nested}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
here=$(cd tests/nested && pwd)
fail() { echo "nested: $*" >&2; exit 1; }

# Stamp: the initramfs is rebuilt when the init script or this file changes.
stamp=$(cat "$here/l1-init" "$here/prepare.sh" "$here/kvm_keeper.c" | md5sum | cut -c1-16)
if [ -s "$dir/vmlinuz" ] && [ -s "$dir/initrd.img" ] && [ "$(cat "$dir/stamp" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi

for tool in qemu-system-x86_64 busybox cpio depmod apt-get dpkg cc; do
	command -v "$tool" >/dev/null || [ -x "/sbin/$tool" ] ||
		fail "step 'tools': $tool is missing (tools/deps.sh installs it)"
done
depmod=$(command -v depmod || echo /sbin/depmod)
bb=/bin/busybox
[ -x "$bb" ] || bb=$(command -v busybox)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# step 1: the L1 kernel package (the versioned package the metapackage names)
pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
if [ -z "$pkg" ]; then
	apt-get update -q >/dev/null 2>&1 || true
	pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
fi
[ -n "$pkg" ] || fail "step 'L1 kernel': apt-cache cannot resolve linux-image-amd64"
if [ ! -s "$dir/$pkg.deb" ]; then
	rm -f "$dir"/linux-image-*.deb
	chmod 777 "$tmp"
	(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
		fail "step 'L1 kernel': apt-get download $pkg failed"
	mv "$tmp"/*.deb "$dir/$pkg.deb"
fi
dpkg -x "$dir/$pkg.deb" "$tmp/x" || fail "step 'L1 kernel': dpkg -x $pkg.deb failed"
kver=$(ls "$tmp/x/lib/modules")
[ -n "$kver" ] || fail "step 'L1 kernel': $pkg has no modules"
"$depmod" -b "$tmp/x" "$kver" || fail "step 'L1 modules': depmod failed"

# step 2: the initramfs: busybox, the module closure, /init
root=$tmp/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,host,etc} "$root/lib/modules/$kver"
cp "$bb" "$root/bin/busybox"
for app in sh mount umount mkdir cat echo modprobe insmod poweroff chroot sleep \
	   grep ls setsid cttyhack stty sync mountpoint dmesg ln env; do
	ln -sf busybox "$root/bin/$app"
done
moddir=$tmp/x/lib/modules/$kver
want="kvm-amd 9p 9pnet_virtio virtio_pci tun" # tun: the net tier's taps
closure() { # module name -> its path and its dependencies' paths
	local line
	line=$(grep -E "/$1\.ko(\.[a-z]+)?:" "$moddir/modules.dep") ||
		fail "step 'L1 modules': no module $1 in $pkg"
	echo "${line%%:*}"
	for d in ${line#*:}; do echo "$d"; done
}
for m in $want; do closure "$m"; done | sort -u >"$tmp/mods"
while read -r rel; do
	mkdir -p "$root/lib/modules/$kver/$(dirname "$rel")"
	cp "$moddir/$rel" "$root/lib/modules/$kver/$rel"
done <"$tmp/mods"
cp "$moddir"/modules.{dep,alias,symbols,builtin,order} "$root/lib/modules/$kver/" 2>/dev/null || true
cp "$moddir/modules.dep" "$root/lib/modules/$kver/"
cc -O2 -static -Wall -Wextra -Werror -o "$root/bin/kvm_keeper" "$here/kvm_keeper.c" ||
	fail "step 'L1 initramfs': cannot build kvm_keeper.c (needs gcc and libc6-dev)"
cp "$here/l1-init" "$root/init"
chmod +x "$root/init"
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --quiet | gzip -1) >"$dir/initrd.img.tmp" ||
	fail "step 'L1 initramfs': cpio failed"
cp "$tmp"/x/boot/vmlinuz-* "$dir/vmlinuz.tmp"
mv "$dir/initrd.img.tmp" "$dir/initrd.img"
mv "$dir/vmlinuz.tmp" "$dir/vmlinuz"
echo "$stamp" >"$dir/stamp"
echo "nested: L1 is $pkg ($(wc -l <"$tmp/mods") modules), cached in $dir" >&2
