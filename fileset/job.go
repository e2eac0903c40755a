package fileset

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/engine/fatfs"
	"github.com/clonebay/clonebay/internal/shelf"
)

// Mode is the production record's name for data duplication.
const Mode = "files"

// Causes of failure that only data duplication has, for the LCD.
const (
	CauseTooLarge engine.Cause = "file too large"
	CauseFormat   engine.Cause = "format error"
	CauseRefused  engine.Cause = "refused"
)

// Options tune a job.
type Options struct {
	FS    string // FSAuto (default), FSFAT32 or FSExFAT
	Table string // MBR (default) or GPT
	// Label is every target's volume label; from the set's name when
	// empty.
	Label string
	// ExFATAbove is the capacity above which FSAuto picks exFAT;
	// DefaultExFATAbove when 0.
	ExFATAbove int64
	// WorkDir is where the file system's structures are built, once per
	// distinct target size, in sparse files that are deleted when the
	// job ends: beside the library, never in memory.
	WorkDir string
	// Engine tunes the fan-out (progress, chunk size, qualification).
	// Its OnProgress also gets the verify phase.
	Engine engine.Options
	// OnBudget, when set, is told what the job's buffers may take once
	// its volumes are built, before any target is written: the builds'
	// windows, a chunk a target. The buffers are
	// made once and reused, so a process can keep its heap near it.
	OnBudget func(bytes int64)
}

// PortResult is one target's outcome.
type PortResult struct {
	engine.PortResult
	Layout Layout // the zero Layout when the target was refused before one was made
	Files  int
	Bytes  int64 // of the files
}

// Record is what the production record keeps of a target of a data
// duplication, beside the fields every job has.
type Record struct {
	Mode        string // "files"
	FileSystem  string // "FAT32" or "exFAT"
	Label       string
	Files       int
	Bytes       int64
	FilesSHA256 string // the manifest's listing sum
}

// Result is a job's outcome.
type Result struct {
	Set      string
	Manifest *Manifest
	Ports    []PortResult
	Duration time.Duration
	// BufferBytes is the memory the fan-out's chunk buffers took, over
	// every target size.
	BufferBytes int64
	// Builds is how many volumes were built: one serves targets of one
	// layout, or FAT32 targets of sizes close enough (see share).
	Builds int
}

// Record maps a port's outcome onto the record's data duplication fields.
func (r *Result) Record(p PortResult) Record {
	rec := Record{Mode: Mode, Files: r.Manifest.Files, Bytes: r.Manifest.Bytes, FilesSHA256: r.Manifest.SHA256}
	if p.Layout.FS != 0 {
		rec.FileSystem, rec.Label = p.Layout.FSName(), p.Layout.Label
	}
	return rec
}

// Count returns how many ports ended with s.
func (r *Result) Count(s engine.Status) int {
	n := 0
	for _, p := range r.Ports {
		if p.Status == s {
			n++
		}
	}
	return n
}

// OK reports whether every target passed.
func (r *Result) OK() bool { return len(r.Ports) > 0 && r.Count(engine.Pass) == len(r.Ports) }

// Port returns the result of port n.
func (r *Result) Port(n int) (PortResult, bool) {
	for _, p := range r.Ports {
		if p.Port == n {
			return p, true
		}
	}
	return PortResult{}, false
}

// group is the targets one volume is built for: one build, one fan-out.
// Its layout is its largest target's; each member has its own.
type group struct {
	lay     Layout
	members []*member
	src     *diskSource
	plan    engine.Plan
	sums    *streamSums // each file's XXH3-128 as the group's reader read it (with several groups)
	// check, for the one group that checks the set against its manifest,
	// takes every file's SHA-256 beside the job.
	check *streamSums
	// What every target's file system is checked against, made once by
	// index for all the group's targets (see checkTarget).
	entryAt  map[string]int // a manifest entry's index, by path
	placedAt map[string]placed
}

// member is one target of a group: its own layout, and the bytes it gets
// instead of the group's build (its partition table, its volume's size
// fields, the end of its disk).
type member struct {
	idx     int // into the job's targets
	lay     Layout
	dev     engine.Target
	patches []engine.Patch
	view    *shrunk // a target smaller than the build, as the engine sees it
}

// sectorSizer is a drive that knows its logical sector size.
type sectorSizer interface{ SectorSize() int }

