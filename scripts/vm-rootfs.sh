#!/usr/bin/env bash
# Builds the system test's machine: a Debian 12 root file system from
# Debian's packages (mmdebstrap), with the clonebay package installed by
# apt the way a user installs it (its Depends come from the mirror), and
# the test board put in place as an installer would. Writes OUT/root.ext4,
# OUT/vmlinuz and OUT/initrd.img.
#
#   scripts/vm-rootfs.sh DEB BOARD OUT CACHE
#
# Two steps: the base system (kernel, systemd, udev, guest agent) is
# built once for its package list and kept in CACHE as a tarball, with
# the downloaded packages; each new clonebay package is then installed
# into a copy of it, which takes a minute instead of a whole build. Set
# CLONEBAY_DEBIAN_MIRROR to use another mirror than mmdebstrap's default.
set -euo pipefail
deb=$1 board=$2 out=$3 cache=$4
fail() { echo "vm-rootfs: $*" >&2; exit 1; }
[ -f "$deb" ] || fail "no package at $deb"
[ -f "$board" ] || fail "no board file at $board"
mkdir -p "$out" "$cache/apt"

# The machine's packages.
PACKAGES="linux-image-amd64 systemd systemd-sysv udev qemu-guest-agent"

work=$(mktemp -d "${TMPDIR:-/tmp}/clonebay-rootfs.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
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
# packages stay in the download cache too, and the package lists stay in
# the base for the package's own installation.
base_args=(--mode=root --variant=minbase --format=tar --skip=essential/unlink --skip=cleanup/apt/lists
	--dpkgopt=force-unsafe-io
	--include="$(echo $PACKAGES | tr ' ' ,)"
	--dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-include=/usr/share/doc/*/copyright'
	--dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/locale/*'
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/gpu/*'
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/net/wireless/*'
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/net/ethernet/*'
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/media/*'
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/infiniband/*'
	--dpkgopt='path-exclude=/lib/modules/*/kernel/drivers/staging/*'
	--dpkgopt='path-exclude=/lib/modules/*/kernel/sound/*'
	--essential-hook="$hook_initramfs"
	--customize-hook="$hook_journal"
	bookworm)
base=$cache/base-$(printf '%s\n' "${base_args[@]}" "${mirror[@]}" | sha256sum | cut -c1-16).tar
if [ ! -f "$base" ]; then
	echo "vm-rootfs: building the base system $base"
	mmdebstrap "${base_args[@]}" \
		--setup-hook='mkdir -p "$1/var/cache/apt/archives"' \
		--setup-hook="sync-in $cache/apt /var/cache/apt/archives" \
		--customize-hook="sync-out /var/cache/apt/archives $cache/apt" \
		"$work/base.tar" "${mirror[@]}"
	mv "$work/base.tar" "$base"
	for old in "$cache"/base-*.tar; do
		[ "$old" = "$base" ] || rm -f "$old"
	done
fi

# The package, installed by apt as a user installs it, in a copy of the
# base: /dev, /proc and /sys are mounted for it in a mount namespace of
# its own, so nothing stays mounted whatever happens.
mkdir "$root"
tar -C "$root" --numeric-owner -xpf "$base"
cp "$deb" "$root/tmp/$debname"
cp -L /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
unshare --mount --fork -- sh -ec '
	root=$1 deb=$2
	mount --rbind /dev "$root/dev"
	mount -t proc proc "$root/proc"
	mount -t sysfs sysfs "$root/sys"
	chroot "$root" apt-get install -y -q --no-install-recommends "/tmp/$deb"
	chroot "$root" apt-get clean
' sh "$root" "$debname"
rm -f "$root/tmp/$debname"
install -m 0644 "$board" "$root/etc/clonebay/board.yaml"

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
