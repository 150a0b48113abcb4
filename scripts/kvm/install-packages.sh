#!/usr/bin/env bash
# Install what KVM hosts and the KVM test suite need on Debian 12 (bookworm), the recipe of
# reference/kvm-on-this-machine.md: QEMU from bookworm-backports (the machine's qemu-utils is the
# backports build, which bookworm's qemu-system would remove), libvirt 9.0 from bookworm,
# libvirt-dev + pkg-config to build the agent, dnsmasq, ISO and boot-image tools. Idempotent;
# installs nothing when everything is present. Needs root.
set -euo pipefail

need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu)
command -v libvirtd >/dev/null || need+=(libvirtd)
command -v virsh >/dev/null || need+=(virsh)
pkg-config --exists libvirt 2>/dev/null || need+=(libvirt-dev)
command -v qemu-img >/dev/null || need+=(qemu-img)
for c in dnsmasq xorriso mcopy mkfs.vfat syslinux; do command -v "$c" >/dev/null || need+=("$c"); done
[ -f /usr/lib/syslinux/mbr/mbr.bin ] || [ -d /usr/lib/syslinux/modules ] || need+=(syslinux-common)
[ -f /usr/lib/ISOLINUX/isolinux.bin ] || need+=(isolinux)

if [ "${#need[@]}" -gt 0 ]; then
    echo "installing KVM packages (missing: ${need[*]})"
    if [ ! -f /etc/apt/sources.list.d/bookworm-backports.list ]; then
        uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
        echo "deb ${uri:-http://deb.debian.org/debian} bookworm-backports main" > /etc/apt/sources.list.d/bookworm-backports.list
    fi
    apt-get update -qq
    # Keep apt from starting daemons (there is no init system to hand them to).
    if [ ! -e /usr/sbin/policy-rc.d ]; then printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d; chmod +x /usr/sbin/policy-rc.d; fi
    qemu_pkgs=(qemu-system-x86/bookworm-backports qemu-system-common/bookworm-backports
               qemu-system-data/bookworm-backports seabios/bookworm-backports)
    # qemu-img: keep the machine's (backports) build; install it from backports if absent.
    command -v qemu-img >/dev/null || qemu_pkgs+=(qemu-utils/bookworm-backports)
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -o DPkg::Lock::Timeout=600 --no-install-recommends \
        "${qemu_pkgs[@]}" libvirt-daemon libvirt-daemon-driver-qemu libvirt-clients libvirt-dev pkg-config \
        dnsmasq-base xorriso genisoimage syslinux syslinux-common isolinux mtools dosfstools
fi
# libvirtd 9.0 resolves its compiled-in default user before reading qemu.conf.
getent passwd libvirt-qemu >/dev/null || useradd --system --no-create-home --home-dir /nonexistent \
    --shell /usr/sbin/nologin --user-group libvirt-qemu
