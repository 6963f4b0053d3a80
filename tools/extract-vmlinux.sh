#!/usr/bin/env bash
# Extracts the ELF vmlinux from a bzImage: its payload (setup header fields
# payload_offset/payload_length) through the matching decompressor's CLI.
#   tools/extract-vmlinux.sh BZIMAGE OUT
set -euo pipefail
in=${1:?usage: extract-vmlinux.sh BZIMAGE OUT}
out=${2:?usage: extract-vmlinux.sh BZIMAGE OUT}
u8() { od -An -tu1 -j "$1" -N1 "$in" | tr -d ' '; }
u32() { od -An -tu4 -j "$1" -N4 "$in" | tr -d ' '; }
[ "$(od -An -c -j 0x202 -N4 "$in" | tr -d ' ')" = HdrS ] || { echo "extract-vmlinux: $in is not a bzImage" >&2; exit 1; }
setup_sects=$(u8 0x1f1)
[ "$setup_sects" -eq 0 ] && setup_sects=4
start=$(( (setup_sects + 1) * 512 + $(u32 0x248) ))
len=$(u32 0x24c)
payload() { dd if="$in" iflag=skip_bytes,count_bytes skip="$start" count="$1" bs=1M status=none; }
magic=$(payload 4 | od -An -tx1 | tr -d ' \n')
case $magic in
1f8b*) payload "$len" | gzip -dc >"$out.tmp" ;;
fd377a58) payload "$len" | xz -dc --single-stream >"$out.tmp" ;;
28b52ffd) payload "$len" | zstd -dcq >"$out.tmp" ;;
# Linux appends the uncompressed size (4 bytes) after an LZ4 legacy stream
02214c18) payload $((len - 4)) | lz4 -dcq >"$out.tmp" ;;
*) echo "extract-vmlinux: payload magic $magic: not gzip, xz, zstd or lz4" >&2; exit 1 ;;
esac
[ "$(od -An -c -N4 "$out.tmp" | tr -d ' ')" = 177ELF ] || { rm -f "$out.tmp"; echo "extract-vmlinux: the payload of $in is not an ELF" >&2; exit 1; }
mv "$out.tmp" "$out"