// Run duplicates a set onto targets: each gets its layout (Plan), the
// volume of each distinct layout is built once, the engine writes every
// target (MBR or GPT last), and each target is verified from its media
// as soon as it is written. A target that cannot hold the set fails
// before anything is written to it; the others go on. The error is
// non-nil only when the job was refused as a whole.
func Run(ctx context.Context, src Source, targets []engine.PortTarget, o Options) (*Result, error) {
	start := time.Now()
	switch {
	case src.Manifest == nil || src.Files == nil:
		return nil, fmt.Errorf("%w: no set", engine.ErrRefused)
	case src.Manifest.Files == 0:
		return nil, fmt.Errorf("%w: %w", engine.ErrRefused, ErrEmpty)
	case len(targets) == 0:
		return nil, fmt.Errorf("%w: a file duplication needs at least one target", engine.ErrRefused)
	case o.WorkDir == "":
		return nil, fmt.Errorf("%w: no folder to build the file systems in", engine.ErrRefused)
	}
	ports := map[int]bool{}
	for _, t := range targets {
		switch {
		case t.Dev == nil:
			return nil, fmt.Errorf("%w: port %d has no drive", engine.ErrRefused, t.Port)
		case ports[t.Port]:
			return nil, fmt.Errorf("%w: port %d is a target twice", engine.ErrRefused, t.Port)
		case src.ID != "" && t.Dev.ID() == src.ID:
			return nil, fmt.Errorf("%w: port %d: the target is the source itself (%s)", engine.ErrRefused, t.Port, src.ID)
		}
		if _, ok := t.Dev.(engine.Target); !ok {
			return nil, fmt.Errorf("%w: port %d: the drive is not open for writing", engine.ErrRefused, t.Port)
		}
		ports[t.Port] = true
	}
	m := src.Manifest
	res := &Result{Set: m.Name, Manifest: m, Ports: make([]PortResult, len(targets))}
	refuse := func(i int, lay Layout, cause engine.Cause, phase engine.Phase, err error) {
		t := targets[i]
		res.Ports[i] = PortResult{PortResult: engine.PortResult{Port: t.Port, Label: t.Label, Status: engine.Fail,
			Phase: phase, Cause: cause, Offset: -1, Reason: fmt.Sprintf("port %d: %v", t.Port, err)}, Layout: lay}
		if o.Engine.OnProgress != nil {
			o.Engine.OnProgress(engine.Progress{Port: t.Port, Label: t.Label, Phase: phase, Ended: true})
		}
	}
	var planned []*member
	var gap int64 // the most any target keeps between its partition and its end
	for i, t := range targets {
		ss := 0
		if s, ok := t.Dev.(sectorSizer); ok {
			ss = s.SectorSize()
		}
		lay, err := Plan(m, t.Dev.Size(), ss, o.FS, o.Table, o.Label, o.ExFATAbove)
		if err != nil {
			refuse(i, Layout{}, causeOf(err), engine.PhaseWaiting, err)
			continue
		}
		planned = append(planned, &member{idx: i, lay: lay, dev: t.Dev.(engine.Target)})
		gap = max(gap, lay.DiskSize-lay.PartEnd())
	}
	if len(planned) == 0 {
		res.Duration = time.Since(start)
		return res, nil
	}

	work, err := os.MkdirTemp(o.WorkDir, ".job-*"+shelf.PartialExt)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", engine.ErrRefused, err)
	}
	lock, err := (&shelf.Shelf{Dir: o.WorkDir, LockFile: lockFile}).Lock(work)
	if err != nil {
		os.RemoveAll(work)
		return nil, fmt.Errorf("%w: %w", engine.ErrRefused, err)
	}
	var all []*group
	files := &openFiles{fs: src.Files, open: map[string]*openFile{}}
	defer func() {
		for _, g := range all {
			if g.src != nil {
				g.src.vol.Close()
			}
		}
		files.close()
		lock.Close()
		os.RemoveAll(work)
	}()
	// The volumes are built side by side: the format and folders of one do
	// not wait for another's. A target that a larger one's build cannot
	// serve after all (the set reaches past its volume's end) gets a
	// build of its own in a second round.
	zeros := make([]byte, min(gap, zeroPiece)) // every target's end, read-only
	var built []*group
	for round, pending := 0, share(planned); len(pending) > 0; round++ {
		errs := make([]error, len(pending))
		left := make([][]*member, len(pending))
		var builds sync.WaitGroup
		for n, g := range pending {
			builds.Go(func() { left[n], errs[n] = g.build(ctx, work, fmt.Sprintf("%d-%d", round, n), src, files, zeros) })
		}
		builds.Wait()
		all = append(all, pending...)
		var next []*group
		for n, g := range pending {
			if errs[n] != nil {
				for _, mb := range g.members {
					err := errs[n]
					if errors.Is(err, ErrTooSmall) && mb.lay.DiskSize != g.lay.DiskSize {
						// The build's message names its own, larger target.
						err = fmt.Errorf("%w: the set does not fit the volume of a %s target, larger than this %s one",
							ErrTooSmall, engine.FormatSize(g.lay.DiskSize), engine.FormatSize(mb.lay.DiskSize))
					}
					refuse(mb.idx, mb.lay, causeOf(err), engine.PhaseWaiting, err)
				}
				continue
			}
			built = append(built, g)
			for _, mb := range left[n] {
				next = append(next, &group{lay: mb.lay, members: []*member{mb}})
			}
		}
		pending = next
	}
	res.Builds = len(built)
	if o.OnBudget != nil && len(built) > 0 {
		o.OnBudget(budget(built, o, len(targets), zeros))
	}

	// One group checks the set against its manifest; every group's
	// targets are compared with what its own reader read, which must
	// then be what the checking group's reader read.
	chk := &setCheck{done: make(chan struct{})}
	if len(built) > 0 {
		built[0].check = newSHASums(built[0].src.files)
		chk.by = built[0]
	} else {
		close(chk.done)
	}
	fsChecks := make(chan struct{}, fsCheckSlots)
	var wg sync.WaitGroup
	var bufMu sync.Mutex
	for _, g := range built {
		wg.Go(func() {
			buf := g.run(ctx, targets, o, len(built), res.Ports, chk, fsChecks)
			bufMu.Lock()
			res.BufferBytes += buf
			bufMu.Unlock()
		})
	}
	wg.Wait()
	for i := range res.Ports {
		if res.Ports[i].Status == engine.Pass {
			res.Ports[i].Files, res.Ports[i].Bytes = m.Files, m.Bytes
		}
	}
	res.Duration = time.Since(start)
	return res, nil
}

