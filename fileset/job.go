package fileset

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unsafe"

	"github.com/zeebo/xxh3"

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
	// windows, a chunk and a verify buffer a target. The buffers are
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
	meta    []engine.Extent // the plan's parts that are not file data
	files   []placed        // in manifest order
	sums    *streamSums     // each file's XXH3-128 as the group's reader read it
	// check, for the one group that checks the set against its manifest,
	// takes every file's SHA-256 beside the job.
	check *streamSums
}

// member is one target of a group: its own layout, and the bytes it gets
// instead of the group's build (its partition table, its volume's size
// fields, the end of its disk).
type member struct {
	idx     int // into the job's targets
	lay     Layout
	patches []engine.Patch
	src     *patchedSource  // the build as this target must hold it
	meta    []engine.Extent // what its verify compares byte for byte
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
		planned = append(planned, &member{idx: i, lay: lay})
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
	// The volumes are built side by side: mkfs and the folders of one do
	// not wait for another's. A target that a larger one's build cannot
	// serve after all (the set reaches past its volume's end) gets a
	// build of its own in a second round.
	zeros := make([]byte, gap) // every target's end, read-only
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
	var wg sync.WaitGroup
	var bufMu sync.Mutex
	for _, g := range built {
		wg.Go(func() {
			buf := g.run(ctx, targets, o, len(built), res.Ports, chk, m)
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
// of one layout, and FAT32 targets whose layouts differ only in size when
// the largest one's FATs take at most 1 % of a smaller one's volume (a
// build for a target up to about 5 times its size). A smaller target
// keeps the larger one's FATs, longer than its clusters need, so every
// byte of the volume after its first sectors is the same on both.
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
	if a.FS != fatfs.FAT32 || b.FS != a.FS || b.Table != a.Table || b.ClusterSize != a.ClusterSize ||
		b.Label != a.Label || b.PartStart != a.PartStart || b.PartSize > a.PartSize {
		return false
	}
	fats := 2 * 4 * (a.PartSize / a.ClusterSize) // two FATs of 4-byte entries
	return fats*100 <= b.PartSize
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
	if err := mkfs(ctx, l, path); err != nil {
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
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("volume image: %w", err)
	}
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
		g.files = append(g.files, pl)
		if p.Size > 0 {
			all = append(all, engine.Extent{Off: pl.off, Len: (p.Size + fl.ClusterSize - 1) / fl.ClusterSize * fl.ClusterSize})
		}
	}
	g.src.files = slices.Clone(g.files)
	slices.SortFunc(g.src.files, func(a, b placed) int { return int(a.off - b.off) })
	g.meta = merge(meta, l.DiskSize)
	extents := merge(all, l.DiskSize)
	g.plan = engine.Plan{
		Area:       fmt.Sprintf("files onto %s (%s clusters, %s)", l.FS, engine.FormatSize(l.ClusterSize), strings.ToUpper(l.Table)),
		Extents:    extents,
		Need:       extents[len(extents)-1].End(),
		SourceSize: l.DiskSize,
	}
	var left, kept []*member
	for _, mb := range g.members {
		err := mb.own(f, l, g, zeros)
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

// own makes a member's own bytes and the view of the build its verify
// compares with. It fails with fatfs.ErrNoSpace when the build cannot
// serve it.
func (mb *member) own(vol *os.File, built Layout, g *group, zeros []byte) error {
	l := mb.lay
	head, tail, err := l.tables()
	if err != nil {
		return err
	}
	mb.patches = []engine.Patch{{Off: 0, Data: head}}
	if l.PartSize != built.PartSize {
		first, err := fatfs.Reframe(vol, built.PartSize, l.PartSize)
		if err != nil {
			return err
		}
		mb.patches = append(mb.patches, engine.Patch{Off: l.PartStart, Data: first})
	}
	if end := g.plan.Need; end > l.PartEnd() {
		return fmt.Errorf("%w: the set reaches %d, the partition ends at %d", fatfs.ErrNoSpace, end, l.PartEnd())
	}
	mb.patches = append(mb.patches, engine.Patch{Off: l.PartEnd(), Data: zeros[:l.DiskSize-l.PartEnd()]})
	if len(tail) > 0 {
		mb.patches = append(mb.patches, engine.Patch{Off: l.DiskSize - int64(len(tail)), Data: tail})
	}
	mb.src = &patchedSource{diskSource: g.src, size: l.DiskSize, patches: mb.patches}
	mb.meta = merge(append(slices.Clone(g.meta), engine.Extent{Off: l.PartEnd(), Len: l.DiskSize - l.PartEnd()}), l.DiskSize)
	return nil
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

// mkfs formats the volume image with the real tool, with Microsoft's
// cluster size and the partition's offset as hidden sectors.
func mkfs(ctx context.Context, l Layout, path string) error {
	var args []string
	pkg := "dosfstools"
	switch l.FS {
	case fatfs.FAT32:
		args = []string{"mkfs.fat", "-F", "32", "-S", "512", "-s", strconv.FormatInt(l.ClusterSize/sector, 10),
			"-h", strconv.FormatInt(l.PartStart/sector, 10), "--mbr=n"}
		if l.Label != "" {
			args = append(args, "-n", l.Label)
		}
	case fatfs.ExFAT:
		pkg = "exfatprogs"
		args = []string{"mkfs.exfat", "-c", strconv.FormatInt(l.ClusterSize, 10)}
		if l.Label != "" {
			args = append(args, "-L", l.Label)
		}
	default:
		return fmt.Errorf("%w: file system %s", ErrUnsupported, l.FS)
	}
	if _, err := exec.LookPath(args[0]); err != nil {
		return fmt.Errorf("%s is not installed (Debian package %s)", args[0], pkg)
	}
	out, err := exec.CommandContext(ctx, args[0], append(args[1:], path)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", args[0], err, strings.TrimSpace(string(out)))
	}
	return nil
}

// fixedArea hands the engine a plan made in advance.
type fixedArea struct{ plan engine.Plan }

func (a fixedArea) Name() string                            { return a.plan.Area }
func (a fixedArea) Plan(engine.Source) (engine.Plan, error) { return a.plan, nil }

// run writes the group's targets with the engine and verifies each as
// soon as the engine is done with it. It returns the buffer bytes taken.
func (g *group) run(ctx context.Context, targets []engine.PortTarget, o Options, groups int, out []PortResult, chk *setCheck, m *Manifest) int64 {
	eo := windows(o.Engine, len(targets), groups)
	byPort := map[int]*member{}
	var ts []engine.PortTarget
	for _, mb := range g.members {
		t := targets[mb.idx]
		byPort[t.Port] = mb
		t.Patches = mb.patches
		ts = append(ts, t)
	}
	var mu sync.Mutex
	verified := map[int]chan verdict{}
	var verifying sync.WaitGroup
	startVerify := func(port int) {
		mu.Lock()
		defer mu.Unlock()
		if verified[port] != nil {
			return
		}
		ch := make(chan verdict, 1)
		verified[port] = ch
		mb := byPort[port]
		verifying.Go(func() { ch <- g.verify(ctx, mb, targets[mb.idx], o.Engine, chk) })
	}
	user := o.Engine.OnProgress
	eo.OnProgress = func(p engine.Progress) {
		// A port the engine is done with is verified at once; its PASS
		// comes from the verify.
		if p.Ended && p.Phase == engine.PhaseDone {
			startVerify(p.Port)
			return
		}
		if user != nil {
			user(p)
		}
	}
	// The record keeps the manifest's sum, not the engine's SHA-256. The
	// reader's bytes of every file get their XXH3-128 on the way (the
	// verify compares each target's files with them), and the checking
	// group's files their SHA-256, beside the job.
	eo.NoSHA256 = true
	g.sums = newFastSums(g.src.files)
	eo.OnRead = g.sums.add
	if g.check != nil {
		eo.OnContent = g.check.add
	}
	job := engine.Job{Source: g.src, Targets: ts, Mode: engine.Copy, Area: fixedArea{g.plan}, Options: eo}
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
		chk.finish(g.check.against(m)) // the SHA-256 beside the job is done
	}
	for _, pr := range er.Ports {
		if pr.Status == engine.Pass {
			startVerify(pr.Port) // in case its last progress went unseen
		}
	}
	verifying.Wait()
	for _, pr := range er.Ports {
		mb := byPort[pr.Port]
		pr.SHA256 = ""
		if pr.Status == engine.Pass {
			v := <-verified[pr.Port]
			pr.Verified = v.verified
			pr.Duration += v.took
			if v.err != nil {
				pr.Status, pr.Phase, pr.Cause, pr.Offset = engine.Fail, engine.PhaseVerifying, v.cause, v.off
				pr.Reason = fmt.Sprintf("port %d: %v", pr.Port, v.err)
			}
		}
		out[mb.idx] = PortResult{PortResult: pr, Layout: mb.lay}
	}
	return er.BufferBytes
}

// jobChunks is the chunk buffers a job's windows and targets share.
const jobChunks = 40

// windows sizes each build's window, unless the caller did: a job's
// chunk memory is about 40 chunks, as a copy's; each target takes two
// (its own buffer, its verify's) and the builds' windows share the rest.
// A window much smaller loses targets a few milliseconds behind, which
// then read the set themselves.
func windows(eo engine.Options, targets, groups int) engine.Options {
	if eo.WindowChunks == 0 {
		eo.WindowMax = min(engine.DefaultWindowChunks*3/2, max(4, (jobChunks-2*targets)/groups))
		eo.WindowChunks = max(4, eo.WindowMax*2/3)
	}
	eo.WindowMax = max(eo.WindowMax, eo.WindowChunks)
	if eo.ChunkSize == 0 {
		eo.ChunkSize = engine.DefaultChunkSize
	}
	return eo
}

// budget is what the job's buffers may take: each build's window at its
// stretch and the master re-check's chunk, a chunk and a verify buffer a
// target, and the zeros every target's end is written from.
func budget(built []*group, o Options, targets int, zeros []byte) int64 {
	n := int64(len(zeros))
	eo := windows(o.Engine, targets, len(built))
	for _, g := range built {
		n += engine.BufferBudget(eo, len(g.members), g.src) + int64(len(g.members))*verifyBuf
	}
	return n
}

// verdict is a target's verification.
type verdict struct {
	verified int64
	took     time.Duration
	cause    engine.Cause
	off      int64
	err      error
}

// verify reads a written target back from its media: the partition
// tables and the file system's structures byte for byte, the file system
// checked (engine/fatfs), the tree against the manifest, and every file's
// SHA-256.
func (g *group) verify(ctx context.Context, mb *member, t engine.PortTarget, eo engine.Options, chk *setCheck) (v verdict) {
	start := time.Now()
	dev, l := t.Dev, mb.lay
	var total int64
	for _, e := range mb.meta {
		total += e.Len
	}
	m := g.manifest()
	total += m.Bytes
	rep := newReporter(eo, t, total)
	defer func() {
		v.took = time.Since(start)
		if v.err == nil {
			rep.done(engine.PhaseDone, v.verified)
		} else {
			rep.done(engine.PhaseVerifying, v.verified)
		}
	}()
	fail := func(cause engine.Cause, off int64, err error) verdict {
		return verdict{verified: v.verified, cause: cause, off: off, err: err}
	}
	if err := dev.DropCaches(); err != nil {
		return fail(engine.CauseRead, -1, fmt.Errorf("drop caches: %w", err))
	}
	// One buffer a target: the structures are compared half against half,
	// the files read back through all of it.
	buf := alignedBuf(verifyBuf)
	got, want := buf[:verifyBuf/2], buf[verifyBuf/2:]
	for _, e := range mb.meta {
		for off := e.Off; off < e.End(); off += verifyBuf / 2 {
			if err := ctx.Err(); err != nil {
				return fail(engine.CauseAborted, -1, err)
			}
			n := min(verifyBuf/2, e.End()-off)
			if err := readFull(dev, got[:n], off); err != nil {
				return fail(engine.CauseRead, off, fmt.Errorf("verify: %w", err))
			}
			if err := readFull(mb.src, want[:n], off); err != nil {
				return fail(engine.CauseMaster, -1, fmt.Errorf("verify: %w", err))
			}
			if i := firstDiff(got[:n], want[:n]); i >= 0 {
				return fail(engine.CauseMismatch, off+int64(i), fmt.Errorf("verify: the %s differs at %d", l.what(off+int64(i)), off+int64(i)))
			}
			v.verified += n
			rep.report(v.verified)
		}
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
	if err := sameTree(vol, m); err != nil {
		return fail(engine.CauseMismatch, -1, fmt.Errorf("verify: %w", err))
	}
	// Every file is read back from the media through the target's own
	// file system (its FAT chains), in large requests, and compared with
	// the XXH3-128 of the bytes the reader gave the engine for it.
	media := newMediaReader(dev, buf)
	h := xxh3.New()
	for _, e := range m.Entries {
		if e.Dir {
			continue
		}
		ex, err := vol.FileExtents(e.Path)
		if err != nil {
			return fail(engine.CauseMismatch, -1, fmt.Errorf("verify: %s: %w", e.Path, err))
		}
		h.Reset()
		for _, x := range ex {
			for off := x.Off; off < x.End(); {
				if err := ctx.Err(); err != nil {
					return fail(engine.CauseAborted, -1, err)
				}
				p, err := media.at(off, min(mediaPiece, x.End()-off))
				if err != nil {
					return fail(engine.CauseRead, off, fmt.Errorf("verify: %s: %w", e.Path, err))
				}
				h.Write(p)
				off += int64(len(p))
				v.verified += int64(len(p))
				rep.report(v.verified)
			}
		}
		if sum, ok := g.sums.of(e.Path); !ok || h.Sum128() != sum {
			off, at := mb.src.locate(dev, ex, got, want)
			return fail(engine.CauseMismatch, off, fmt.Errorf("verify: file %s differs from the set, first at byte %d of the file, %d of the drive", e.Path, at, off))
		}
	}
	// PASS only once the set is known to be its manifest's.
	select {
	case <-chk.done:
	case <-ctx.Done():
		return fail(engine.CauseAborted, -1, ctx.Err())
	}
	if chk.err != nil {
		return fail(engine.CauseMaster, -1, chk.err)
	}
	if chk.by != g {
		if err := g.sums.same(chk.by.sums); err != nil {
			return fail(engine.CauseMaster, -1, err)
		}
	}
	return v
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

// verifyBuf is the buffer a target's verify reads its media with.
const verifyBuf = 1 << 20

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
	return l.FS.String() + " structures"
}

// locate finds a differing file's first wrong byte: its offset on the
// drive and in the file.
func (s *patchedSource) locate(dev engine.Checked, ex []fatfs.Extent, got, want []byte) (int64, int64) {
	var at int64
	for _, x := range ex {
		for off := x.Off; off < x.End(); off += int64(len(want)) {
			n := min(int64(len(want)), x.End()-off)
			rn := (n + sector - 1) / sector * sector
			if readFull(dev, got[:rn], off) != nil || readFull(s, want[:n], off) != nil {
				return off, at
			}
			if i := firstDiff(got[:n], want[:n]); i >= 0 {
				return off + int64(i), at + int64(i)
			}
			at += n
		}
	}
	return -1, -1
}

// sameTree compares the target's folders and files with the manifest.
func sameTree(vol *fatfs.Volume, m *Manifest) error {
	want := map[string]Entry{}
	for _, e := range m.Entries {
		want[e.Path] = e
	}
	err := fs.WalkDir(vol, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == "." {
			return nil
		}
		w, ok := want[p]
		if !ok {
			return fmt.Errorf("%s is on the target but not in the set", p)
		}
		delete(want, p)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case w.Dir != d.IsDir():
			return fmt.Errorf("%s: a folder in one and a file in the other", p)
		case !w.Dir && info.Size() != w.Size:
			return fmt.Errorf("%s holds %d bytes, the set's %d", p, info.Size(), w.Size)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for p := range want {
		return fmt.Errorf("%s is in the set but not on the target", p)
	}
	return nil
}

func firstDiff(a, b []byte) int {
	if bytes.Equal(a, b) {
		return -1
	}
	for i := range a {
		if a[i] != b[i] {
			return i
		}
	}
	return -1
}

// readFull reads exactly len(p) bytes at off.
func readFull(r interface {
	ReadAt([]byte, int64) (int, error)
}, p []byte, off int64) error {
	n, err := r.ReadAt(p, off)
	if n == len(p) {
		return nil
	}
	if err == nil {
		err = fmt.Errorf("%d of %d bytes", n, len(p))
	}
	return fmt.Errorf("read at %d: %w", off+int64(n), err)
}

// alignedBuf is a buffer aligned for direct I/O.
func alignedBuf(n int) []byte {
	const align = 4096
	b := make([]byte, n+align)
	skip := int((align - uintptr(unsafe.Pointer(unsafe.SliceData(b)))%align) % align)
	return b[skip : skip+n : skip+n]
}

// reporter sends a port's verify progress at a bounded rate.
type reporter struct {
	fn    func(engine.Progress)
	every time.Duration
	base  engine.Progress
	start time.Time
	last  time.Time
}

func newReporter(o engine.Options, t engine.PortTarget, total int64) *reporter {
	every := o.ProgressInterval
	if every == 0 {
		every = engine.DefaultProgressInterval
	}
	r := &reporter{fn: o.OnProgress, every: every, start: time.Now(),
		base: engine.Progress{Port: t.Port, Label: t.Label, Phase: engine.PhaseVerifying, Total: total}}
	r.send(0, false, true)
	return r
}

func (r *reporter) report(done int64) { r.send(done, false, false) }

func (r *reporter) done(phase engine.Phase, done int64) {
	r.base.Phase = phase
	r.send(done, true, true)
}

func (r *reporter) send(done int64, ended, force bool) {
	if r.fn == nil {
		return
	}
	now := time.Now()
	if !force && now.Sub(r.last) < r.every {
		return
	}
	r.last = now
	p := r.base
	p.Done, p.Ended = done, ended
	if el := now.Sub(r.start).Seconds(); el > 0 && done > 0 {
		p.Rate = float64(done) / el
		if rest := p.Total - done; rest > 0 {
			p.ETA = time.Duration(float64(rest) / p.Rate * float64(time.Second))
		}
	}
	r.fn(p)
}
