package engine

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/clonebay/clonebay/internal/seedfuzz"
)

// memMaster is a master in memory.
type memMaster []byte

func (m memMaster) ReadAt(p []byte, off int64) (int, error) { return bytes.NewReader(m).ReadAt(p, off) }
func (m memMaster) Size() int64                             { return int64(len(m)) }
func (m memMaster) ID() string                              { return "memory" }

// FuzzPlan edits fields of real partition tables (sgdisk's GPT with its
// backup, sfdisk's MBR with logical partitions; the GPT's CRCs fixed after
// the edit, or not) and plans a copy of them in every area. A plan is
// refused or passes Plan.Check, and every byte a target gets instead of
// the master's (the GPT rebuilt for it) lies inside that target.
func FuzzPlan(f *testing.F) {
	dir := filepath.Join("disk", "testdata", "seeds")
	gpt, err := seedfuzz.GPTDisk(dir)
	if err != nil {
		f.Fatal(err)
	}
	mbr, err := seedfuzz.Load(dir, "mbr-extended")
	if err != nil {
		f.Fatal(err)
	}
	disks := [][]byte{gpt, mbr}
	fields := [][]seedfuzz.Field{seedfuzz.Fields("gpt"), seedfuzz.Fields("mbr-extended")}
	f.Add(uint8(0), []byte(nil), false)
	f.Add(uint8(0), seedfuzz.Encode(seedfuzz.Edit{Off: 512 + 40, Width: 1, Val: 0xff}), false) // damaged primary
	f.Add(uint8(0), seedfuzz.Encode(seedfuzz.Edit{Off: 1024 + 32, Width: 8, Val: 40}), true)   // partition 1 moved
	f.Add(uint8(1), []byte(nil), false)
	f.Add(uint8(1), seedfuzz.SetField(1, 63), false) // partition 1 starts at 2^31-1
	// No GPT signature left, and a protective entry claiming 2^32-1 sectors.
	f.Add(uint8(0), seedfuzz.Encode(seedfuzz.Edit{Off: 512, Width: 1, Val: 0}, seedfuzz.Edit{Off: seedfuzz.GPTDiskSize - 512, Width: 1, Val: 0},
		seedfuzz.Edit{Off: 446 + 12, Width: 4, Val: 1<<32 - 1}), false)
	f.Fuzz(func(t *testing.T, which uint8, edits []byte, fix bool) {
		i := int(which) % len(disks)
		img := seedfuzz.Apply(disks[i], edits, fields[i])
		if fix {
			seedfuzz.FixGPTCRCs(img)
		}
		for _, area := range []Area{WholeMedia{}, UsedArea{}, Smart{}} {
			p, err := area.Plan(memMaster(img))
			if err != nil {
				continue
			}
			if err := p.Check(512); err != nil {
				t.Fatalf("%s: a plan that does not check: %v", area.Name(), err)
			}
			for _, size := range []int64{p.Need, p.Need + 1<<20} {
				size = (size + 511) / 512 * 512
				patches, err := p.targetPatches(size)
				if err != nil {
					continue
				}
				for _, pt := range patches {
					if pt.Off < 0 || pt.Off+int64(len(pt.Data)) > size {
						t.Fatalf("%s onto %d bytes: %d bytes at %d, outside the target", area.Name(), size, len(pt.Data), pt.Off)
					}
				}
			}
		}
	})
}