// causeOf names a planning or building error for the LCD.
func causeOf(err error) engine.Cause {
	switch {
	case errors.Is(err, ErrTooSmall):
		return engine.CauseTooSmall
	case errors.Is(err, ErrTooLarge):
		return CauseTooLarge
	case errors.Is(err, ErrUnsupported), errors.Is(err, fatfs.ErrBadLabel), errors.Is(err, fatfs.ErrBadName):
		return CauseRefused
	}
	return CauseFormat
}

// share puts the targets into groups, each served by one build: targets
// of one layout, and FAT32 targets whose layouts differ only in size. A
// smaller target gets FATs of its own length and the build's cluster
// heap moved down to meet them (see shrunk), so every byte of the build
// is read once for all of them.
func share(ms []*member) []*group {
	sorted := slices.Clone(ms)
	slices.SortStableFunc(sorted, func(a, b *member) int { return cmp.Compare(b.lay.DiskSize, a.lay.DiskSize) })
	var groups []*group
	for _, mb := range sorted {
		i := slices.IndexFunc(groups, func(g *group) bool { return serves(g.lay, mb.lay) })
		if i < 0 {
			groups = append(groups, &group{lay: mb.lay})
			i = len(groups) - 1
		}
		groups[i].members = append(groups[i].members, mb)
	}
	return groups
}

// serves reports whether a build of layout a can serve a target of
// layout b.
func serves(a, b Layout) bool {
	if a == b {
		return true
	}
	return a.FS == fatfs.FAT32 && b.FS == a.FS && b.Table == a.Table && b.ClusterSize == a.ClusterSize &&
		b.Label == a.Label && b.PartStart == a.PartStart && b.PartSize <= a.PartSize
}

