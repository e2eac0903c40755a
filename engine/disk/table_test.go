//go:build linux

package disk_test

import (
	"encoding/binary"
	"hash/crc32"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine/disk"
	"github.com/clonebay/clonebay/internal/imgtest"
)

const MiB = 1 << 20

func TestMBRFromSfdisk(t *testing.T) {
	imgtest.Need(t, "sfdisk")
	img := filepath.Join(t.TempDir(), "mbr.img")
	imgtest.Sparse(t, img, 64*MiB)
	sfdisk(t, img, "label: dos\nstart=2048, size=16MiB, type=c, bootable\nsize=16MiB, type=83\ntype=5\nsize=8MiB, type=83\nsize=8MiB, type=7\n")
	f, err := os.Open(img)
	require.NoError(t, err)
	defer f.Close()
	m, err := disk.ReadMBR(f, 64*MiB, 512)
	require.NoError(t, err)
	type part struct {
		n     int
		typ   byte
		start int64
		size  int64
		boot  bool
	}
	var got []part
	for _, p := range m.Partitions {
		got = append(got, part{p.Number, p.Type, p.Start / 512, p.Size / 512, p.Bootable})
	}
	assert.Equal(t, []part{
		{1, 0x0c, 2048, 32768, true},
		{2, 0x83, 34816, 32768, false},
		{3, 0x05, 67584, 63488, false},
		{5, 0x83, 69632, 16384, false},
		{6, 0x07, 88064, 16384, false},
	}, got)
	assert.Len(t, m.EBRs, 2)
	assert.False(t, m.Protective())
}

func sfdisk(t *testing.T, img, script string) {
	t.Helper()
	cmd := exec(t, "sfdisk", "-q", img)
	cmd.Stdin = strings.NewReader(script)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
}

