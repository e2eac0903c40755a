package engine

import (
	"errors"
	"fmt"

	"github.com/clonebay/clonebay/engine/disk"
)

// Patch is bytes a target gets instead of the master's at an offset: the
// GPT structures rewritten for the target's own size.
type Patch struct {
	Off  int64
	Data []byte
}

// UsedArea copies from LBA 0 to the end of the last partition (or the
// last extended boot record), gaps between partitions included; the
// unpartitioned tail is left out. A GPT's backup is rebuilt at each
// target's end.
type UsedArea struct{}

// Smart copies only what the file systems use (FAT12/16/32, exFAT,
// ext2/3/4, NTFS): partition tables, boot sectors, reserved areas and
// file-system metadata always, and partitions with another or an unknown
// file system whole.
type Smart struct{}

// Percent copies the first P percent of the master.
type Percent struct{ P int }

func (UsedArea) Name() string  { return "used area" }
func (Smart) Name() string     { return "smart" }
func (a Percent) Name() string { return fmt.Sprintf("first %d%%", a.P) }

func (UsedArea) Plan(src Source) (Plan, error) { return partitionPlan(src, false) }
func (Smart) Plan(src Source) (Plan, error)    { return partitionPlan(src, true) }

func (a Percent) Plan(src Source) (Plan, error) {
	if a.P < 1 || a.P > 100 {
		return Plan{}, fmt.Errorf("percentage %d is not 1..100", a.P)
	}
	size := src.Size()
	n := size * int64(a.P) / 100
	n = min(size, (n+bufAlign-1)/bufAlign*bufAlign)
	p := Plan{Area: a.Name(), Need: n, SourceSize: size}
	if n > 0 {
		p.Extents = []Extent{{0, n}}
	}
	return p, nil
}

// sectorSizer is a master that knows its logical sector size.
type sectorSizer interface{ SectorSize() int }

func sectorSize(src Source) int {
	if s, ok := src.(sectorSizer); ok && s.SectorSize() >= 512 {
		return s.SectorSize()
	}
	return 512
}

// coalesceGap joins extents closer than this: copying a small hole is
// cheaper than a chunk boundary.
const coalesceGap = 256 << 10

