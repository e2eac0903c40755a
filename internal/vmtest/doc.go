// Package vmtest runs the appliance as it ships, in a QEMU virtual
// machine: a Debian system with systemd and udev of its own and the
// clonebay package installed, drives hot-plugged as usb-storage devices
// on the ports of an emulated USB hub, commands run in the guest through
// the QEMU guest agent, and its serial console read line by line.
//
// The system test itself (built with -tags systemtest, run by `make
// system-test`) boots that machine; the clients here (QMP, guest agent,
// console, drive images) are tested on their own with QEMU alone.
//
// vmtest is test tooling: no package of the firmware may import it.
package vmtest