func TestGPTFromSgdisk(t *testing.T) {
	imgtest.Need(t, "sgdisk")
	img := filepath.Join(t.TempDir(), "gpt.img")
	imgtest.Sparse(t, img, 64*MiB)
	imgtest.Run(t, "sgdisk", "-n", "1:2048:+8M", "-t", "1:ef00", "-c", "1:EFI system",
		"-n", "2:0:+20M", "-t", "2:8300", "-c", "2:root", img)
	data, err := os.ReadFile(img)
	require.NoError(t, err)
	g, err := disk.ReadGPT(bytesReader(data), 64*MiB, 512)
	require.NoError(t, err)
	assert.True(t, g.BackupOK)
	require.Len(t, g.Partitions, 2)
	assert.Equal(t, "EFI system", g.Partitions[0].Name)
	assert.Equal(t, uint64(2048), g.Partitions[0].FirstLBA)
	assert.Equal(t, uint64(2048+16384-1), g.Partitions[0].LastLBA)
	assert.Equal(t, "root", g.Partitions[1].Name)
	assert.Equal(t, uint64(64*MiB/512-1), g.Primary.AlternateLBA)

	m, err := disk.ReadMBR(bytesReader(data), 64*MiB, 512)
	require.NoError(t, err)
	assert.True(t, m.Protective(), "sgdisk writes a protective MBR")

	t.Run("hybrid MBR", func(t *testing.T) {
		hyb := filepath.Join(t.TempDir(), "hybrid.img")
		require.NoError(t, os.WriteFile(hyb, data, 0o644))
		imgtest.Run(t, "sgdisk", "-h", "2", hyb)
		hdata, err := os.ReadFile(hyb)
		require.NoError(t, err)
		m, err := disk.ReadMBR(bytesReader(hdata), 64*MiB, 512)
		require.NoError(t, err)
		assert.True(t, m.Hybrid())
	})

	t.Run("damaged primary falls back to the backup", func(t *testing.T) {
		for _, tc := range []struct {
			name    string
			damage  func(b []byte)
			primary string
		}{
			{"header CRC", func(b []byte) { b[512+40] ^= 0xff }, "GPT header at LBA 1: CRC mismatch"},
			{"entries CRC", func(b []byte) { b[1024+100] ^= 0xff }, "GPT entry array at LBA 2: CRC mismatch"},
			{"header wiped", func(b []byte) { clear(b[512:1024]) }, "no GPT"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				bad := append([]byte(nil), data...)
				tc.damage(bad)
				g, err := disk.ReadGPT(bytesReader(bad), 64*MiB, 512)
				require.NoError(t, err)
				require.Error(t, g.PrimaryErr)
				assert.ErrorContains(t, g.PrimaryErr, tc.primary)
				assert.Len(t, g.Partitions, 2)
				assert.Equal(t, uint64(1), g.Primary.MyLBA, "the primary is rebuilt for LBA 1")
				assert.Equal(t, uint64(2), g.Primary.EntriesLBA)
				assert.Equal(t, uint64(64*MiB/512-1), g.Primary.AlternateLBA)

				// The rebuilt primary repairs the disk, as sgdisk sees it.
				img := filepath.Join(t.TempDir(), "repaired.img")
				copy(bad[512:], g.RawHeader)
				copy(bad[1024:], g.Entries)
				require.NoError(t, os.WriteFile(img, bad, 0o644))
				imgtest.GPTGood(t, imgtest.Run(t, "sgdisk", "-v", img), "the rebuilt disk")
			})
		}
	})

	t.Run("a backup without a primary or a protective MBR is a leftover", func(t *testing.T) {
		bad := append([]byte(nil), data...)
		clear(bad[512:1024])
		clear(bad[446:510]) // an MBR-partitioned disk now, whose old GPT's tail remains
		bad[446+4], bad[446+8], bad[446+12] = 0x83, 0x08, 0x10
		_, err := disk.ReadGPT(bytesReader(bad), 64*MiB, 512)
		assert.ErrorIs(t, err, disk.ErrNoGPT)
	})

	t.Run("a backup whose entries would lie among the partitions", func(t *testing.T) {
		bad := append([]byte(nil), data...)
		h := bad[512 : 512+92]
		alt := binary.LittleEndian.Uint64(h[32:])
		binary.LittleEndian.PutUint64(h[48:], alt-1) // the last usable LBA: right before the backup header
		binary.LittleEndian.PutUint32(h[16:], 0)
		binary.LittleEndian.PutUint32(h[16:], crc32.ChecksumIEEE(h))
		g, err := disk.ReadGPT(bytesReader(bad), 64*MiB, 512)
		require.NoError(t, err, "the backup is whole")
		assert.ErrorContains(t, g.PrimaryErr, "leaves no room for its 32-sector entry array after the last usable LBA")
		assert.Equal(t, uint64(64*MiB/512-34), g.Primary.LastUsableLBA, "the backup's own usable LBAs rule")
	})

	t.Run("both headers damaged", func(t *testing.T) {
		bad := append([]byte(nil), data...)
		bad[512+40] ^= 0xff
		bad[64*MiB-512+40] ^= 0xff
		_, err := disk.ReadGPT(bytesReader(bad), 64*MiB, 512)
		require.ErrorIs(t, err, disk.ErrDamaged)
		assert.ErrorContains(t, err, "primary header: damaged: GPT header at LBA 1: CRC mismatch")
		assert.ErrorContains(t, err, "backup header")
	})

	t.Run("damaged entries", func(t *testing.T) {
		bad := append([]byte(nil), data...)
		bad[1024+100] ^= 0xff
		bad[64*MiB-33*512+100] ^= 0xff
		_, err := disk.ReadGPT(bytesReader(bad), 64*MiB, 512)
		assert.ErrorContains(t, err, "entry array at LBA 2: CRC mismatch")
	})

	t.Run("relocated onto a larger disk passes sgdisk -v", func(t *testing.T) {
		big := filepath.Join(t.TempDir(), "big.img")
		imgtest.Sparse(t, big, 100*MiB)
		f, err := os.OpenFile(big, os.O_RDWR, 0)
		require.NoError(t, err)
		_, err = f.WriteAt(data[:64*MiB-33*512], 0)
		require.NoError(t, err)
		primary, entriesLBA, backup, err := g.Relocated(100 * MiB)
		require.NoError(t, err)
		_, err = f.WriteAt(primary, 512)
		require.NoError(t, err)
		_, err = f.WriteAt(g.Entries, entriesLBA*512)
		require.NoError(t, err)
		_, err = f.WriteAt(backup, 100*MiB-512)
		require.NoError(t, err)
		require.NoError(t, f.Close())
		imgtest.GPTGood(t, imgtest.Run(t, "sgdisk", "-v", big), "the larger disk")
		moved, err := os.ReadFile(big)
		require.NoError(t, err)
		g2, err := disk.ReadGPT(bytesReader(moved), 100*MiB, 512)
		require.NoError(t, err)
		assert.True(t, g2.BackupOK)
		assert.Equal(t, uint64(100*MiB/512-1), g2.Primary.AlternateLBA)
		assert.Equal(t, uint64(100*MiB/512-34), g2.Primary.LastUsableLBA)
	})

	t.Run("relocation refuses a target the partitions do not fit", func(t *testing.T) {
		_, _, _, err := g.Relocated(20 * MiB)
		assert.ErrorContains(t, err, "GPT partition 2 ends at LBA")
	})
}

func TestMBRErrors(t *testing.T) {
	base := func() []byte {
		b := make([]byte, 1*MiB)
		b[510], b[511] = 0x55, 0xaa
		return b
	}
	entry := func(b []byte, i int, typ byte, start, n uint32) {
		e := b[446+16*i:]
		e[4] = typ
		binary.LittleEndian.PutUint32(e[8:], start)
		binary.LittleEndian.PutUint32(e[12:], n)
	}
	for _, tc := range []struct {
		name string
		make func() []byte
		want string
	}{
		{"no signature", func() []byte { return make([]byte, 4096) }, "no MBR partition table"},
		{"beyond the disk", func() []byte { b := base(); entry(b, 0, 0x83, 2048, 4096); return b }, "partition 1 (sectors 2048+4096) ends beyond the disk's 2048 sectors"},
		{"overlap", func() []byte { b := base(); entry(b, 0, 0x83, 100, 500); entry(b, 1, 0x83, 400, 500); return b }, "MBR partitions 1 and 2 overlap"},
		{"looping chain", func() []byte {
			b := base()
			entry(b, 0, 0x05, 100, 1000)
			ebr := b[100*512:]
			ebr[510], ebr[511] = 0x55, 0xaa
			e := ebr[462:]
			e[4] = 0x05
			binary.LittleEndian.PutUint32(e[8:], 0) // points back at itself
			binary.LittleEndian.PutUint32(e[12:], 10)
			return b
		}, "the chain of boot records loops at sector 100"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tc.make()
			_, err := disk.ReadMBR(bytesReader(b), int64(len(b)), 512)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}