// partitionPlan builds the used-area or smart plan from the master's
// partition table. A master without one is copied whole, or, when it
// holds a file system directly (a "superfloppy"), by its allocation.
func partitionPlan(src Source, smart bool) (Plan, error) {
	size := src.Size()
	ss := sectorSize(src)
	name := "used area"
	if smart {
		name = "smart"
	}
	plan := Plan{Area: name, SourceSize: size}
	var ex []disk.Extent
	addPart := func(label string, off, n int64) {
		if !smart {
			ex = append(ex, disk.Extent{Off: off, Len: n})
			return
		}
		fs, used, err := disk.Used(src, off, n)
		switch {
		case err == nil:
			ex = append(ex, used...)
			plan.Notes = append(plan.Notes, fmt.Sprintf("%s %s: %s used of %s", label, fs, FormatSize(sum(used)), FormatSize(n)))
		case errors.Is(err, disk.ErrUnknownFS):
			ex = append(ex, disk.Extent{Off: off, Len: n})
			plan.Notes = append(plan.Notes, fmt.Sprintf("%s: no known file system, copied whole (%s)", label, FormatSize(n)))
		default:
			// A damaged file system is copied whole: what is there, the
			// copy has too, and nothing is lost.
			ex = append(ex, disk.Extent{Off: off, Len: n})
			plan.Notes = append(plan.Notes, fmt.Sprintf("%s: %v; copied whole", label, err))
		}
	}

	g, gerr := disk.ReadGPT(src, size, ss)
	switch {
	case gerr == nil:
		plan.GPT = g
		plan.Notes = append(plan.Notes, gptNotes(g)...)
		first := int64(g.Primary.LastUsableLBA+1) * int64(ss)
		for _, p := range g.Partitions {
			off := int64(p.FirstLBA) * int64(ss)
			first = min(first, off)
			addPart(fmt.Sprintf("partition %d", p.Number), off, int64(p.LastLBA-p.FirstLBA+1)*int64(ss))
		}
		// LBA 0, the primary GPT and the gap before the first partition,
		// where boot loaders live.
		ex = append(ex, disk.Extent{Off: 0, Len: max(first, g.PrimaryExtent().End())})
	case !errors.Is(gerr, disk.ErrNoGPT):
		return Plan{}, fmt.Errorf("partition table: %w", gerr)
	default:
		m, merr := disk.ReadMBR(src, size, ss)
		switch {
		case errors.Is(merr, disk.ErrNoMBR) || merr == nil && len(m.Partitions) == 0:
			// No partition table, or an MBR without a partition (also what a
			// bare FAT file system's boot sector can look like).
			ex = append(ex, wholeDrive(src, size, smart, &plan.Notes)...)
		case merr != nil:
			return Plan{}, fmt.Errorf("partition table: %w", merr)
		default:
			first := size
			for _, p := range m.Partitions {
				if p.IsExtended() {
					continue
				}
				if p.Type == 0xee {
					// A GPT's protective entry, but no GPT could be read: what
					// it covers is copied whole, up to the end of the disk
					// (the entry may claim more).
					if p.Start < size {
						first = min(first, p.Start)
						ex = append(ex, disk.Extent{Off: p.Start, Len: min(p.Size, size-p.Start)})
						plan.Notes = append(plan.Notes, fmt.Sprintf("partition %d: a GPT-protective entry but no GPT; copied whole", p.Number))
					}
					continue
				}
				first = min(first, p.Start)
				addPart(fmt.Sprintf("partition %d", p.Number), p.Start, p.Size)
			}
			ex = append(ex, m.EBRs...)
			ex = append(ex, disk.Extent{Off: 0, Len: max(int64(ss), first)})
		}
	}

	ex = disk.Normalize(ex)
	end := size // where the area ends: its last extent's end, on the drive
	if n := len(ex); n > 0 {
		end = min(size, ex[n-1].End())
		if !smart {
			// The used area is everything up to the end of the last
			// partition: the gaps between partitions too, where some
			// boards' boot loaders live.
			ex = []disk.Extent{{Off: 0, Len: ex[n-1].End()}}
		}
	}
	// Widened to 4 KiB, but never past the area's own end: a target that
	// holds exactly the last partition holds the copy.
	plan.Extents = alignExtents(ex, end)
	plan.Need = 0
	for _, e := range plan.Extents {
		plan.Need = max(plan.Need, e.End())
	}
	if g := plan.GPT; g != nil {
		// Leave out the master's own backup GPT: each target gets one at
		// its end. Room for it is part of what a target needs.
		backup := g.BackupExtent()
		plan.Extents = subtract(plan.Extents, Extent{backup.Off, backup.Len})
		need := int64(0)
		for _, p := range g.Partitions {
			need = max(need, int64(p.LastLBA+1)*int64(ss))
		}
		plan.Need = max(need, plan.Extents[len(plan.Extents)-1].End()) + backup.Len
	}
	return plan, nil
}

// wholeDrive plans a drive without a partition table: a file system on
// the whole drive ("superfloppy") is copied by its allocation in smart
// mode; anything else, the whole drive. The note says which, and why.
func wholeDrive(src Source, size int64, smart bool, notes *[]string) []disk.Extent {
	whole := []disk.Extent{{Off: 0, Len: size}}
	fs, used, err := disk.Used(src, 0, size)
	switch {
	case err == nil && smart:
		*notes = append(*notes, fmt.Sprintf("no partition table: %s on the whole drive, %s used of %s; only that is copied", fs, FormatSize(sum(used)), FormatSize(size)))
		return used
	case err == nil:
		*notes = append(*notes, fmt.Sprintf("no partition table: %s on the whole drive; the whole drive is copied", fs))
	case errors.Is(err, disk.ErrUnknownFS) && smart:
		*notes = append(*notes, "no partition table, and no file system Smart knows on the whole drive: the whole drive is copied")
	case errors.Is(err, disk.ErrUnknownFS):
		*notes = append(*notes, "no partition table: the whole drive is copied")
	default:
		*notes = append(*notes, fmt.Sprintf("no partition table: %s on the whole drive, but %v; the whole drive is copied", fs, err))
	}
	return whole
}

