package images

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"

	"github.com/clonebay/clonebay/engine"
	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

// ImportSource is a file to import: an image on a USB stick or any file.
type ImportSource struct {
	Name string // the file's name, for messages and the manifest
	Size int64  // the file's size in bytes
	Open func() (io.ReadCloser, error)
	// BMap, when set, is the image's block map: only its ranges are kept,
	// and each is checked against its checksum.
	BMap *BMap
	// SHA256, when set, is the file's expected SHA-256 (from its .sha256
	// file): the import is kept only when the file matches.
	SHA256 string
}

// Compression names what a file's first bytes say it is.
func Compression(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return "gzip"
	case bytes.HasPrefix(head, []byte{0xfd, '7', 'z', 'X', 'Z', 0}):
		return "xz"
	case bytes.HasPrefix(head, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		return "zstd"
	}
	return "raw"
}

// importRatio is how much larger than the file an image of its content
// may be stored: zstd at its default level stores a disk image in up to
// about 1.3 times what xz does, and about what gzip does.
var importRatio = map[string]float64{"raw": 1.0, "gzip": 1.05, "zstd": 1.05, "xz": 1.35}

// Import reads an image file (raw, .gz, .xz or .zst) into a new image.
// The file is read once: decompressed, hashed and stored as it streams.
// An import that would not fit is refused before it starts; one whose
// file does not match its .sha256 or .bmap checksums, or does not
// decompress, is thrown away with nothing kept.
func (l *Library) Import(ctx context.Context, src ImportSource, name string, progress Progress) (*Manifest, error) {
	if err := CheckName(name); err != nil {
		return nil, err
	}
	rc, err := src.Open()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Name, err)
	}
	defer rc.Close()
	counted := &countingReader{r: rc}
	fileSHA := sha256.New()
	in := bufio.NewReaderSize(io.TeeReader(counted, fileSHA), 1<<20)
	head, _ := in.Peek(6)
	kind := Compression(head)

	need := int64(float64(src.Size)*importRatio[kind]) + overhead(src.Size)
	if src.BMap != nil {
		need = min(need, src.BMap.Mapped()+overhead(src.BMap.ImageSize))
	}
	if err := l.fits(need); err != nil {
		return nil, fmt.Errorf("importing %s (%s, %s): %w", src.Name, engine.FormatSize(src.Size), kind, err)
	}

	var content io.Reader = in
	switch kind {
	case "gzip":
		zr, err := gzip.NewReader(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v", src.Name, ErrDamaged, err)
		}
		defer zr.Close()
		content = zr
	case "xz":
		xr, err := xz.NewReader(in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v", src.Name, ErrDamaged, err)
		}
		content = xr
	case "zstd":
		zr, err := zstd.NewReader(in, zstd.WithDecoderMaxMemory(1<<30))
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v", src.Name, ErrDamaged, err)
		}
		defer zr.Close()
		content = zr
	}

	b, err := l.create(name)
	if err != nil {
		return nil, err
	}
	// A .sha256 may hold the hash of the file or (as some distributions
	// ship it) of its decompressed content. Without a block map, the
	// image's own hash is of all the content; with one, of its mapped
	// ranges only, so the content gets a hash of its own.
	contentSHA := b.sha
	if src.SHA256 != "" && src.BMap != nil {
		contentSHA = sha256.New()
		content = io.TeeReader(content, contentSHA)
	}
	m, err := l.stream(ctx, b, content, src, counted, progress)
	var matched string
	if err == nil && src.SHA256 != "" {
		// The whole file must have been read for its hash to mean anything:
		// the content ends before a trailing part of a damaged file.
		if _, cerr := io.Copy(io.Discard, in); cerr != nil {
			err = fmt.Errorf("%s: %w", src.Name, cerr)
		}
		fileSum, contentSum := hex.EncodeToString(fileSHA.Sum(nil)), hex.EncodeToString(contentSHA.Sum(nil))
		switch {
		case err != nil:
		case fileSum == src.SHA256 && kind == "raw":
			matched = "its SHA-256 matches the checksum file"
		case fileSum == src.SHA256:
			matched = fmt.Sprintf("the SHA-256 of the %s file matches the checksum file", kind)
		case contentSum == src.SHA256:
			matched = fmt.Sprintf("the SHA-256 of its decompressed content (not of the %s file) matches the checksum file", kind)
		case kind == "raw":
			err = fmt.Errorf("%s: %w: its SHA-256 is %s…, the checksum file says %s…: the file is damaged or not the one the checksum is for; nothing was imported",
				src.Name, ErrDamaged, fileSum[:12], src.SHA256[:12])
		default:
			err = fmt.Errorf("%s: %w: its SHA-256 is %s… and that of its decompressed content %s…, the checksum file says %s…: the file is damaged or not the one the checksum is for; nothing was imported",
				src.Name, ErrDamaged, fileSum[:12], contentSum[:12], src.SHA256[:12])
		}
	}
	if err != nil {
		b.abort()
		return nil, err
	}
	m.Origin = fmt.Sprintf("imported from %s (%s, %s)", src.Name, kind, engine.FormatSize(counted.n))
	if matched != "" {
		m.Origin += "; " + matched
		m.Notes = append(m.Notes, matched)
	}
	b.describe = b.partitions
	if err := b.commit(m); err != nil {
		return nil, err
	}
	return m, nil
}

