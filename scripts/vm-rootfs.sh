#!/usr/bin/env bash
# Builds the system test's machine: a Debian 12 root file system from
# Debian's packages (mmdebstrap), with the clonebay package installed by
# apt the way a user installs it (its Depends come from the mirror), and
# the test board put in place as an installer would. Writes OUT/root.ext4,
# OUT/vmlinuz and OUT/initrd.img.
#
#   scripts/vm-rootfs.sh DEB BOARD OUT APTCACHE
#
# APTCACHE keeps the downloaded packages between builds, so a new
# clonebay package costs an install, not a download. Set
# CLONEBAY_DEBIAN_MIRROR to use another mirror than mmdebstrap's default.
set -euo pipefail
deb=$1 board=$2 out=$3 aptcache=$4
fail() { echo "vm-rootfs: $*" >&2; exit 1; }
[ -f "$deb" ] || fail "no package at $deb"
[ -f "$board" ] || fail "no board file at $board"
mkdir -p "$out" "$aptcache"

# The machine's packages; the system test's cache key includes this line.
PACKAGES="linux-image-amd64 systemd systemd-sysv udev qemu-guest-agent"

work=$(mktemp -d "${TMPDIR:-/tmp}/clonebay-rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
cp "$deb" "$work/"
debname=$(basename "$deb")

# The initrd needs only what finds the root file system on a virtio disk:
# a short list builds and boots much faster than Debian's "most".
hook_initramfs='mkdir -p "$1/etc/initramfs-tools/conf.d" "$1/usr/share/initramfs-tools/modules.d"
echo MODULES=list >"$1/etc/initramfs-tools/conf.d/system-test.conf"
printf "%s\n" virtio_pci virtio_blk ext4 >"$1/usr/share/initramfs-tools/modules.d/system-test"'

# The journal goes to the serial console too: the test reads the
# appliance's log lines there the moment they are written.
hook_journal='mkdir -p "$1/etc/systemd/journald.conf.d"
printf "[Journal]\nForwardToConsole=yes\nTTYPath=/dev/ttyS0\nMaxLevelConsole=info\n" >"$1/etc/systemd/journald.conf.d/console.conf"
echo clonebay-vm >"$1/etc/hostname"
# The USB storage drivers are loaded at boot, not at the first plug: under
# QEMU without KVM loading a module takes seconds that real hardware does
# not spend, and the test times each plug.
printf "%s\n" usb_storage uas sd_mod >"$1/etc/modules-load.d/system-test.conf"'

mirror=()
[ -n "${CLONEBAY_DEBIAN_MIRROR:-}" ] && mirror=("$CLONEBAY_DEBIAN_MIRROR")

# force-unsafe-io: the tree is thrown away on a crash anyway, and dpkg's
# fsync of every file costs minutes on a busy disk. The essential
# packages stay in the download cache too.
mmdebstrap --mode=root --variant=minbase --format=directory --skip=essential/unlink \
	--dpkgopt=force-unsafe-io \
	--include="$(echo $PACKAGES | tr ' ' ,)" \
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright' \
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/gpu/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/net/wireless/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/net/ethernet/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/media/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/infiniband/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/staging/*' \
	--dpkgopt='path-exclude=/lib/modules/*/kernel/sound/*' \
	--setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
	--setup-hook="sync-in $aptcache /var/cache/apt/archives" \
	--essential-hook="$hook_initramfs" \
	--customize-hook="$hook_journal" \
	--customize-hook="copy-in $work/$debname /tmp" \
	--customize-hook="chroot \"\$1\" apt-get install -y --no-install-recommends /tmp/$debname" \
	--customize-hook="rm -f \"\$1/tmp/$debname\"" \
	--customize-hook="copy-in $board /etc/clonebay" \
	--customize-hook="mv \"\$1/etc/clonebay/$(basename "$board")\" \"\$1/etc/clonebay/board.yaml\"" \
	--customize-hook="sync-out /var/cache/apt/archives $aptcache" \
	bookworm "$root" "${mirror[@]}"

# What the package's installation must have done, checked before boot.
[ -x "$root/usr/bin/clonebay" ] || fail "the package did not install /usr/bin/clonebay"
[ -L "$root/etc/systemd/system/multi-user.target.wants/clonebay.service" ] ||
	fail "installing the package did not enable clonebay.service"

kernel=$(ls "$root"/boot/vmlinuz-* | sort -V | tail -1)
initrd=$(ls "$root"/boot/initrd.img-* | sort -V | tail -1)
[ -f "$kernel" ] && [ -f "$initrd" ] || fail "no kernel or initrd in the root file system"
cp "$kernel" "$out/vmlinuz.new"
cp "$initrd" "$out/initrd.img.new"
# Room for the journal and the appliance's state beyond what is there.
size_mib=$(( $(du -sm "$root" | cut -f1) + 256 ))
rm -f "$out/root.ext4.new"
mkfs.ext4 -q -L clonebay-root -d "$root" "$out/root.ext4.new" "${size_mib}M"
for f in vmlinuz initrd.img root.ext4; do mv "$out/$f.new" "$out/$f"; done
echo "vm-rootfs: $out (root file system ${size_mib} MiB)"
