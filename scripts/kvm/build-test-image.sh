#!/usr/bin/env bash
# Build the KVM test guest: a small bootable QCOW2 disk made only from Debian packages —
# SYSLINUX on an unpartitioned FAT disk, Debian's cloud kernel, a busybox initramfs whose
# /init does what cloud-init would:
#   1. the address from the config drive's openstack/latest/network_data.json when it has
#      one (as cloud-init prefers it), else DHCP on eth0;
#   2. mounts the config-2 drive, reads openstack/latest/user_data and meta_data.json (uuid);
#   3. without user data on a drive, fetches http://<DHCP server>/latest/user-data;
#   4. prints on the serial console, one line each:
#        ferrostack-guest: ip=<ip|none> uuid=<uuid|none> userdata-sha256=<hex|none> source=<configdrive|router|none>
#        ferrostack-guest: ready
#   then stays up; an ACPI power button press (virsh shutdown) powers it off.
#
# Output: $OUT (default target/kvm-cache/ferrostack-test-guest.qcow2) and $OUT.sha256.
# Cached: rebuilt only when this script or the kernel package changes. Needs apt-get download,
# dpkg-deb, mkfs.vfat, mtools, syslinux, qemu-img (scripts/kvm/install-packages.sh); no root.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
OUT=${OUT:-$root/target/kvm-cache/ferrostack-test-guest.qcow2}
mkdir -p "$(dirname "$OUT")"
OUT=$(cd "$(dirname "$OUT")" && pwd)/$(basename "$OUT")
KPKG=$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | awk '/Depends: linux-image-/{print $2; exit}')
[ -n "$KPKG" ] || { echo "cannot resolve Debian's cloud kernel package (apt-get update?)" >&2; exit 1; }
stamp="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)-$KPKG"
if [ -f "$OUT" ] && [ "$(cat "$OUT.stamp" 2>/dev/null)" = "$stamp" ]; then
    echo "$OUT (cached)"
    exit 0
fi

W=$(mktemp -d "$(dirname "$OUT")/build.XXXXXX")
trap 'rm -rf "$W"' EXIT
chmod 755 "$W"
cd "$W"
mkdir debs && chmod 777 debs
(cd debs && apt-get download -qq "$KPKG" busybox-static)
mkdir kroot bb
dpkg-deb -x debs/"${KPKG}"_*.deb kroot
dpkg-deb -x debs/busybox-static_*.deb bb
KVER=${KPKG#linux-image-}
MODS=kroot/lib/modules/$KVER

mkdir -p initrd/{bin,etc,proc,sys,dev,tmp,run,mnt/cd,lib/modules}
cp bb/bin/busybox initrd/bin/
for a in $(initrd/bin/busybox --list); do [ "$a" = busybox ] || ln -sf busybox "initrd/bin/$a"; done
# virtio (disk, NIC), the IDE cdrom of machine `pc` (libata, ata_piix, sr_mod) and ISO 9660.
MODLIST="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net virtio_blk scsi_common scsi_mod cdrom sr_mod libata ata_piix isofs evdev button"
present=""
for m in $MODLIST; do
    f=$(find "$MODS" -name "$m.ko*" | head -1)
    if [ -n "$f" ]; then
        case "$f" in
            *.ko.xz) xz -dc "$f" > "initrd/lib/modules/$m.ko" ;;
            *.ko.zst) zstd -dqc "$f" > "initrd/lib/modules/$m.ko" ;;
            *) cp "$f" "initrd/lib/modules/$m.ko" ;;
        esac
        present="$present $m"
    fi
done

