//go:build linux

package hotplug

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
)

// sysTree writes files (path relative to the root: content) into a fake
// sysfs.
func sysTree(t *testing.T, files map[string]string) Sysfs {
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
	}
	return Sysfs(root)
}

// A USB stick as sysfs shows it: the serial number sits on the USB device,
// three device folders above the disk; vendor and model on the SCSI
// device.
const (
	usbDev  = "/devices/pci0000:00/0000:00:14.0/usb2/2-1"
	scsiDev = usbDev + "/2-1:1.0/host6/target6:0:0/6:0:0:0"
	stickAt = scsiDev + "/block/sdb"
)

var stickFiles = map[string]string{
	usbDev + "/uevent":                     "DEVTYPE=usb_device\n",
	usbDev + "/serial":                     "4C530001231219115235\n",
	usbDev + "/2-1:1.0/uevent":             "DEVTYPE=usb_interface\n",
	scsiDev + "/uevent":                    "DEVTYPE=scsi_device\n",
	scsiDev + "/vendor":                    "SanDisk \n",
	scsiDev + "/model":                     "Cruzer Blade    \n",
	stickAt + "/uevent":                    "DEVNAME=sdb\nDEVTYPE=disk\n",
	stickAt + "/size":                      "15633408\n",
	stickAt + "/removable":                 "1\n",
	stickAt + "/ro":                        "0\n",
	stickAt + "/queue/logical_block_size":  "512\n",
	stickAt + "/queue/physical_block_size": "4096\n",
}

func TestRead(t *testing.T) {
	fs := sysTree(t, stickFiles)
	// sysfs links the disk's device folder to its parent.
	require.NoError(t, os.Symlink(filepath.Join(string(fs), scsiDev), filepath.Join(string(fs), stickAt, "device")))

	fromSysfs := hal.DriveInfo{
		Node: "/dev/sdb", Path: stickAt, Vendor: "SanDisk", Model: "Cruzer Blade", Serial: "4C530001231219115235",
		Bus: hal.BusUSB, Size: 15633408 * 512, LogicalSectorSize: 512, PhysicalSectorSize: 4096, Removable: true,
	}
	fromUdev := fromSysfs
	fromUdev.Path = "pci-0000:00:14.0-usb-0:1:1.0-scsi-0:0:0:0"
	fromUdev.Vendor, fromUdev.Model, fromUdev.Serial = "SanDisk'", "Cruzer Blade", "4C53-0001"

	for _, tc := range []struct {
		name  string
		props map[string]string
		want  hal.DriveInfo
		media bool
	}{
		{"kernel event: identity from sysfs", map[string]string{"DEVNAME": "sdb"}, fromSysfs, false},
		{"no DEVNAME: the node is named after the device", nil, fromSysfs, false},
		{"udev event: udev's properties win", map[string]string{
			"DEVNAME": "/dev/sdb", "ID_PATH": fromUdev.Path, "ID_VENDOR": "SanDisk'", "ID_MODEL": "Cruzer_Blade",
			"ID_SERIAL_SHORT": "4C53-0001", "ID_BUS": "usb",
		}, fromUdev, false},
		{"the media changed", map[string]string{"DEVNAME": "sdb", "DISK_MEDIA_CHANGE": "1"}, fromSysfs, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := fs.Read(stickAt, func(k string) string { return tc.props[k] })
			assert.Equal(t, stickAt, d.DevPath)
			assert.Equal(t, tc.want, d.Info)
			assert.Equal(t, tc.media, d.MediaChange)
		})
	}

	t.Run("udev's bus names", func(t *testing.T) {
		for idBus, want := range map[string]hal.Bus{"usb": hal.BusUSB, "ata": hal.BusSATA, "scsi": hal.BusUSB, "": hal.BusUSB} {
			d := fs.Read(stickAt, func(k string) string { return map[string]string{"ID_BUS": idBus}[k] })
			assert.Equal(t, want, d.Info.Bus, "ID_BUS=%q on a USB path", idBus)
		}
	})

	t.Run("a removed device reads as empty", func(t *testing.T) {
		d := fs.Read("/devices/virtual/block/loop9", func(k string) string { return map[string]string{"DEVNAME": "loop9"}[k] })
		assert.Equal(t, hal.DriveInfo{Node: "/dev/loop9", Path: "/devices/virtual/block/loop9", Bus: hal.BusLoop,
			LogicalSectorSize: 512, PhysicalSectorSize: 512}, d.Info)
	})
}