// build formats the group's volume in a sparse file, lays the set's
// folders into it, makes the plan the engine copies, and each member's
// own bytes. It returns the members the build cannot serve after all
// (the set reaches past the end of their volume): they need their own.
func (g *group) build(ctx context.Context, dir, name string, src Source, files *openFiles, zeros []byte) ([]*member, error) {
	l := g.lay
	path := filepath.Join(dir, "volume-"+name+".img")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	keep := false
	defer func() {
		if !keep {
			f.Close()
		}
	}()
	if err := f.Truncate(l.PartSize); err != nil {
		return nil, fmt.Errorf("volume image: %w", err)
	}
	if err := format(ctx, l, path, f); err != nil {
		return nil, err
	}
	m := src.Manifest
	nodes := make([]fatfs.Node, 0, len(m.Entries))
	for _, e := range m.Entries {
		nodes = append(nodes, fatfs.Node{Path: e.Path, Dir: e.Dir, Size: e.Size, ModTime: e.ModTime})
	}
	fl, err := fatfs.Populate(f, l.PartSize, nodes, fatfs.PopulateOptions{PartitionOffset: l.PartStart / sector})
	switch {
	case errors.Is(err, fatfs.ErrNoSpace):
		return nil, fmt.Errorf("%w: the %s target holds a %s %s volume; %v", ErrTooSmall, engine.FormatSize(l.DiskSize), engine.FormatSize(l.PartSize), l.FS,
			strings.TrimPrefix(err.Error(), fatfs.ErrNoSpace.Error()+": "))
	case errors.Is(err, fatfs.ErrTooLarge):
		return nil, fmt.Errorf("%w: %w", ErrTooLarge, err)
	case err != nil:
		return nil, fmt.Errorf("building the %s volume: %w", l.FS, err)
	}
	// Not synced: the image lives only for this job, and only this
	// process reads it back, through the page cache.
	g.src = &diskSource{lay: l, vol: f, meta: fl.Meta.Len, src: files, manifest: m,
		id: fmt.Sprintf("files:%s:%d", src.ID, l.DiskSize)}
	keep = true

	// The plan is what every member gets alike: the area before the
	// partition, the volume's structures, the files. Each member's
	// partition table, the first sectors of a volume smaller than the
	// build, and the end of its disk after its partition are its own.
	meta := []engine.Extent{{Off: 0, Len: l.PartStart}, {Off: l.PartStart, Len: fl.Meta.Len}}
	all := slices.Clone(meta)
	for _, p := range fl.Files {
		pl := placed{off: l.PartStart + p.Off, size: p.Size, path: p.Path}
		g.src.files = append(g.src.files, pl)
		if p.Size > 0 {
			all = append(all, engine.Extent{Off: pl.off, Len: (p.Size + fl.ClusterSize - 1) / fl.ClusterSize * fl.ClusterSize})
		}
	}
	slices.SortFunc(g.src.files, func(a, b placed) int { return int(a.off - b.off) })
	g.index()
	extents := merge(all, l.DiskSize)
	g.plan = engine.Plan{
		Area:       fmt.Sprintf("files onto %s (%s clusters, %s)", l.FS, engine.FormatSize(l.ClusterSize), strings.ToUpper(l.Table)),
		Extents:    extents,
		Need:       extents[len(extents)-1].End(),
		SourceSize: l.DiskSize,
	}
	var left, kept []*member
	cuts := map[int64]*cut{} // by partition size: targets of one size are cut alike
	for _, mb := range g.members {
		err := mb.own(f, l, g, zeros, cuts)
		switch {
		case errors.Is(err, fatfs.ErrNoSpace) && mb.lay != l: // the leader always fits its own build
			left = append(left, mb)
			continue
		case err != nil:
			return nil, err
		}
		kept = append(kept, mb)
		ml := mb.lay
		g.plan.Notes = append(g.plan.Notes, fmt.Sprintf("%s target: %s volume %q from %d MiB, %s (%s), %d files in %s",
			engine.FormatSize(ml.DiskSize), ml.FS, ml.Label, ml.PartStart>>20, engine.FormatSize(ml.PartSize), ml.Why, m.Files, engine.FormatSize(m.Bytes)))
	}
	g.members = kept
	return left, g.plan.Check(sector)
}

