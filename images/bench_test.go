//go:build linux

package images_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/clonebay/clonebay/images"
)

// benchImage stores 64 MiB of disk-like content (half compressible
// bytes, half zeros) as an image.
func benchImage(b *testing.B) *images.Image {
	b.Helper()
	content := make([]byte, 64*MiB)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range content[:len(content)/2] {
		content[i] = byte(r.IntN(24))
	}
	lib, err := images.OpenLibrary(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	if _, err := lib.Capture(context.Background(), memSource(content), "bench", images.CaptureOptions{}); err != nil {
		b.Fatal(err)
	}
	im, err := lib.Open("bench")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { im.Close() })
	return im
}

// BenchmarkImageRandomRead reads an image at random offsets through its
// seek index: each read decompresses only the frame(s) it touches.
// "frames/read" shows how many frames a read cost on average.
func BenchmarkImageRandomRead(b *testing.B) {
	for _, n := range []int{4 << 10, 1 << 20} {
		b.Run(sizeName(n), func(b *testing.B) {
			im := benchImage(b)
			r := rand.New(rand.NewPCG(2, 2))
			buf := make([]byte, n)
			b.SetBytes(int64(n))
			reads := 0
			start := im.Decoded()
			for b.Loop() {
				off := r.Int64N(im.Size() - int64(n))
				if _, err := im.ReadAt(buf, off); err != nil {
					b.Fatal(err)
				}
				reads++
			}
			b.ReportMetric(float64(im.Decoded()-start)/float64(reads), "frames/read")
		})
	}
}

// BenchmarkImageSequentialRead reads the image from start to end in 1 MiB
// chunks, as a deploy's window does.
func BenchmarkImageSequentialRead(b *testing.B) {
	im := benchImage(b)
	buf := make([]byte, MiB)
	b.SetBytes(im.Size())
	for b.Loop() {
		for off := int64(0); off < im.Size(); off += MiB {
			if _, err := im.ReadAt(buf, off); err != nil {
				b.Fatal(err)
			}
		}
	}
}

// BenchmarkCapture stores 64 MiB of content as an image.
func BenchmarkCapture(b *testing.B) {
	content := make([]byte, 64*MiB)
	r := rand.New(rand.NewPCG(1, 1))
	for i := range content[:len(content)/2] {
		content[i] = byte(r.IntN(24))
	}
	b.SetBytes(int64(len(content)))
	for b.Loop() {
		lib, err := images.OpenLibrary(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := lib.Capture(context.Background(), memSource(content), "bench", images.CaptureOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func sizeName(n int) string {
	if n >= MiB {
		return "1MiB"
	}
	return "4KiB"
}
