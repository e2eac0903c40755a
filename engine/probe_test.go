package engine_test

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
)

func TestProbe(t *testing.T) {
	mbr := make([]byte, 64<<10)
	mbr[446] = 0x80
	mbr[446+4] = 0x0c
	binary.LittleEndian.PutUint32(mbr[446+8:], 2048)
	binary.LittleEndian.PutUint32(mbr[446+12:], 100000)
	mbr[510], mbr[511] = 0x55, 0xaa

	gpt := bytes.Clone(mbr)
	gpt[446+4] = 0xee
	copy(gpt[512:], "EFI PART")

	fat := make([]byte, 64<<10)
	copy(fat[3:], "MSDOS5.0")
	copy(fat[82:], "FAT32   ")
	fat[510], fat[511] = 0x55, 0xaa

	ext := make([]byte, 64<<10)
	binary.LittleEndian.PutUint16(ext[1080:], 0xef53)

	ntfs := make([]byte, 64<<10)
	copy(ntfs[3:], "NTFS    ")

	noise := bytes.Repeat([]byte{0xff}, 64<<10)
	for _, tc := range []struct {
		name  string
		data  []byte
		table string
		fs    string
	}{
		{"blank", make([]byte, 64<<10), "", ""},
		{"MBR", mbr, "MBR", ""},
		{"GPT", gpt, "GPT", ""},
		{"FAT32 superfloppy", fat, "", "FAT"},
		{"ext4", ext, "", "ext"},
		{"NTFS", ntfs, "", "NTFS"},
		{"noise", noise, "", ""},
		{"tiny", []byte{1, 2, 3}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := engine.Probe(bytes.NewReader(tc.data), int64(len(tc.data)))
			require.NoError(t, err)
			assert.Equal(t, tc.table, c.PartitionTable)
			assert.Equal(t, tc.fs, c.FileSystem)
			assert.Equal(t, tc.table != "" || tc.fs != "", c.HasData())
		})
	}
}

func FuzzProbe(f *testing.F) {
	f.Add(make([]byte, 4096))
	f.Add(append(make([]byte, 510), 0x55, 0xaa))
	f.Fuzz(func(t *testing.T, data []byte) {
		_, _ = engine.Probe(bytes.NewReader(data), int64(len(data)))
	})
}
