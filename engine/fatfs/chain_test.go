//go:build linux

package fatfs_test

import (
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/engine/fatfs"
)

// TestKeptChainsAreBounded: a volume remembers the chains it follows,
// but a damaged stick whose files all run into one long, scattered chain
// (each file from a first cluster of its own, so each is a chain of its
// own) must not make a walk keep every one of them: what it keeps stays
// within a few MiB, however long the chains are, and the walk still
// follows each.
func TestKeptChainsAreBounded(t *testing.T) {
	const files, scattered = 64, 12000
	mod := time.Date(2025, 1, 2, 3, 4, 6, 0, time.UTC)
	var nodes []fatfs.Node
	data := map[string][]byte{}
	for i := range files {
		p := fmt.Sprintf("F%03d.BIN", i)
		nodes = append(nodes, fatfs.Node{Path: p, Size: 1, ModTime: mod})
		data[p] = []byte{byte(i)}
	}
	img := goFormat(t, 64<<20, 512, "")
	lay := fill(t, img, nodes, data)

	f, err := os.OpenFile(img, os.O_RDWR, 0)
	require.NoError(t, err)
	defer f.Close()
	m := image{t, f}
	g := geometryOf(m.get(0, 512))
	entry := func(c, next uint32) {
		m.put32(g.fat1+4*int64(c), next)
		m.put32(g.fat2+4*int64(c), next)
	}
	// Every other cluster past the files, one chain; each file's one
	// cluster leads into it.
	first := uint32(lay.Used) + 2 + 64
	for j := uint32(0); j < scattered; j++ {
		next := first + 2*(j+1)
		if j == scattered-1 {
			next = 0x0fffffff
		}
		entry(first+2*j, next)
	}
	for _, p := range lay.Files {
		entry(uint32((p.Off-g.heap)/g.cs)+2, first)
	}

	v := openImage(t, img)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	walked := 0
	require.NoError(t, v.Walk(func(p string, dir bool, size int64, ex []fatfs.Extent) error {
		walked++
		return nil
	}))
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(v)
	assert.Equal(t, files, walked)
	kept := int64(after.HeapAlloc) - int64(before.HeapAlloc)
	assert.Less(t, kept, int64(4<<20), "the volume keeps %d KiB after the walk", kept>>10)
	require.Error(t, v.Check(), "the files are cross-linked")
}
