package disk_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clonebay/clonebay/engine/disk"
)

// TestIdentify names the file system of every seed image the real mkfs
// tools made, and nothing on bytes that only look like one.
func TestIdentify(t *testing.T) {
	for _, tc := range []struct{ seed, want string }{
		{"fat12", "FAT"}, {"fat16", "FAT"}, {"fat32", "FAT"}, {"exfat", "exFAT"},
		{"ntfs", "NTFS"}, {"ext4", "ext"}, {"ext4-64bit", "ext"},
	} {
		t.Run(tc.seed, func(t *testing.T) {
			img := seeds(t, tc.seed)[0]
			assert.Equal(t, tc.want, disk.Identify(img))
		})
	}
	fatNoBootSignature := make([]byte, 2048)
	copy(fatNoBootSignature[82:], "FAT32   ")
	for name, head := range map[string][]byte{
		"zeros":                       make([]byte, 4096),
		"short":                       []byte("NTF"),
		"FAT name, no boot signature": fatNoBootSignature,
	} {
		t.Run(name, func(t *testing.T) { assert.Empty(t, disk.Identify(head)) })
	}
}
