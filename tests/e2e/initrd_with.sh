# Sourced by the e2e tiers (virtio_test.sh, net_test.sh): an initramfs = the
# default one ($INITRD) + a cpio archive holding /test.sh, which the default
# /init runs with petrel.test=script. Needs $work (a scratch directory).
initrd_with() { # script-file out
	local d
	d=$(mktemp -d "$work/cpio.XXXXXX")
	cp "$1" "$d/test.sh"
	(cd "$d" && echo test.sh | cpio -o -H newc --quiet | gzip -1) >"$d.cpio.gz"
	cat "$INITRD" "$d.cpio.gz" >"$2"
}
