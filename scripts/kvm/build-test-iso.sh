#!/usr/bin/env bash
# Build the KVM test guest as a bootable ISO (El Torito, ISOLINUX): the kernel and initramfs of
# the test guest disk (scripts/kvm/build-test-image.sh, built first when needed) on an ISO 9660
# image labelled FSISO. ISOLINUX prints its banner ("ISOLINUX 6.04 ...") on the serial console
# before it loads the kernel, so a test can tell the guest booted from the CD-ROM (the disk guest
# shows SYSLINUX's); the guest then does what the disk guest does (reports its address and user
# data, stays up).
#
# Output: $OUT (default target/kvm-cache/ferrostack-test-guest.iso) and $OUT.sha256. Cached:
# rebuilt only when this script or the guest disk changes. Needs xorriso, mtools, qemu-img,
# isolinux and syslinux-common (scripts/kvm/install-packages.sh); no root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
OUT=${OUT:-$root/target/kvm-cache/ferrostack-test-guest.iso}
ISOLINUX=${ISOLINUX:-/usr/lib/ISOLINUX/isolinux.bin}
LDLINUX=${LDLINUX:-/usr/lib/syslinux/modules/bios/ldlinux.c32}
for f in "$ISOLINUX" "$LDLINUX"; do
    [ -f "$f" ] || { echo "$f is missing (isolinux, syslinux-common: scripts/kvm/install-packages.sh)" >&2; exit 1; }
done
disk=$("$here/build-test-image.sh" | tail -1 | sed 's/ (.*//')
mkdir -p "$(dirname "$OUT")"
stamp="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)-$(cut -c1-16 "$disk.sha256")"
if [ -f "$OUT" ] && [ "$(cat "$OUT.stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$OUT (cached)"
    exit 0
fi

W=$(mktemp -d "$(dirname "$OUT")/iso.XXXXXX")
trap 'rm -rf "$W"' EXIT
qemu-img convert -q -f qcow2 -O raw "$disk" "$W/disk.img"
mkdir -p "$W/cd/isolinux"
export MTOOLS_SKIP_CHECK=1
mcopy -i "$W/disk.img" ::vmlinuz "$W/cd/vmlinuz"
mcopy -i "$W/disk.img" ::initrd.gz "$W/cd/initrd.gz"
rm -f "$W/disk.img"
cp "$ISOLINUX" "$LDLINUX" "$W/cd/isolinux/"
cat > "$W/cd/isolinux/isolinux.cfg" <<'EOF'
SERIAL 0 115200
DEFAULT guest
PROMPT 0
TIMEOUT 0
LABEL guest
  KERNEL /vmlinuz
  APPEND initrd=/initrd.gz console=ttyS0 quiet loglevel=3 panic=-1
EOF
xorriso -report_about SORRY -as mkisofs -quiet -V FSISO -o "$W/guest.iso" \
    -b isolinux/isolinux.bin -c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table \
    "$W/cd"
mv "$W/guest.iso" "$OUT"
sha256sum "$OUT" | cut -d' ' -f1 > "$OUT.sha256"
echo "$stamp" > "$OUT.stamp"
echo "$OUT ($(du -h "$OUT" | cut -f1))"