func TestReadSerialOnlyFromDevices(t *testing.T) {
	// A "serial" file in a folder that is no device (no uevent file) is
	// not a serial number.
	files := map[string]string{
		"/devices/platform/mmc/serial":                            "0xnotadevice\n",
		"/devices/platform/mmc/mmc0/uevent":                       "",
		"/devices/platform/mmc/mmc0/mmc0:0001/uevent":             "MMC_TYPE=SD\n",
		"/devices/platform/mmc/mmc0/mmc0:0001/serial":             "0x1234abcd\n",
		"/devices/platform/mmc/mmc0/mmc0:0001/block/mmcblk0/size": "62333952\n",
		"/devices/platform/other/serial":                          "0xnotadevice\n",
		"/devices/platform/other/block/mmcblk1/size":              "8\n",
	}
	fs := sysTree(t, files)
	sd := fs.Read("/devices/platform/mmc/mmc0/mmc0:0001/block/mmcblk0", func(string) string { return "" })
	assert.Equal(t, "0x1234abcd", sd.Info.Serial)
	assert.Equal(t, hal.BusSD, sd.Info.Bus)
	other := fs.Read("/devices/platform/other/block/mmcblk1", func(string) string { return "" })
	assert.Empty(t, other.Info.Serial)
}

func TestReadCardID(t *testing.T) {
	const (
		card = "/devices/platform/emmc2bus/fe340000.mmc/mmc_host/mmc0/mmc0:aaaa"
		disk = card + "/block/mmcblk0"
	)
	for _, tc := range []struct {
		name string
		cid  string // the card's cid attribute; "-" for none
		want string
	}{
		{"an SD card", "035344534c3038478062b1c57b013d00\n", "035344534c3038478062b1c57b013d00"},
		{"upper case is the same card", "035344534C3038478062B1C57B013D00\n", "035344534c3038478062b1c57b013d00"},
		{"too short is no CID", "0353445\n", ""},
		{"not hex is no CID", "zz5344534c3038478062b1c57b013d00\n", ""},
		{"no cid attribute", "-", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{
				card + "/uevent": "MMC_TYPE=SD\n",
				card + "/serial": "0x7b013d00\n",
				disk + "/uevent": "DEVNAME=mmcblk0\nDEVTYPE=disk\n",
				disk + "/size":   "62333952\n",
			}
			if tc.cid != "-" {
				files[card+"/cid"] = tc.cid
			}
			fs := sysTree(t, files)
			// sysfs links the disk's device folder to the card.
			require.NoError(t, os.Symlink(filepath.Join(string(fs), card), filepath.Join(string(fs), disk, "device")))
			d := fs.Read(disk, func(string) string { return "" })
			assert.Equal(t, tc.want, d.Info.CID)
			assert.Equal(t, "0x7b013d00", d.Info.Serial, "the card's serial is read as before")
			assert.Equal(t, hal.BusSD, d.Info.Bus)
		})
	}

	t.Run("a USB stick has no CID", func(t *testing.T) {
		fs := sysTree(t, stickFiles)
		require.NoError(t, os.Symlink(filepath.Join(string(fs), scsiDev), filepath.Join(string(fs), stickAt, "device")))
		assert.Empty(t, fs.Read(stickAt, func(string) string { return "" }).Info.CID)
	})
}