cat > initrd/etc/udhcpc.sh <<'EOF'
#!/bin/sh
case "$1" in
  deconfig) ip addr flush dev "$interface"; ip link set "$interface" up ;;
  bound|renew)
    ip addr add "$ip/${mask:-24}" dev "$interface"
    [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
    echo "$ip" > /run/ip; echo "$serverid" > /run/server ;;
esac
EOF
cat > initrd/etc/poweroff.sh <<'EOF'
#!/bin/sh
echo "ferrostack-guest: power button, powering off" > /dev/console
poweroff -f
EOF
cat > initrd/init <<EOF
#!/bin/sh
export PATH=/bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in $present; do insmod /lib/modules/\$m.ko 2>/dev/null; done
ip link set lo up
ip link set eth0 up 2>/dev/null
# ACPI power button (virsh shutdown): busybox acpid maps KEY_POWER (evdev) to the event
# PWRF/00000080 and runs the file of that name under its config directory.
mkdir -p /etc/acpi/PWRF
cp /etc/poweroff.sh /etc/acpi/PWRF/00000080
acpid -c /etc/acpi -l /tmp/acpid.log -p /run/acpid.pid
# a config drive, if any (up to 5 s for the cdrom to appear)
i=0; while [ \$i -lt 50 ]; do DEV=\$(findfs LABEL=config-2 2>/dev/null) && break; sleep 0.1; i=\$((i+1)); done
CD=""
if [ -n "\$DEV" ] && mount -t iso9660 -o ro "\$DEV" /mnt/cd 2>/dev/null; then CD=/mnt/cd/openstack/latest; fi
IP=none; SRC=none; UUID=none; SUM=none
# the first ipv4 network of the drive's network_data.json (one line of JSON; no jq in busybox)
A=""
if [ -n "\$CD" ] && [ -f \$CD/network_data.json ]; then
  ND=\$(tr -d '\n ' < \$CD/network_data.json)
  NET=\$(echo "\$ND" | sed -n 's/.*"networks":\[\([^]]*\)\].*/\1/p')
  A=\$(echo "\$NET" | sed -n 's/.*"ip_address":"\([0-9.]*\)".*/\1/p')
  M=\$(echo "\$NET" | sed -n 's/.*"netmask":"\([0-9.]*\)".*/\1/p')
  G=\$(echo "\$NET" | sed -n 's/.*"gateway":"\([0-9.]*\)".*/\1/p')
fi
if [ -n "\$A" ]; then
  P=24
  [ -n "\$M" ] && P=\$(ipcalc -p "\$A" "\$M" 2>/dev/null | sed -n 's/PREFIX=//p')
  ip addr add "\$A/\${P:-24}" dev eth0 && IP=\$A
  [ -n "\$G" ] && ip route add default via "\$G" dev eth0 2>/dev/null
elif udhcpc -i eth0 -s /etc/udhcpc.sh -n -q -t 4 -T 1 >/dev/null 2>&1 && [ -s /run/ip ]; then
  IP=\$(cat /run/ip)
fi
if [ -n "\$CD" ] && [ -f \$CD/meta_data.json ]; then
  U=\$(tr -d '\n' < \$CD/meta_data.json | sed -n 's/.*"uuid": *"\([^"]*\)".*/\1/p')
  [ -n "\$U" ] && UUID=\$U
fi
if [ -n "\$CD" ] && [ -f \$CD/user_data ]; then
  SUM=\$(sha256sum \$CD/user_data | cut -d' ' -f1); SRC=configdrive
elif [ -s /run/server ]; then
  if timeout 5 wget -q -O /tmp/user-data "http://\$(cat /run/server)/latest/user-data" 2>/dev/null && [ -s /tmp/user-data ]; then
    SUM=\$(sha256sum /tmp/user-data | cut -d' ' -f1); SRC=router
  fi
  if [ "\$UUID" = none ] && timeout 5 wget -q -O /tmp/iid "http://\$(cat /run/server)/latest/meta-data/vm-id" 2>/dev/null; then
    [ -s /tmp/iid ] && UUID=\$(cat /tmp/iid)
  fi
fi
echo "ferrostack-guest: ip=\$IP uuid=\$UUID userdata-sha256=\$SUM source=\$SRC"
echo "ferrostack-guest: ready"
while true; do sleep 3600; done
EOF
chmod +x initrd/init initrd/etc/udhcpc.sh initrd/etc/poweroff.sh
(cd initrd && find . | ../bb/bin/busybox cpio -o -H newc 2>/dev/null | gzip -1) > initrd.gz

cat > syslinux.cfg <<'EOF'
DEFAULT guest
PROMPT 0
TIMEOUT 0
SERIAL 0 115200
LABEL guest
  KERNEL vmlinuz
  APPEND initrd=initrd.gz console=ttyS0 quiet loglevel=3 panic=-1
EOF
kb=$(( ( $(stat -c %s "kroot/boot/vmlinuz-$KVER") + $(stat -c %s initrd.gz) ) / 1024 + 4096 ))
mkfs.vfat -C -n FSGUEST disk.img "$kb" >/dev/null
syslinux --install disk.img
export MTOOLS_SKIP_CHECK=1
mcopy -i disk.img "kroot/boot/vmlinuz-$KVER" ::vmlinuz
mcopy -i disk.img initrd.gz ::initrd.gz
mcopy -i disk.img syslinux.cfg ::syslinux.cfg
qemu-img convert -q -f raw -O qcow2 disk.img guest.qcow2
mv guest.qcow2 "$OUT"
sha256sum "$OUT" | cut -d' ' -f1 > "$OUT.sha256"
echo "$stamp" > "$OUT.stamp"
echo "$OUT ($(du -h "$OUT" | cut -f1))"
