package images

import (
	"context"
	"fmt"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/engine/disk"
)

// CaptureOptions tune a capture.
type CaptureOptions struct {
	// Area is what to take from the master; engine.WholeMedia when nil.
	Area engine.Area
	// Origin says where the master was, for the manifest ("port 1,
	// SanDisk Ultra 4C53...").
	Origin   string
	Progress Progress
}

// Capture reads a master drive into a new image. Only the area's ranges
// are read; the rest of the content is stored as zeros (a few bytes a
// frame) and not written when the image is deployed. A capture that
// might not fit, counting the area as incompressible, is refused before
// it starts.
func (l *Library) Capture(ctx context.Context, src engine.Source, name string, o CaptureOptions) (*Manifest, error) {
	if size := src.Size(); size <= 0 {
		return nil, fmt.Errorf("master: the master is empty (%d bytes): nothing to capture", size)
	}
	area := o.Area
	if area == nil {
		area = engine.WholeMedia{}
	}
	plan, err := area.Plan(src)
	if err != nil {
		return nil, fmt.Errorf("master: %s: %w", area.Name(), err)
	}
	if err := plan.Check(512); err != nil {
		return nil, err
	}
	size := src.Size()
	if err := l.fits(plan.Bytes() + overhead(size)); err != nil {
		return nil, fmt.Errorf("capturing %s (%s of %s, if nothing compresses): %w", name, engine.FormatSize(plan.Bytes()), area.Name(), err)
	}
	b, err := l.create(name)
	if err != nil {
		return nil, err
	}
	var used []Range
	for _, e := range plan.Extents {
		used = append(used, Range{e.Off, e.Len})
	}
	rest := used
	for off := int64(0); off < size; off += int64(b.frameSize) {
		if err := ctx.Err(); err != nil {
			b.abort()
			return nil, err
		}
		end := min(size, off+int64(b.frameSize))
		buf := make([]byte, end-off)
		rest, err = eachPart(rest, off, end, func(lo, hi int64, _ bool) error {
			if _, err := src.ReadAt(buf[lo-off:hi-off], lo); err != nil {
				return fmt.Errorf("reading the master at byte %d: %w; nothing was kept", lo, err)
			}
			b.sha.Write(buf[lo-off : hi-off])
			return nil
		})
		if err == nil {
			err = b.add(buf)
		}
		if err != nil {
			b.abort()
			return nil, err
		}
		if o.Progress != nil {
			o.Progress(end, size)
		}
	}
	m := &Manifest{
		Origin:     o.Origin,
		Size:       size,
		Need:       plan.Need,
		SectorSize: sectorSizeOf(src),
		Area:       plan.Area,
		Partitions: Summarize(src, size, sectorSizeOf(src)),
		Used:       used,
	}
	if err := b.commit(m); err != nil {
		return nil, err
	}
	return m, nil
}

// overhead bounds what an image stores besides its content: a seek table
// entry and a frame header a frame, and the manifest.
func overhead(size int64) int64 {
	return (size/DefaultFrameSize+1)*64 + 1<<20
}

// fits refuses a write of need bytes that the library has no room for.
func (l *Library) fits(need int64) error {
	free, err := l.Free()
	if err != nil {
		return err
	}
	if need > free {
		return fmt.Errorf("%w: it needs up to %s and the library has %s free", ErrNoSpace, engine.FormatSize(need), engine.FormatSize(free))
	}
	return nil
}

func sectorSizeOf(src engine.Source) int {
	if s, ok := src.(interface{ SectorSize() int }); ok && s.SectorSize() >= 512 {
		return s.SectorSize()
	}
	return 512
}

// Summarize describes a drive's partitions in a line each: number, file
// system and size.
func Summarize(r engine.Source, size int64, sectorSize int) []string {
	type part struct {
		n        int
		off, len int64
	}
	var parts []part
	table := ""
	var notes []string
	if g, err := disk.ReadGPT(r, size, sectorSize); err == nil {
		table = "GPT"
		if g.PrimaryErr != nil {
			notes = append(notes, fmt.Sprintf("the primary GPT is damaged (%v); read from the backup", g.PrimaryErr))
		}
		for _, p := range g.Partitions {
			parts = append(parts, part{p.Number, int64(p.FirstLBA) * int64(sectorSize), int64(p.LastLBA-p.FirstLBA+1) * int64(sectorSize)})
		}
	} else if m, err := disk.ReadMBR(r, size, sectorSize); err == nil && len(m.Partitions) > 0 {
		table = "MBR"
		for _, p := range m.Partitions {
			if !p.IsExtended() {
				parts = append(parts, part{p.Number, p.Start, p.Size})
			}
		}
	}
	if table == "" {
		fs, _, err := disk.Used(r, 0, size)
		if err != nil {
			return []string{"no partition table"}
		}
		return []string{fmt.Sprintf("no partition table; %s on the whole drive", fs)}
	}
	out := append([]string{fmt.Sprintf("%s, %d partitions", table, len(parts))}, notes...)
	for _, p := range parts {
		fs, _, err := disk.Used(r, p.off, p.len)
		if err != nil {
			fs = "unknown file system"
		}
		out = append(out, fmt.Sprintf("partition %d: %s, %s at %s", p.n, fs, engine.FormatSize(p.len), engine.FormatSize(p.off)))
	}
	return out
}
