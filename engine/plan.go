package engine

import (
	"errors"
	"fmt"
	"slices"

	"github.com/clonebay/clonebay/engine/disk"
)

// Extent is a byte range of the master that a job copies.
type Extent struct {
	Off, Len int64
}

// End is the first byte after the extent.
func (e Extent) End() int64 { return e.Off + e.Len }

// Plan is what a job copies: sorted, disjoint extents of the master. The
// fan-out only ever sees a Plan, so new copy areas ("used area", "smart")
// plug in as Areas without touching it.
type Plan struct {
	Area    string   // how the plan was made, for the LCD and the record
	Extents []Extent // sorted, disjoint, non-empty
	// Need is how many bytes a target must hold: at least the end of the
	// last extent.
	Need int64
	// SourceSize is the size of the master the plan was made from.
	SourceSize int64
	// GPT is the master's GUID partition table, when it has one: each
	// target gets it rebuilt for its own size.
	GPT *disk.GPT
	// Notes say how the plan was made, a line a partition, for the log.
	Notes []string
}

// Bytes is the number of bytes the plan copies.
func (p Plan) Bytes() int64 {
	var n int64
	for _, e := range p.Extents {
		n += e.Len
	}
	return n
}

// Area turns a master into a plan.
type Area interface {
	Name() string
	Plan(src Source) (Plan, error)
}

// WholeMedia copies every byte of the master.
type WholeMedia struct{}

func (WholeMedia) Name() string { return "whole media" }

func (WholeMedia) Plan(src Source) (Plan, error) {
	size := src.Size()
	p := Plan{Area: "whole media", Need: size, SourceSize: size}
	if size > 0 {
		p.Extents = []Extent{{0, size}}
	}
	// A GPT is rebuilt for a larger target's end, and a damaged primary
	// from its backup. One damaged beyond that, or none, is copied as it
	// is: whole media means every byte, whatever it holds.
	if g, err := disk.ReadGPT(src, size, sectorSize(src)); err == nil {
		p.GPT = g
		p.Notes = append(p.Notes, gptNotes(g)...)
	}
	return p, nil
}

// gptNotes says how a master's GPT was read, for the plan's notes.
func gptNotes(g *disk.GPT) []string {
	if g.PrimaryErr == nil {
		return nil
	}
	return []string{fmt.Sprintf("the primary GPT is damaged (%v); the backup GPT was used, and each target gets a good primary", g.PrimaryErr)}
}

// ErrBadPlan is returned (wrapped) for a plan the fan-out cannot run.
var ErrBadPlan = errors.New("bad copy plan")

// Check validates a plan against its master: at least one byte to copy,
// extents sorted, disjoint, non-empty, aligned to align bytes (except an
// extent that ends at the end of the master), and inside the master.
func (p Plan) Check(align int64) error {
	if len(p.Extents) == 0 {
		// A job that copies nothing would PASS targets that hold nothing
		// of the master.
		what := "the plan"
		if p.Area != "" {
			what = fmt.Sprintf("the copy area %q", p.Area)
		}
		return fmt.Errorf("%w: %s comes to 0 bytes: nothing to copy", ErrBadPlan, what)
	}
	var prev int64
	for i, e := range p.Extents {
		switch {
		case e.Len <= 0:
			return fmt.Errorf("%w: extent %d (%d+%d) is empty", ErrBadPlan, i, e.Off, e.Len)
		case e.Off < prev:
			return fmt.Errorf("%w: extent %d at %d overlaps or precedes the one before (ending at %d)", ErrBadPlan, i, e.Off, prev)
		case e.End() > p.SourceSize:
			return fmt.Errorf("%w: extent %d (%d+%d) ends beyond the master's %d bytes", ErrBadPlan, i, e.Off, e.Len, p.SourceSize)
		case e.Off%align != 0 || (e.Len%align != 0 && e.End() != p.SourceSize):
			return fmt.Errorf("%w: extent %d (%d+%d) is not aligned to %d bytes", ErrBadPlan, i, e.Off, e.Len, align)
		}
		prev = e.End()
	}
	if p.Need < prev {
		return fmt.Errorf("%w: targets need %d bytes but the last extent ends at %d", ErrBadPlan, p.Need, prev)
	}
	return nil
}

// chunk is one unit of the fan-out: a piece of one extent that does not
// cross a multiple of the chunk size.
type chunk struct {
	off int64
	n   int
}

// chunks splits the plan at multiples of size, so every chunk of a large
// extent is size bytes and aligned to it.
func (p Plan) chunks(size int) []chunk {
	var out []chunk
	for _, e := range p.Extents {
		for off := e.Off; off < e.End(); {
			next := min(e.End(), (off/int64(size)+1)*int64(size))
			out = append(out, chunk{off: off, n: int(next - off)})
			off = next
		}
	}
	return slices.Clip(out)
}
