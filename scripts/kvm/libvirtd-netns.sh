#!/usr/bin/env bash
# A private libvirtd inside a network namespace of its own, for tests and for trying a KVM
# host on a machine without touching its networking (reference/kvm-on-this-machine.md §2).
#
#   libvirtd-netns.sh up   DIR NS   create namespace NS and start libvirtd in it; state under DIR/lv
#   libvirtd-netns.sh down DIR NS   destroy the domains it runs, stop it, delete NS
#
# `up` prints the libvirt URI (qemu:///system?socket=DIR/lv/run/libvirt-sock). The QEMU
# capability cache is kept in $LIBVIRT_CACHE (default target/kvm-cache/libvirt-cache) so the
# ~7 s probe runs once. Bridges and taps live only in NS; nothing is created in the caller's
# namespace. Needs root, ip, libvirtd, virsh.
set -euo pipefail
cmd=${1:?usage: libvirtd-netns.sh up|down DIR NS}
D=$(realpath -m "${2:?DIR}")
NS=${3:?NS}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${LIBVIRT_CACHE:-$(cd "$here/../.." && pwd)/target/kvm-cache/libvirt-cache}
URI="qemu:///system?socket=$D/lv/run/libvirt-sock"

case "$cmd" in
up)
    mkdir -p "$D"/lv/{etc,lib,run,log} "$CACHE"
    cat > "$D/lv/etc/qemu.conf" <<'CONF'
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
stdio_handler = "file"
namespaces = [ ]
CONF
    cat > "$D/lv/etc/libvirtd.conf" <<'CONF'
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
log_outputs = "3:file:/var/log/libvirt/libvirtd.log"
CONF
    cat > "$D/lv/start.sh" <<START
#!/bin/sh
set -e
for d in /etc/libvirt /var/lib/libvirt /var/log/libvirt /var/cache/libvirt /run/libvirt; do mkdir -p \$d; done
mount --bind $D/lv/etc /etc/libvirt; mount --bind $D/lv/lib /var/lib/libvirt
mount --bind $D/lv/log /var/log/libvirt; mount --bind $CACHE /var/cache/libvirt
mount --bind $D/lv/run /run/libvirt
# 'ip netns exec' remounted /sys: put the cgroup v1 hierarchies back for libvirt
mount -t tmpfs cgroup_root /sys/fs/cgroup
for c in cpu cpuacct cpuset memory devices freezer blkio pids; do mkdir -p /sys/fs/cgroup/\$c; mount -t cgroup -o \$c cgroup /sys/fs/cgroup/\$c 2>/dev/null || true; done
mkdir -p /sys/fs/cgroup/unified; mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified 2>/dev/null || true
exec /usr/sbin/libvirtd -d -p $D/lv/libvirtd.pid
START
    chmod +x "$D/lv/start.sh"
    getent passwd libvirt-qemu >/dev/null || useradd --system --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin --user-group libvirt-qemu
    ip netns add "$NS"
    ip -n "$NS" link set lo up
    ip netns exec "$NS" "$D/lv/start.sh"
    for _ in $(seq 1 100); do [ -S "$D/lv/run/libvirt-sock" ] && break; sleep 0.1; done
    [ -S "$D/lv/run/libvirt-sock" ] || { echo "libvirtd did not start; see $D/lv/log/libvirtd.log" >&2; exit 1; }
    virsh -c "$URI" capabilities >/dev/null   # the first probe fills the cache
    echo "$URI"
    ;;
down)
    set +e
    if [ -S "$D/lv/run/libvirt-sock" ]; then
        for d in $(virsh -c "$URI" list --all --name 2>/dev/null); do
            virsh -c "$URI" destroy "$d" >/dev/null 2>&1
            virsh -c "$URI" undefine "$d" >/dev/null 2>&1
        done
    fi
    if [ -f "$D/lv/libvirtd.pid" ]; then
        pid=$(cat "$D/lv/libvirtd.pid")
        kill "$pid" 2>/dev/null
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null
    fi
    # QEMU processes of this libvirtd (by its state dir in their command line), if any survived
    pkill -9 -f "$D/lv/lib/qemu" 2>/dev/null
    if ip netns list | grep -qw "$NS"; then
        for p in $(ip netns pids "$NS" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
        sleep 0.2
        ip netns del "$NS"
    fi
    for d in /sys/fs/cgroup/*/machine; do [ -d "$d" ] && rmdir "$d" 2>/dev/null; done
    exit 0
    ;;
*) echo "usage: libvirtd-netns.sh up|down DIR NS" >&2; exit 2 ;;
esac
