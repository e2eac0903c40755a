package fileset

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"sort"
	"sync"

	"github.com/zeebo/xxh3"
)

// Why every target's files are the set's, with one SHA-256 of the set
// per job:
//
//   - The engine's reader reads each group's disk image once, in order,
//     and every file's bytes pass it exactly once, where the layout put
//     them. Every target of the group is written from these bytes, and
//     the engine's verify reads each target back from its media (caches
//     dropped, direct I/O) and compares every chunk with the XXH3 the
//     reader took of it, patches and all.
//   - One group per job takes every file's SHA-256 of its reader's bytes
//     (OnContent, beside the job) and compares it with the manifest's.
//     When there are other groups, their readers read the set again:
//     streamSums takes each file's XXH3-128 on every group's pass
//     (OnRead), and every group's must equal the checked group's, file by
//     file, or the set changed during the job.
//   - Each target's file system is then read from its media: checked,
//     its tree compared with the manifest, and every file's FAT chain
//     found to lead exactly to where the build placed the file's bytes.
//
// So every file a target's own file system holds is, byte for byte,
// bytes whose SHA-256 is the manifest's, unless an accidental corruption
// meets a collision of a non-cryptographic hash: odds of 2^-64 a chunk
// (no one chooses the bytes a failing drive returns), as for every
// binary copy. The cost is one SHA-256 of the set per job instead of one
// per target, and one read of each target's media.

// streamSums hashes each file of a group as the plan's bytes stream by,
// in disk order.
type streamSums struct {
	files []placed // sorted by offset on the disk
	fast  bool

	mu   sync.Mutex
	next int // the first file not finished
	h    *xxh3.Hasher
	sh   hash.Hash
	fed  int64 // bytes of files[next] fed
	sums map[string]xxh3.Uint128
	shas map[string]string
}

func newFastSums(files []placed) *streamSums {
	return &streamSums{files: files, fast: true, h: xxh3.New(), sums: map[string]xxh3.Uint128{}}
}

func newSHASums(files []placed) *streamSums {
	return &streamSums{files: files, sh: sha256.New(), shas: map[string]string{}}
}

// add takes the chunk of the disk at off; chunks come in order, each
// once, and every file byte is in one of them.
func (s *streamSums) add(off int64, p []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	end := off + int64(len(p))
	i := s.next
	if i < len(s.files) && s.fed == 0 {
		// Files before this chunk that are empty, or (never, with a plan
		// that covers every file) were passed over, are done.
		i += sort.Search(len(s.files)-i, func(k int) bool { return s.files[i+k].off+s.files[i+k].size > off })
		for ; s.next < i; s.next++ {
			s.finish(s.files[s.next].path)
		}
	}
	for ; i < len(s.files) && s.files[i].off < end; i++ {
		f := s.files[i]
		lo, hi := max(f.off+s.fed, off), min(f.off+f.size, end)
		if lo < hi {
			s.write(p[lo-off : hi-off])
			s.fed += hi - lo
		}
		if s.fed < f.size {
			return // goes on in the next chunk
		}
		s.finish(f.path)
		s.next, s.fed = i+1, 0
	}
}

func (s *streamSums) write(p []byte) {
	if s.fast {
		s.h.Write(p)
	} else {
		s.sh.Write(p)
	}
}

func (s *streamSums) finish(path string) {
	if s.fast {
		s.sums[path] = s.h.Sum128()
		s.h.Reset()
		return
	}
	s.shas[path] = hex.EncodeToString(s.sh.Sum(nil))
	s.sh.Reset()
}

// done finishes the empty files at the end.
func (s *streamSums) done() {
	for ; s.next < len(s.files) && s.files[s.next].size == 0; s.next++ {
		s.finish(s.files[s.next].path)
	}
}

// errSetMismatch: the set's bytes are not what its manifest says.
var errSetMismatch = errors.New("the set does not match its manifest")

// against compares the files' SHA-256 with the manifest's.
func (s *streamSums) against(m *Manifest) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done()
	for _, e := range m.Entries {
		if e.Dir {
			continue
		}
		got, ok := s.shas[e.Path]
		switch {
		case !ok:
			return fmt.Errorf("%w: %s was not read in full", errSetMismatch, e.Path)
		case got != e.SHA256:
			return fmt.Errorf("%w: %s hashes to %s…, the manifest says %s…", errSetMismatch, e.Path, got[:12], e.SHA256[:min(12, len(e.SHA256))])
		}
	}
	return nil
}

// same compares two groups' fast sums, file by file.
func (s *streamSums) same(o *streamSums) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	o.mu.Lock()
	defer o.mu.Unlock()
	s.done()
	o.done()
	for path, sum := range o.sums {
		if got, ok := s.sums[path]; !ok || got != sum {
			return fmt.Errorf("%w: %s was read differently for targets of another size", ErrChanged, path)
		}
	}
	return nil
}
