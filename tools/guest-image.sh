#!/usr/bin/env bash
# A minimal KVM/TCG guest for the vhost-user tests (issue 18): Debian's own kernel, taken from
# the linux-image package without installing it, and a busybox initramfs that loads the
# virtio-net modules and then runs the guest script given (it becomes /guest.sh).
#
# Usage: tools/guest-image.sh DIR GUEST_SCRIPT     -> DIR/vmlinuz, DIR/initrd.gz
# Needs: busybox-static, cpio (tools/setup.sh), and the Debian mirror for the kernel package
# (downloaded once into /var/cache/gannet/guest-kernel).
set -euo pipefail
out=$1 script=$2
cache=/var/cache/gannet/guest-kernel
if [ ! -f "$cache/vmlinuz" ]; then
  mkdir -p "$cache/deb"
  pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
  (cd "$cache/deb" && apt-get download -qq "$pkg")
  dpkg-deb -x "$cache"/deb/*.deb "$cache/root"
  cp "$cache"/root/boot/vmlinuz-* "$cache/vmlinuz.tmp"
  mkdir -p "$cache/modules"
  for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
    f=$(find "$cache/root/lib/modules" -name "$m.ko" -o -name "$m.ko.xz" | head -1)
    [ -n "$f" ] || { echo "guest-image: no $m in $pkg" >&2; exit 1; }
    case $f in *.xz) xz -dc "$f" > "$cache/modules/$m.ko" ;; *) cp "$f" "$cache/modules/$m.ko" ;; esac
  done
  rm -rf "$cache/root" "$cache/deb"
  mv "$cache/vmlinuz.tmp" "$cache/vmlinuz"
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work"/{bin,lib/modules,proc,sys,dev,tmp}
cp "$(command -v busybox)" "$work/bin/busybox"
cp "$cache"/modules/*.ko "$work/lib/modules/"
cp "$script" "$work/guest.sh"
cat > "$work/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
  insmod /lib/modules/$m.ko
done
sh /guest.sh
echo GUEST-DONE
poweroff -f
INIT
chmod +x "$work/init" "$work/guest.sh"
mkdir -p "$out"
(cd "$work" && find . | cpio -o -H newc 2>/dev/null | gzip > "$out/initrd.gz")
cp "$cache/vmlinuz" "$out/vmlinuz"
