package images

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"time"
)

// FormatVersion is the manifest format this firmware writes. Format 2
// images carry a seal in their data file (see binding); format 1 ones,
// captured by an older firmware, do not and are still read: their
// manifest is bound to their data only by the check stamp.
const FormatVersion = 2

// oldestFormat is the oldest manifest format this firmware reads.
const oldestFormat = 1

// DefaultFrameSize is the uncompressed size of a frame: the engine's
// default chunk, so a chunk of a deploy decompresses exactly one frame.
const DefaultFrameSize = 1 << 20

// Range is a byte range of an image's content.
type Range struct {
	Off int64 `json:"off"`
	Len int64 `json:"len"`
}

// End is the first byte after the range.
func (r Range) End() int64 { return r.Off + r.Len }

// eachPart walks sorted ranges through the window [start, end) of the
// content: fn gets the part [lo, hi) of each range the window holds, in
// order, and whether the range ends inside the window. It returns the
// ranges that go on past the window, for the next one.
func eachPart(rs []Range, start, end int64, fn func(lo, hi int64, complete bool) error) ([]Range, error) {
	for len(rs) > 0 && rs[0].Off < end {
		r := rs[0]
		complete := r.End() <= end
		if err := fn(max(r.Off, start), min(r.End(), end), complete); err != nil {
			return rs, err
		}
		if !complete {
			break
		}
		rs = rs[1:]
	}
	return rs, nil
}

// Manifest says what an image holds. It is written next to the data and
// checked against it before an image is deployed.
type Manifest struct {
	Format  int       `json:"format"`
	Name    string    `json:"name"`
	Created time.Time `json:"created"`
	// Origin says where the image came from: a captured drive or an
	// imported file.
	Origin string `json:"origin"`
	// Size is the size of the content: the master drive's size, or the
	// uncompressed size of an imported file.
	Size int64 `json:"size"`
	// Need is how many bytes a target must hold.
	Need       int64 `json:"need"`
	SectorSize int   `json:"sector_size"`
	// Area is the copy area the image was captured with; Used are the
	// ranges it holds, sorted and disjoint. Everything else reads as zeros
	// and is not written on deploy.
	Area string  `json:"area"`
	Used []Range `json:"used"`
	// Bytes is the total length of Used; SHA256 the SHA-256 of those
	// bytes, in order (for a whole-media image, of the whole master).
	Bytes  int64  `json:"bytes"`
	SHA256 string `json:"sha256"`
	// FrameSize is the uncompressed size of every frame but the last;
	// FrameHashes the XXH64 (hex) of each frame's full content.
	FrameSize   int      `json:"frame_size"`
	FrameHashes []string `json:"frame_hashes"`
	Partitions  []string `json:"partitions,omitempty"`
	Compression string   `json:"compression"`
	Stored      int64    `json:"stored"` // bytes of the data file
	// Notes say how the image was made, for people: which checksum an
	// import matched.
	Notes []string `json:"notes,omitempty"`
}

// binding is the SHA-256 of every field that decides what a deploy
// writes and checks: the seal a format 2 data file carries, and what the
// check stamp binds. The descriptive fields (name, creation time, origin,
// partitions, notes) are left out: they may change without changing what
// is deployed.
func (m *Manifest) binding() [32]byte {
	norm := func(r []Range) []Range {
		if len(r) == 0 {
			return nil
		}
		return r
	}
	b, _ := json.Marshal(struct {
		Format      int
		Size, Need  int64
		SectorSize  int
		Area        string
		Used        []Range
		Bytes       int64
		SHA256      string
		FrameSize   int
		FrameHashes []string
		Compression string
		Stored      int64
	}{m.Format, m.Size, m.Need, m.SectorSize, m.Area, norm(m.Used), m.Bytes, m.SHA256, m.FrameSize, m.FrameHashes, m.Compression, m.Stored})
	return sha256.Sum256(b)
}

// Frames is how many frames the content is cut into.
func (m *Manifest) Frames() int {
	if m.FrameSize <= 0 {
		return 0
	}
	return int((m.Size + int64(m.FrameSize) - 1) / int64(m.FrameSize))
}

// check tells a manifest that cannot be right from one that may be; the
// data is checked against it separately.
func (m *Manifest) check() error {
	switch {
	case m.Format < oldestFormat || m.Format > FormatVersion:
		return fmt.Errorf("manifest format %d: this firmware reads formats %d to %d", m.Format, oldestFormat, FormatVersion)
	case m.Size <= 0:
		return fmt.Errorf("manifest: size %d", m.Size)
	case m.FrameSize < 4096 || m.FrameSize > maxFrameSize || m.FrameSize%4096 != 0:
		return fmt.Errorf("manifest: frame size %d", m.FrameSize)
	case len(m.FrameHashes) != m.Frames():
		return fmt.Errorf("manifest: %d frame hashes for %d frames", len(m.FrameHashes), m.Frames())
	case len(m.SHA256) != 64:
		return fmt.Errorf("manifest: SHA-256 %q", m.SHA256)
	case m.Compression != "zstd":
		return fmt.Errorf("manifest: compression %q", m.Compression)
	case m.SectorSize != 512 && m.SectorSize != 4096:
		return fmt.Errorf("manifest: sector size %d", m.SectorSize)
	}
	var prev, total int64
	for i, r := range m.Used {
		if r.Len <= 0 || r.Off < prev || r.Off > m.Size || r.Len > m.Size-r.Off { // r.End() could wrap
			return fmt.Errorf("manifest: used range %d (%d+%d) is empty, out of order or beyond the %d-byte content", i, r.Off, r.Len, m.Size)
		}
		prev = r.End()
		total += r.Len
	}
	switch {
	case total != m.Bytes:
		return fmt.Errorf("manifest: used ranges add up to %d bytes, not %d", total, m.Bytes)
	case m.Need < prev:
		return fmt.Errorf("manifest: targets need %d bytes but the used ranges end at %d", m.Need, prev)
	}
	return nil
}

func readManifest(path string) (*Manifest, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("manifest %s: %w", path, err)
	}
	if err := m.check(); err != nil {
		return nil, err
	}
	return &m, nil
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$`)

// CheckName accepts names the LCD can show and a FAT stick can carry:
// 1..40 letters, digits, dots, dashes and underscores, not starting with a
// dot or dash.
func CheckName(name string) error {
	if !nameRE.MatchString(name) {
		return fmt.Errorf("image name %q: use 1 to 40 letters, digits, '.', '-' or '_', starting with a letter or digit", name)
	}
	return nil
}

// NameFor makes an image name from a file's name: without its folder,
// image and compression extensions, other characters turned into '-',
// at most 40 characters. "Ubuntu Server 24.04.img.xz" gives
// "Ubuntu-Server-24.04".
func NameFor(file string) string {
	n := file[strings.LastIndexByte(file, '/')+1:]
	for _, ext := range []string{".gz", ".xz", ".zst", ".img", ".iso", ".raw", ".bin"} {
		if len(n) > len(ext) && strings.EqualFold(n[len(n)-len(ext):], ext) {
			n = n[:len(n)-len(ext)]
		}
	}
	b := []byte(n)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			b[i] = '-'
		}
	}
	n = strings.TrimLeft(string(b), ".-")
	if len(n) > 40 {
		n = n[:40]
	}
	if n == "" {
		n = "image"
	}
	return n
}