// own makes a member's own bytes, and for a target smaller than the
// build, the view of it the engine writes (see shrunk). It fails with
// fatfs.ErrNoSpace when the build cannot serve it.
func (mb *member) own(vol *os.File, built Layout, g *group, zeros []byte, cuts map[int64]*cut) error {
	l := mb.lay
	head, tail, err := l.tables()
	if err != nil {
		return err
	}
	mb.patches = []engine.Patch{{Off: 0, Data: head}}
	end := l.PartEnd() // where the engine sees the target's bytes after its partition
	if l.PartSize != built.PartSize {
		c := cuts[l.PartSize]
		if c == nil {
			if c, err = cutFor(vol, built.PartSize, l.PartSize); err != nil {
				return err
			}
			cuts[l.PartSize] = c
		}
		mb.patches = append(mb.patches, engine.Patch{Off: l.PartStart, Data: c.first})
		if mb.view, err = shrink(mb.dev, built, l, c.geo, c.fatLen, g.plan.Need); err != nil {
			return err
		}
		end = mb.view.tail()
	} else if need := g.plan.Need; need > l.PartEnd() {
		return fmt.Errorf("%w: the set reaches %d, the partition ends at %d", fatfs.ErrNoSpace, need, l.PartEnd())
	}
	// Zeros up to the backup partition table, if any (patches do not
	// overlap), from one read-only piece.
	zn := l.DiskSize - int64(len(tail)) - l.PartEnd()
	if zn > 0 && len(zeros) == 0 {
		return fmt.Errorf("no zeros for the %d bytes after the partition", zn)
	}
	for at := int64(0); at < zn; at += int64(len(zeros)) {
		mb.patches = append(mb.patches, engine.Patch{Off: end + at, Data: zeros[:min(int64(len(zeros)), zn-at)]})
	}
	if len(tail) > 0 {
		mb.patches = append(mb.patches, engine.Patch{Off: end + zn, Data: tail})
	}
	return nil
}

// cut is how a build's volume becomes a smaller one: the build's
// geometry, the smaller volume's FAT length and its first sectors
// (read-only, shared by its targets).
type cut struct {
	geo    fatfs.Geometry
	fatLen int64
	first  []byte
}

func cutFor(vol *os.File, size, newSize int64) (*cut, error) {
	v, err := fatfs.Open(vol, 0, size)
	if err != nil {
		return nil, err
	}
	c := &cut{geo: v.Geometry()}
	c.fatLen = c.geo.ShortestFATs(newSize, max(4096, c.geo.ClusterSize)) // the heap keeps the build's alignment
	c.first, err = fatfs.Reframe(vol, size, newSize, c.fatLen)
	return c, err
}

// place is where a byte the engine writes at off lies on the member's
// drive; -1 when nowhere.
func (mb *member) place(off int64) int64 {
	if mb.view == nil {
		return off
	}
	return mb.view.place(off)
}

// merge aligns extents to 4 KiB (direct I/O) within the disk, sorts them,
// and joins those less than 64 KiB apart: a small gap costs less to copy
// than a chunk boundary.
func merge(ex []engine.Extent, size int64) []engine.Extent {
	const align, gap = 4096, 64 << 10
	var in []engine.Extent
	for _, e := range ex {
		if e.Len > 0 {
			lo := e.Off / align * align
			in = append(in, engine.Extent{Off: lo, Len: min(size, (e.End()+align-1)/align*align) - lo})
		}
	}
	slices.SortFunc(in, func(a, b engine.Extent) int { return int(a.Off - b.Off) })
	var out []engine.Extent
	for _, e := range in {
		if n := len(out); n > 0 && e.Off-out[n-1].End() < gap {
			out[n-1].Len = max(out[n-1].End(), e.End()) - out[n-1].Off
			continue
		}
		out = append(out, e)
	}
	return out
}