// partitions describes the partitions of the content just written, from
// the data file, before the manifest is.
func (b *builder) partitions(m *Manifest) []string {
	f, err := os.Open(filepath.Join(b.tmp, dataFile))
	if err != nil {
		return nil
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil
	}
	fr, err := openFrames(f, st.Size())
	if err != nil {
		return nil
	}
	defer fr.close()
	im := &Image{name: b.name, m: m, f: f, fr: fr, id: "image:" + b.name}
	return Summarize(im, m.Size, m.SectorSize)
}

// stream cuts the content into frames. With a block map, bytes outside
// its ranges are stored as zeros and each range is checked.
func (l *Library) stream(ctx context.Context, b *builder, content io.Reader, src ImportSource, file *countingReader, progress Progress) (*Manifest, error) {
	// With a block map: the mapped ranges still to come, the next one's
	// index and the hash of what was read of it so far.
	var mapped []Range
	var next int
	var rangeHash hash.Hash
	if src.BMap != nil {
		for _, r := range src.BMap.Ranges {
			mapped = append(mapped, r.Range)
		}
		rangeHash = src.BMap.newHash()
	}
	var off int64
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		buf := make([]byte, b.frameSize)
		n, err := fill(content, buf)
		if err != nil {
			return nil, fmt.Errorf("%s: %w: %v (after %s of content); nothing was imported", src.Name, ErrDamaged, err, engine.FormatSize(off+int64(n)))
		}
		if n == 0 {
			break
		}
		buf = buf[:n]
		end := off + int64(n)
		if src.BMap == nil {
			b.sha.Write(buf)
		} else {
			// Keep only the mapped bytes; check each range as it ends.
			kept := make([]byte, n)
			mapped, err = eachPart(mapped, off, end, func(lo, hi int64, complete bool) error {
				copy(kept[lo-off:hi-off], buf[lo-off:hi-off])
				b.sha.Write(buf[lo-off : hi-off])
				rangeHash.Write(buf[lo-off : hi-off])
				if !complete {
					return nil
				}
				r := src.BMap.Ranges[next]
				if hex.EncodeToString(rangeHash.Sum(nil)) != r.Sum {
					return fmt.Errorf("%s: %w: bytes %d..%d do not match the checksum in the .bmap file; nothing was imported", src.Name, ErrDamaged, r.Off, r.End())
				}
				rangeHash.Reset()
				next++
				return nil
			})
			if err != nil {
				return nil, err
			}
			buf = kept
		}
		if err := b.add(buf); err != nil {
			return nil, err
		}
		off = end
		if progress != nil {
			progress(file.n, src.Size)
		}
		if n < b.frameSize {
			break
		}
	}
	if off == 0 {
		return nil, fmt.Errorf("%s: %w: it holds no content", src.Name, ErrDamaged)
	}
	if off%512 != 0 {
		return nil, fmt.Errorf("%s: its content is %d bytes, not a whole number of 512-byte sectors: not a disk image", src.Name, off)
	}
	m := &Manifest{Size: off, Need: off, SectorSize: 512, Area: "whole image"}
	if src.BMap != nil {
		if src.BMap.ImageSize != off {
			return nil, fmt.Errorf("%s: its content is %d bytes but the .bmap file describes %d", src.Name, off, src.BMap.ImageSize)
		}
		if len(mapped) > 0 {
			return nil, fmt.Errorf("%s: the .bmap file maps bytes beyond the end of the content", src.Name)
		}
		m.Area = "bmap ranges"
		for _, r := range src.BMap.Ranges {
			m.Used = append(m.Used, r.Range)
		}
	} else {
		m.Used = []Range{{0, off}}
	}
	return m, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// fill reads until p is full or the content ends. Unlike io.ReadFull it
// passes a decompressor's io.ErrUnexpectedEOF (a truncated file) on as
// the error it is; a clean end is a short fill and a nil error.
func fill(r io.Reader, p []byte) (int, error) {
	n := 0
	for n < len(p) {
		k, err := r.Read(p[n:])
		n += k
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
	return n, nil
}
