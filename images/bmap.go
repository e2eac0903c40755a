package images

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
)

// BMap is a block map as bmaptool writes it: the image's size and the
// block ranges that hold data, each with a checksum. Only mapped ranges
// are stored and written.
type BMap struct {
	ImageSize int64
	BlockSize int64
	Ranges    []BMapRange
	newHash   func() hash.Hash
}

// BMapRange is a mapped byte range and the hex checksum of its bytes.
type BMapRange struct {
	Range
	Sum string
}

type bmapXML struct {
	XMLName          xml.Name `xml:"bmap"`
	Version          string   `xml:"version,attr"`
	ImageSize        string   `xml:"ImageSize"`
	BlockSize        string   `xml:"BlockSize"`
	BlocksCount      string   `xml:"BlocksCount"`
	ChecksumType     string   `xml:"ChecksumType"`
	BmapFileChecksum string   `xml:"BmapFileChecksum"`
	BmapFileSHA1     string   `xml:"BmapFileSHA1"`
	Ranges           []struct {
		Sum  string `xml:"chksum,attr"`
		SHA1 string `xml:"sha1,attr"`
		Text string `xml:",chardata"`
	} `xml:"BlockMap>Range"`
}

// ParseBMap reads a .bmap file (format 1.x with SHA-1 or 2.x with SHA-256
// checksums) and checks its own checksum when it carries one.
func ParseBMap(data []byte) (*BMap, error) {
	var x bmapXML
	if err := xml.Unmarshal(data, &x); err != nil {
		return nil, notBMap(data, err)
	}
	num := func(field, s string) (int64, error) {
		if strings.TrimSpace(s) == "" {
			return 0, fmt.Errorf("bmap: it has no <%s>", field)
		}
		v, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
		if err != nil || v < 0 {
			return 0, fmt.Errorf("bmap: %s %q is not a number", field, strings.TrimSpace(s))
		}
		return v, nil
	}
	major := strings.SplitN(strings.TrimSpace(x.Version), ".", 2)[0]
	b := &BMap{}
	var err error
	if b.ImageSize, err = num("ImageSize", x.ImageSize); err != nil {
		return nil, err
	}
	if b.BlockSize, err = num("BlockSize", x.BlockSize); err != nil {
		return nil, err
	}
	if b.BlockSize < 512 || b.BlockSize%512 != 0 || b.BlockSize > 1<<20 {
		return nil, fmt.Errorf("bmap: block size %d is not a multiple of 512 up to 1 MiB", b.BlockSize)
	}
	count, err := num("BlocksCount", x.BlocksCount)
	if err != nil {
		return nil, err
	}
	if want := (b.ImageSize + b.BlockSize - 1) / b.BlockSize; count != want {
		return nil, fmt.Errorf("bmap: %d blocks do not make an image of %d bytes", count, b.ImageSize)
	}
	sumLen := 0
	switch {
	case major == "1":
		b.newHash, sumLen = sha1.New, 40
		if x.BmapFileSHA1 != "" {
			if err := checkSelf(data, x.BmapFileSHA1, sha1.New); err != nil {
				return nil, err
			}
		}
	case major == "2" && strings.EqualFold(strings.TrimSpace(x.ChecksumType), "sha256"):
		b.newHash, sumLen = sha256.New, 64
		if x.BmapFileChecksum != "" {
			if err := checkSelf(data, x.BmapFileChecksum, sha256.New); err != nil {
				return nil, err
			}
		}
	default:
		return nil, fmt.Errorf("bmap: version %q with checksum type %q is not supported", x.Version, strings.TrimSpace(x.ChecksumType))
	}
	var prev int64
	for i, r := range x.Ranges {
		first, last, ok := strings.Cut(strings.TrimSpace(r.Text), "-")
		if !ok {
			last = first
		}
		lo, err1 := strconv.ParseInt(strings.TrimSpace(first), 10, 64)
		hi, err2 := strconv.ParseInt(strings.TrimSpace(last), 10, 64)
		if err1 != nil || err2 != nil || lo > hi || lo*b.BlockSize < prev || hi >= count {
			return nil, fmt.Errorf("bmap: range %d %q is not a block range in order inside the image", i+1, strings.TrimSpace(r.Text))
		}
		sum := strings.ToLower(strings.TrimSpace(r.Sum + r.SHA1))
		if len(sum) != sumLen {
			return nil, fmt.Errorf("bmap: range %d %q has no valid checksum", i+1, strings.TrimSpace(r.Text))
		}
		off := lo * b.BlockSize
		end := min((hi+1)*b.BlockSize, b.ImageSize)
		b.Ranges = append(b.Ranges, BMapRange{Range{off, end - off}, sum})
		prev = end
	}
	return b, nil
}

// notBMap says why data, which the XML decoder refused, is not a block
// map.
func notBMap(data []byte, err error) error {
	var syntax *xml.SyntaxError
	var unmarshal xml.UnmarshalError
	switch {
	case len(bytes.TrimSpace(data)) == 0:
		return fmt.Errorf("not a bmap file: it is empty")
	case errors.Is(err, io.EOF):
		return fmt.Errorf("not a bmap file: it holds no XML element")
	case errors.As(err, &syntax) && syntax.Msg == "unexpected EOF":
		return fmt.Errorf("not a bmap file: its XML ends at line %d before it is complete (truncated?)", syntax.Line)
	case errors.As(err, &syntax):
		return fmt.Errorf("not a bmap file: it is not XML (line %d: %s)", syntax.Line, syntax.Msg)
	case errors.As(err, &unmarshal):
		return fmt.Errorf("not a bmap file: %s", strings.Replace(string(unmarshal), "expected element type <bmap> but have", "its root element is not <bmap> but", 1))
	}
	return fmt.Errorf("not a bmap file: %w", err)
}

// checkSelf checks a bmap file's checksum of itself, taken with the
// checksum field filled with zeros.
func checkSelf(data []byte, sum string, newHash func() hash.Hash) error {
	sum = strings.TrimSpace(sum)
	zero := strings.Repeat("0", len(sum))
	h := newHash()
	h.Write(bytes.Replace(data, []byte(sum), []byte(zero), 1))
	if got := hex.EncodeToString(h.Sum(nil)); !strings.EqualFold(got, sum) {
		return fmt.Errorf("bmap: the file's own checksum does not match (it is damaged or edited)")
	}
	return nil
}

// Mapped is the number of bytes the map holds.
func (b *BMap) Mapped() int64 {
	var n int64
	for _, r := range b.Ranges {
		n += r.Len
	}
	return n
}

// ParseSHA256File reads a checksum file in sha256sum's format ("HASH
// NAME" lines, or a bare hash) and returns the hash given for file.
func ParseSHA256File(data []byte, file string) (string, error) {
	var only string
	lines := 0
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || strings.HasPrefix(f[0], "#") {
			continue
		}
		lines++
		sum := strings.ToLower(f[0])
		if len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "" {
			return "", fmt.Errorf("checksum file: %q is not a SHA-256", f[0])
		}
		if len(f) > 1 && strings.TrimPrefix(f[len(f)-1], "*") == file {
			return sum, nil
		}
		only = sum
	}
	if lines == 1 {
		return only, nil
	}
	return "", fmt.Errorf("checksum file: no SHA-256 for %s", file)
}
