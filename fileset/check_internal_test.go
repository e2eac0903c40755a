//go:build linux

package fileset

import (
	"context"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine"
	"github.com/clonebay/clonebay/sim"
)

// TestCheckTarget: a written target's file system is held to the
// manifest and to where the build put each file; each difference fails
// it with what and where.
func TestCheckTarget(t *testing.T) {
	ctx := context.Background()
	mod := time.Date(2024, 1, 2, 3, 4, 6, 0, time.UTC)
	fsys := fstest.MapFS{
		"a.txt":          {Data: []byte(strings.Repeat("a", 5000)), ModTime: mod},
		"docs/b.bin":     {Data: []byte(strings.Repeat("b", 70_000)), ModTime: mod},
		"docs/empty.txt": {ModTime: mod},
	}
	m, err := Hash(ctx, fsys, "memory", nil)
	require.NoError(t, err)
	src := Source{Manifest: m, Files: fsys, ID: "memory"}
	d := sim.MustDrive(sim.DriveSpec{Size: 64 << 20})
	dev, err := d.Open(true)
	require.NoError(t, err)
	t.Cleanup(func() { dev.Close() })
	res, err := Run(ctx, src, []engine.PortTarget{{Port: 1, Dev: dev}}, Options{WorkDir: t.TempDir()})
	require.NoError(t, err)
	require.True(t, res.OK(), res.Ports[0].Reason)

	// The same build again (its layout is deterministic), not written.
	lay, err := Plan(m, dev.Size(), 512, "", "", "", 0)
	require.NoError(t, err)
	mb := &member{lay: lay, dev: dev.(engine.Target)}
	g := share([]*member{mb})[0]
	files := &openFiles{fs: fsys, open: map[string]*openFile{}}
	t.Cleanup(files.close)
	left, err := g.build(ctx, t.TempDir(), "check", src, files, make([]byte, 1<<20))
	require.NoError(t, err)
	require.Empty(t, left)
	t.Cleanup(func() { g.src.vol.Close() })

	withEntries := func(f func([]Entry) []Entry) func(*group) {
		return func(g *group) {
			m, ds := *g.src.manifest, *g.src
			m.Entries = f(slices.Clone(m.Entries))
			ds.manifest = &m
			g.src = &ds
		}
	}
	for _, tc := range []struct {
		name string
		edit func(*group)
		says string
		atB  bool // the failure is at docs/b.bin's first byte on the drive
	}{
		{"as built", func(*group) {}, "", false},
		{"a file the set lacks", withEntries(func(es []Entry) []Entry {
			return slices.DeleteFunc(es, func(e Entry) bool { return e.Path == "a.txt" })
		}), "a.txt is on the target but not in the set", false},
		{"a file the target lacks", withEntries(func(es []Entry) []Entry {
			return append(es, Entry{Path: "docs/c.bin", Size: 1})
		}), "docs/c.bin is in the set but not on the target", false},
		{"another size", withEntries(func(es []Entry) []Entry {
			for i := range es {
				if es[i].Path == "docs/b.bin" {
					es[i].Size++
				}
			}
			return es
		}), "docs/b.bin holds 70000 bytes, the set's 70001", false},
		{"a file where it was not written", func(g *group) {
			ds := *g.src
			ds.files = slices.Clone(ds.files)
			for i := range ds.files {
				if ds.files[i].path == "docs/b.bin" {
					ds.files[i].off += 4096
				}
			}
			g.src = &ds
		}, "docs/b.bin: the target's FAT chain leads to", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edited := *g
			tc.edit(&edited)
			edited.index()
			v := edited.checkTarget(ctx, mb, engine.PortTarget{Port: 1, Dev: dev})
			if tc.says == "" {
				require.NoError(t, v.err)
				return
			}
			require.Error(t, v.err)
			assert.Equal(t, engine.CauseMismatch, v.cause)
			assert.Contains(t, v.err.Error(), tc.says)
			if tc.atB {
				i := slices.IndexFunc(g.src.files, func(f placed) bool { return f.path == "docs/b.bin" })
				assert.Equal(t, g.src.files[i].off, v.off, "the drive's offset the chain leads to")
			}
		})
	}
}