func sum(ex []disk.Extent) int64 {
	var n int64
	for _, e := range disk.Normalize(ex) {
		n += e.Len
	}
	return n
}

// alignExtents widens extents to 4 KiB boundaries (direct I/O) within the
// disk, joins those closer than coalesceGap, and converts them.
func alignExtents(ex []disk.Extent, size int64) []Extent {
	var out []Extent
	for _, e := range ex {
		lo := e.Off / bufAlign * bufAlign
		hi := min(size, (e.End()+bufAlign-1)/bufAlign*bufAlign)
		if n := len(out); n > 0 && lo-out[n-1].End() < coalesceGap {
			out[n-1].Len = max(out[n-1].End(), hi) - out[n-1].Off
			continue
		}
		out = append(out, Extent{lo, hi - lo})
	}
	return out
}

// subtract removes cut from sorted extents.
func subtract(ex []Extent, cut Extent) []Extent {
	var out []Extent
	for _, e := range ex {
		if cut.End() <= e.Off || cut.Off >= e.End() {
			out = append(out, e)
			continue
		}
		if cut.Off > e.Off {
			out = append(out, Extent{e.Off, cut.Off - e.Off})
		}
		if cut.End() < e.End() {
			out = append(out, Extent{cut.End(), e.End() - cut.End()})
		}
	}
	return out
}

// targetPatches returns what a target of size bytes gets instead of the
// master's bytes: for a GPT master whose copy does not end where the
// master does, the primary header with the new backup location, the
// backup entries and header at the target's end, and zeros over the
// master's old backup. A master whose primary GPT is damaged gets the
// primary rebuilt from its backup (header and entries) on every target,
// an exact copy included. Every patch lies inside the target.
func (p Plan) targetPatches(size int64) ([]Patch, error) {
	g := p.GPT
	if g == nil {
		return nil, nil
	}
	// A target's disk is its whole sectors: an image file of an odd size
	// keeps its backup GPT in its last whole sector, where the header says.
	size -= size % int64(g.SectorSize)
	whole := len(p.Extents) == 1 && p.Extents[0] == Extent{0, p.SourceSize}
	if whole && size == p.SourceSize && g.PrimaryErr == nil {
		return nil, nil // an exact copy of the master is already right
	}
	primary, entriesLBA, backup, err := g.Relocated(size)
	if err != nil {
		return nil, err
	}
	ss := int64(g.SectorSize)
	patches := []Patch{{Off: ss, Data: primary}}
	if g.PrimaryErr != nil {
		patches = append(patches, Patch{Off: int64(g.Primary.EntriesLBA) * ss, Data: g.Entries})
	}
	old := g.BackupExtent()
	newBackup := Extent{entriesLBA * ss, size - entriesLBA*ss}
	if old.Off >= 0 && old.End() <= size && old.End() <= newBackup.Off {
		patches = append(patches, Patch{Off: old.Off, Data: make([]byte, old.Len)})
	}
	patches = append(patches, Patch{Off: entriesLBA * ss, Data: g.Entries}, Patch{Off: size - ss, Data: backup})
	for _, pt := range patches {
		if pt.Off < 0 || pt.Off > size-int64(len(pt.Data)) {
			return nil, fmt.Errorf("the GPT for a %d-byte target would lie at %d+%d, outside it", size, pt.Off, len(pt.Data))
		}
	}
	return patches, nil
}
