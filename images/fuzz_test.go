package images

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// seekableSeed is a small seekable zstd file of three frames.
func seekableSeed(t testing.TB) []byte {
	var buf bytes.Buffer
	fw, err := newFrameWriter(&buf, zstd.SpeedFastest)
	if err != nil {
		t.Fatal(err)
	}
	for i, n := range []int{4096, 4096, 1000} {
		data := bytes.Repeat([]byte{byte(i), 1, 2, 3}, n/4)
		if err := fw.writeFrame(data, fw.compress(data, nil)); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.close(sha256.Sum256([]byte("manifest"))); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzSeekTable: any bytes as an image's data file are refused or read
// without a panic, and what reads is what the seek table promises.
func FuzzSeekTable(f *testing.F) {
	seed := seekableSeed(f)
	f.Add(seed)
	f.Add(seed[:len(seed)-3])
	f.Add(append(bytes.Clone(seed[:len(seed)-3*entrySize-footerSize-8-sealFrameSize]), seed[len(seed)-3*entrySize-footerSize-8:]...)) // no seal
	f.Add(seed[len(seed)/2:])
	// A first frame 2^32-16 bytes long, which an int of 32 bits (ARM) reads
	// as -16, and a second one as long as both and 16 more: the lengths
	// still add up to where the seek table starts.
	wrapped := bytes.Clone(seed)
	table := len(wrapped) - 3*entrySize - footerSize
	first, second := binary.LittleEndian.Uint32(wrapped[table:]), binary.LittleEndian.Uint32(wrapped[table+entrySize:])
	binary.LittleEndian.PutUint32(wrapped[table:], 1<<32-16)
	binary.LittleEndian.PutUint32(wrapped[table+entrySize:], first+second+16)
	f.Add(wrapped)
	f.Fuzz(func(t *testing.T, data []byte) {
		fr, err := openFrames(bytes.NewReader(data), int64(len(data)))
		if err != nil {
			return
		}
		defer fr.close()
		if fr.size > 1<<24 {
			return
		}
		buf := make([]byte, fr.size)
		n, err := fr.ReadAt(buf, 0)
		if err == nil && int64(n) != fr.size {
			t.Fatalf("read %d of %d bytes without an error", n, fr.size)
		}
	})
}

// bmapSeed is a block map in bmaptool's 2.0 format with its own checksum.
func bmapSeed() []byte {
	sum := func(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }
	text := fmt.Sprintf(`<?xml version="1.0" ?>
<bmap version="2.0">
    <ImageSize> 20480 </ImageSize>
    <BlockSize> 4096 </BlockSize>
    <BlocksCount> 5 </BlocksCount>
    <MappedBlocksCount> 3 </MappedBlocksCount>
    <ChecksumType> sha256 </ChecksumType>
    <BmapFileChecksum> %s </BmapFileChecksum>
    <BlockMap>
        <Range chksum="%s"> 0-1 </Range>
        <Range chksum="%s"> 4 </Range>
    </BlockMap>
</bmap>
`, strings.Repeat("0", 64), sum(make([]byte, 8192)), sum(make([]byte, 4096)))
	self := sum([]byte(text))
	return []byte(strings.Replace(text, strings.Repeat("0", 64), self, 1))
}

// FuzzBMap: a .bmap file is parsed or refused; what parses is sorted,
// disjoint and inside the image.
func FuzzBMap(f *testing.F) {
	seed := bmapSeed()
	if _, err := ParseBMap(seed); err != nil {
		f.Fatalf("the seed does not parse: %v", err)
	}
	f.Add(seed)
	f.Add([]byte(`<bmap version="1.4"><ImageSize>4096</ImageSize><BlockSize>4096</BlockSize><BlocksCount>1</BlocksCount><BlockMap><Range sha1="da39a3ee5e6b4b0d3255bfef95601890afd80709">0</Range></BlockMap></bmap>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := ParseBMap(data)
		if err != nil {
			return
		}
		var prev int64
		for _, r := range b.Ranges {
			if r.Off < prev || r.Len <= 0 || r.End() > b.ImageSize {
				t.Fatalf("range %+v after %d in an image of %d bytes", r.Range, prev, b.ImageSize)
			}
			prev = r.End()
		}
	})
}

// FuzzManifest: a manifest is accepted only when its numbers agree.
func FuzzManifest(f *testing.F) {
	m := Manifest{Format: FormatVersion, Name: "x", Size: 8192, Need: 8192, SectorSize: 512, Area: "whole media",
		Used: []Range{{0, 8192}}, Bytes: 8192, SHA256: strings.Repeat("a", 64), FrameSize: 4096,
		FrameHashes: []string{"0", "1"}, Compression: "zstd"}
	js, _ := json.Marshal(m)
	f.Add(js)
	// A second range whose end, and the ranges' total, wrap around.
	m.Used = []Range{{0, 4096}, {4096, 1<<63 - 1}}
	m.Bytes = 4096
	m.Bytes += 1<<63 - 1
	js, _ = json.Marshal(m)
	f.Add(js)
	f.Fuzz(func(t *testing.T, data []byte) {
		var m Manifest
		if json.Unmarshal(data, &m) != nil || m.check() != nil {
			return
		}
		if m.Frames() != len(m.FrameHashes) || m.Bytes > m.Size {
			t.Fatalf("accepted a manifest that does not add up: %+v", m)
		}
		for _, r := range m.Used {
			if r.Off < 0 || r.Len <= 0 || r.Off > m.Size || r.Len > m.Size-r.Off {
				t.Fatalf("accepted a used range %+v outside the %d-byte content", r, m.Size)
			}
		}
	})
}

// FuzzSHA256File: a checksum file gives a 64-digit hash or an error.
func FuzzSHA256File(f *testing.F) {
	f.Add([]byte(strings.Repeat("ab", 32)+"  disk.img.xz\n"), "disk.img.xz")
	f.Add([]byte(strings.Repeat("cd", 32)+"\n"), "other.img")
	f.Fuzz(func(t *testing.T, data []byte, file string) {
		sum, err := ParseSHA256File(data, file)
		if err == nil && (len(sum) != 64 || strings.Trim(sum, "0123456789abcdef") != "") {
			t.Fatalf("returned %q", sum)
		}
	})
}
