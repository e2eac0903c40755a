package vmtest_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clonebay/clonebay/internal/vmtest"
)

func TestAppLog(t *testing.T) {
	onPort := `[   95.123456] clonebay[412]: time=2026-03-01T10:00:00.000Z level=INFO msg="drive on port" port=3 label=3 node=/dev/sdc model="QEMU HARDDISK" size=50331648`
	for _, tc := range []struct {
		name, line, msg string
		want            map[string]string
	}{
		{"the appliance's line", onPort, "drive on port", map[string]string{
			"time": "2026-03-01T10:00:00.000Z", "level": "INFO", "msg": "drive on port",
			"port": "3", "label": "3", "node": "/dev/sdc", "model": "QEMU HARDDISK", "size": "50331648"}},
		{"another message", onPort, "drive removed", nil},
		{"any message", `clonebay[412]: level=WARN msg="copy area" err="busy"`, "", map[string]string{"level": "WARN", "msg": "copy area", "err": "busy"}},
		{"a quote inside a value", `clonebay[1]: msg="job port result" port=2 reason="target \"2\" is smaller"`, "job port result",
			map[string]string{"msg": "job port result", "port": "2", "reason": `target "2" is smaller`}},
		{"another program", `[   95.2] systemd[1]: msg="drive on port" port=3`, "drive on port", nil},
		{"a kernel line", `[   81.5] usb 1-1.3: new full-speed USB device number 3 using xhci_hcd`, "drive on port", nil},
		{"not key=value", `clonebay[412]: panic: runtime error`, "drive on port", nil},
		{"an unclosed quote", `clonebay[412]: msg="drive on port port=3`, "drive on port", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, vmtest.AppLog(tc.line, tc.msg))
		})
	}
}

func TestProperties(t *testing.T) {
	props := vmtest.Properties("DEVNAME=/dev/sda\nID_PATH=pci-0000:00:08.0-usb-0:1.3:1.0-scsi-0:0:0:0\nUDISKS_IGNORE=1\n\n")
	assert.Equal(t, map[string]string{
		"DEVNAME": "/dev/sda", "ID_PATH": "pci-0000:00:08.0-usb-0:1.3:1.0-scsi-0:0:0:0", "UDISKS_IGNORE": "1",
	}, props)
}