// format formats the volume image: FAT32 in Go (fatfs.FormatFAT32, a
// few sectors where mkfs.fat writes every FAT sector), exFAT with the
// real tool; both with Microsoft's cluster size, and the partition's
// offset as hidden sectors.
func format(ctx context.Context, l Layout, path string, f *os.File) error {
	switch l.FS {
	case fatfs.FAT32:
		err := fatfs.FormatFAT32(f, l.PartSize, fatfs.FormatOptions{ClusterSize: l.ClusterSize, HiddenSectors: l.PartStart / sector,
			Label: l.Label, VolumeID: rand.Uint32(), Time: time.Now()})
		if errors.Is(err, fatfs.ErrFewClusters) {
			return fmt.Errorf("%w: %w", ErrTooSmall, err)
		}
		return err
	case fatfs.ExFAT:
		args := []string{"mkfs.exfat", "-c", strconv.FormatInt(l.ClusterSize, 10)}
		if l.Label != "" {
			args = append(args, "-L", l.Label)
		}
		if _, err := exec.LookPath(args[0]); err != nil {
			return fmt.Errorf("%s is not installed (Debian package exfatprogs)", args[0])
		}
		out, err := exec.CommandContext(ctx, args[0], append(args[1:], path)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("%s: %v: %s", args[0], err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	return fmt.Errorf("%w: file system %s", ErrUnsupported, l.FS)
}

// fixedArea hands the engine a plan made in advance.
type fixedArea struct{ plan engine.Plan }

func (a fixedArea) Name() string                            { return a.plan.Area }
func (a fixedArea) Plan(engine.Source) (engine.Plan, error) { return a.plan, nil }

// run writes the group's targets with the engine and verifies each as
// soon as the engine is done with it. It returns the buffer bytes taken.
func (g *group) run(ctx context.Context, targets []engine.PortTarget, o Options, groups int, out []PortResult, chk *setCheck, fsChecks chan struct{}) int64 {
	eo := windows(o.Engine, len(targets), groups)
	byPort := map[int]*member{}
	var ts []engine.PortTarget
	for _, mb := range g.members {
		t := targets[mb.idx]
		byPort[t.Port] = mb
		t.Patches = mb.patches
		if mb.view != nil {
			t.Dev = mb.view
		}
		ts = append(ts, t)
	}
	// Each target's file system is checked from its media as soon as the
	// engine has verified it (begun beside its verify instead, the checks
	// made the job no faster); its PASS, and the progress that says so,
	// wait for the check.
	var mu sync.Mutex
	checks := map[int]*portCheck{}
	var checking sync.WaitGroup
	check := func(port int) *portCheck {
		mu.Lock()
		defer mu.Unlock()
		if c := checks[port]; c != nil {
			return c
		}
		c := &portCheck{done: make(chan struct{})}
		checks[port] = c
		mb := byPort[port]
		checking.Go(func() {
			defer close(c.done)
			fsChecks <- struct{}{} // a few at a time: each holds its FAT's blocks
			c.v = g.checkTarget(ctx, mb, targets[mb.idx])
			<-fsChecks
			if c.v.err == nil {
				c.v = g.setChecked(ctx, chk)
			}
			c.v.end = time.Now()
		})
		return c
	}
	eo.OnVerified = func(port int) { check(port) }
	user := o.Engine.OnProgress
	eo.OnProgress = func(p engine.Progress) {
		if p.Ended && p.Phase == engine.PhaseDone {
			c := check(p.Port)
			checking.Go(func() {
				<-c.done
				if c.v.err != nil {
					p.Phase = engine.PhaseVerifying
				}
				if user != nil {
					user(p)
				}
			})
			return
		}
		if user != nil {
			user(p)
		}
	}
	// The record keeps the manifest's sum, not the engine's SHA-256. The
	// checking group's reader's bytes of every file get their SHA-256
	// beside the job; with more than one group, every group's reader's
	// bytes get their XXH3-128 on the way, which must be the checking
	// group's.
	eo.NoSHA256 = true
	// Nor is the set read again at the job's end, as a drive is: what the
	// reader read is held to the manifest, and each target to what the
	// reader read.
	eo.MasterRecheck = engine.RecheckNone
	if groups > 1 {
		g.sums = newFastSums(g.src.files)
		eo.OnRead = g.sums.add
	}
	if g.check != nil {
		eo.OnContent = g.check.add
	}
	job := engine.Job{Source: g.src, Targets: ts, Mode: engine.CopyVerify, Area: fixedArea{g.plan}, Options: eo}
	started := time.Now()
	run, err := engine.Start(ctx, job)
	if err != nil && chk.by == g {
		chk.finish(fmt.Errorf("the set was not checked against its manifest: %w", err))
	}
	if err != nil {
		for _, mb := range g.members {
			t := targets[mb.idx]
			out[mb.idx] = PortResult{PortResult: engine.PortResult{Port: t.Port, Label: t.Label, Status: engine.Fail, Cause: CauseRefused,
				Offset: -1, Reason: fmt.Sprintf("port %d: %v", t.Port, err)}, Layout: mb.lay}
		}
		return 0
	}
	er := run.Wait()
	if chk.by == g {
		chk.finish(g.check.against(g.manifest())) // the SHA-256 beside the job is done
	}
	for _, pr := range er.Ports {
		if pr.Status == engine.Pass {
			check(pr.Port)
		}
	}
	checking.Wait()
	for _, pr := range er.Ports {
		mb := byPort[pr.Port]
		pr.SHA256 = ""
		if mb.view != nil {
			// What the engine wrote and read back past the drive's end and
			// in the FATs' cut ends was never on the drive. The engine
			// counts verified bytes only once it verified them all: the
			// plan's, and its patches, which all lie on the drive.
			pr.Written -= mb.view.dropped.Load()
			if pr.Verified > 0 {
				pr.Verified -= mb.view.nowhere(g.plan.Extents)
			}
		}
		switch {
		case pr.Status == engine.Pass:
			v := checks[pr.Port].v
			pr.Duration = max(pr.Duration, v.end.Sub(started)) // the check may end after the engine
			if v.err != nil {
				pr.Status, pr.Phase, pr.Cause, pr.Offset = engine.Fail, engine.PhaseVerifying, v.cause, v.off
				pr.Reason = fmt.Sprintf("port %d: %v", pr.Port, v.err)
			}
		case pr.Phase == engine.PhaseVerifying && pr.Cause == engine.CauseMismatch && pr.Offset >= 0:
			pr.Reason = fmt.Sprintf("port %d: verify: %s", pr.Port, g.differs(mb, pr.Offset))
			pr.Offset = mb.place(pr.Offset)
		}
		out[mb.idx] = PortResult{PortResult: pr, Layout: mb.lay}
	}
	return er.BufferBytes
}

// differs names what holds a member's first wrong byte, at off as the
// engine sees it: a file, with the byte's place in it and on the drive,
// or a structure.
func (g *group) differs(mb *member, off int64) string {
	files, at := g.src.files, mb.place(off)
	i := sort.Search(len(files), func(i int) bool { return files[i].off+files[i].size > off })
	if i < len(files) && files[i].off <= off {
		f := files[i]
		return fmt.Sprintf("file %s differs from the set, first at byte %d of the file, %d of the drive", f.path, off-f.off, at)
	}
	return fmt.Sprintf("the %s differs, first at byte %d of the drive", mb.lay.what(at), at)
}

// fsCheckSlots is how many targets' file systems are checked at once:
// a check reads and caches up to 4 MiB of its FAT, and it needs the CPU
// more than the media.
const fsCheckSlots = 2

// jobChunks is the chunk buffers a job's windows and targets share:
// fewer than a copy's 40, as a file duplication holds more beside them
// (its file system checks' FAT blocks, the manifest, the build's
// leftovers: about 10 MiB at 1 -> 16), and the process must stay within
// 64 MiB.
const jobChunks = 32

// zeroPiece is the most zeros a target's end is written from at once.
const zeroPiece = 1 << 20

// windows sizes each build's window, unless the caller did: a job's
// chunk memory is about jobChunks chunks; each target takes one (its own
// buffer, which its verify reads into) and the builds' windows share the
// rest. A window much smaller loses targets a few milliseconds
// behind, which then read the set themselves.
func windows(eo engine.Options, targets, groups int) engine.Options {
	if eo.WindowChunks == 0 {
		eo.WindowMax = min(engine.DefaultWindowChunks*3/2, max(4, (jobChunks-targets)/groups))
		eo.WindowChunks = max(4, eo.WindowMax*2/3)
	}
	eo.WindowMax = max(eo.WindowMax, eo.WindowChunks)
	if eo.ChunkSize == 0 {
		eo.ChunkSize = engine.DefaultChunkSize
	}
	return eo
}

// budget is what the job's buffers may take: each build's window at its
// stretch and the chunks of its master's hash and re-check, a chunk and a
// scratch piece a target, and the zeros every target's end is written
// from.
func budget(built []*group, o Options, targets int, zeros []byte) int64 {
	n := int64(len(zeros))
	eo := windows(o.Engine, targets, len(built))
	for _, g := range built {
		n += engine.BufferBudget(eo, len(g.members), g.src)
	}
	return n
}

// portCheck is a target's file system check, done when done is closed.
type portCheck struct {
	done chan struct{}
	v    verdict
}

// verdict is a target's verification.
type verdict struct {
	end   time.Time
	cause engine.Cause
	off   int64
	err   error
}

// checkTarget reads a target the engine wrote and verified back from its
// media once more, as a file system: its structures checked
// (engine/fatfs), its tree against the manifest, and every file where
// the build put it, in the chain of its own FAT. The engine's verify has
// already compared every byte of the target, from its media, with the
// bytes the group's reader read (see the note in sums.go).
func (g *group) checkTarget(ctx context.Context, mb *member, t engine.PortTarget) verdict {
	fail := func(cause engine.Cause, off int64, err error) verdict {
		return verdict{cause: cause, off: off, err: err}
	}
	dev, l, m := t.Dev, mb.lay, g.manifest()
	if err := dev.DropCaches(); err != nil {
		return fail(engine.CauseRead, -1, fmt.Errorf("drop caches: %w", err))
	}
	vol, err := fatfs.Open(dev, l.PartStart, l.PartSize)
	if err != nil {
		return fail(engine.CauseMismatch, l.PartStart, fmt.Errorf("verify: the target's file system: %w", err))
	}
	if vol.Kind() != l.FS || vol.Label() != l.Label {
		return fail(engine.CauseMismatch, l.PartStart, fmt.Errorf("verify: the target holds %s %q, not %s %q", vol.Kind(), vol.Label(), l.FS, l.Label))
	}
	if err := vol.Check(); err != nil {
		return fail(engine.CauseMismatch, -1, fmt.Errorf("verify: the target's file system: %w", err))
	}
	// One walk of the tree: every folder and file the manifest's, of its
	// size, and each file's FAT chain leading to where its bytes were
	// written.
	seen := make([]bool, len(m.Entries))
	badAt := int64(-1)
	err = vol.Walk(func(p string, dir bool, size int64, ex []fatfs.Extent) error {
		if err := ctx.Err(); err != nil {
			return err
		}
		i, ok := g.entryAt[p]
		switch {
		case !ok:
			return fmt.Errorf("%s is on the target but not in the set", p)
		case m.Entries[i].Dir != dir:
			return fmt.Errorf("%s: a folder in one and a file in the other", p)
		case !dir && size != m.Entries[i].Size:
			return fmt.Errorf("%s holds %d bytes, the set's %d", p, size, m.Entries[i].Size)
		}
		seen[i] = true
		if dir {
			return nil
		}
		f := g.placedAt[p]
		f.off = mb.place(f.off)
		if at, ok := f.at(ex); !ok {
			badAt = at
			return fmt.Errorf("%s: the target's FAT chain leads to %d, where the file's bytes were not written", p, at)
		}
		return nil
	})
	if i := slices.Index(seen, false); err == nil && i >= 0 {
		err = fmt.Errorf("%s is in the set but not on the target", m.Entries[i].Path)
	}
	switch {
	case ctx.Err() != nil:
		return fail(engine.CauseAborted, -1, ctx.Err())
	case err != nil:
		return fail(engine.CauseMismatch, badAt, fmt.Errorf("verify: %w", err))
	}
	return verdict{}
}

// index makes the maps checkTarget looks paths up in, once the build
// has placed the files.
func (g *group) index() {
	m := g.manifest()
	g.entryAt = make(map[string]int, len(m.Entries))
	for i, e := range m.Entries {
		g.entryAt[e.Path] = i
	}
	g.placedAt = make(map[string]placed, len(g.src.files))
	for _, f := range g.src.files {
		g.placedAt[f.path] = f
	}
}

// setChecked waits for the job's check of the set against its manifest:
// a target passes only once the bytes it was written from are known to
// be the set's.
func (g *group) setChecked(ctx context.Context, chk *setCheck) verdict {
	select {
	case <-chk.done:
	case <-ctx.Done():
		return verdict{cause: engine.CauseAborted, off: -1, err: ctx.Err()}
	}
	if chk.err != nil {
		return verdict{cause: engine.CauseMaster, off: -1, err: chk.err}
	}
	if chk.by != g {
		if err := g.sums.same(chk.by.sums); err != nil {
			return verdict{cause: engine.CauseMaster, off: -1, err: err}
		}
	}
	return verdict{}
}

// at checks that a file's extents on a target are where the build
// placed it, in one piece of its size; else it returns the first offset
// that is not.
func (f placed) at(ex []fatfs.Extent) (int64, bool) {
	want := f.off
	for _, x := range ex {
		if x.Off != want {
			return x.Off, false
		}
		want += x.Len
	}
	if want != f.off+f.size {
		return want, false
	}
	return 0, true
}

// setCheck is the job's one check of the set against its manifest, by
// the group whose reader's bytes it hashed.
type setCheck struct {
	by   *group
	done chan struct{}
	err  error // read after done
}

func (c *setCheck) finish(err error) {
	c.err = err
	close(c.done)
}

// manifest is the set the group copies.
func (g *group) manifest() *Manifest { return g.src.manifest }

// what names the structure at a disk offset.
func (l Layout) what(off int64) string {
	switch {
	case off < l.PartStart:
		return "partition table area"
	case off >= l.PartEnd():
		return "area after the partition"
	}
	return l.FS.String() + " file system area"
}
