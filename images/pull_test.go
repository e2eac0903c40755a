package images_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/images"
)

// store is a web server holding image files: it can drop a response
// part way (once or every time), ignore Range requests, or change a file
// when it drops one. It logs each request.
type store struct {
	mu    sync.Mutex
	files map[string][]byte
	// dropAt cuts the body of a full or ranged response to /path after
	// this many bytes; drops counts how many times more it does so.
	dropAt      map[string]int64
	drops       int
	ignoreRange bool
	noValidator bool
	// busyRanged answers every Range request with 503.
	busyRanged bool
	// changeOnDrop replaces the file when a response is cut.
	changeOnDrop []byte
	log          []string
	sent         int64
}

func newStore(t *testing.T, files map[string][]byte) (*store, *httptest.Server) {
	s := &store{files: files, dropAt: map[string]int64{}}
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func (s *store) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	data, ok := s.files[r.URL.Path]
	s.log = append(s.log, fmt.Sprintf("%s range=%q if-range=%q", r.URL.Path, r.Header.Get("Range"), r.Header.Get("If-Range")))
	drop, cut := s.dropAt[r.URL.Path]
	cut = cut && s.drops > 0
	if cut {
		s.drops--
		if s.changeOnDrop != nil {
			s.files[r.URL.Path], s.changeOnDrop = s.changeOnDrop, nil
		}
	}
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	if s.busyRanged && r.Header.Get("Range") != "" {
		http.Error(w, "busy", http.StatusServiceUnavailable)
		return
	}
	if s.ignoreRange {
		r.Header.Del("Range")
	}
	sum := sha256.Sum256(data)
	if !s.noValidator {
		w.Header().Set("ETag", `"`+hex.EncodeToString(sum[:8])+`"`)
	}
	var out http.ResponseWriter = &counting{ResponseWriter: w, s: s, left: -1}
	if cut {
		out = &counting{ResponseWriter: w, s: s, left: drop}
	}
	http.ServeContent(out, r, "", time.Time{}, bytes.NewReader(data))
}

// counting counts the body bytes sent and cuts the connection after left
// bytes (never when left < 0).
type counting struct {
	http.ResponseWriter
	s    *store
	left int64
}

func (c *counting) Write(p []byte) (int, error) {
	if c.left >= 0 && int64(len(p)) > c.left {
		n, _ := c.ResponseWriter.Write(p[:c.left])
		c.add(n)
		c.ResponseWriter.(http.Flusher).Flush()
		panic(http.ErrAbortHandler) // the connection drops mid-body
	}
	n, err := c.ResponseWriter.Write(p)
	c.add(n)
	if c.left >= 0 {
		c.left -= int64(n)
	}
	return n, err
}

func (c *counting) add(n int) {
	c.s.mu.Lock()
	c.s.sent += int64(n)
	c.s.mu.Unlock()
}

func (s *store) requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.log...)
}

// diskImage is n MiB of disk-like content: runs of zeros and of random
// bytes, so it compresses some.
func diskImage(n int, seed uint64) []byte {
	var key [32]byte
	key[0] = byte(seed)
	r := rand.NewChaCha8(key)
	out := make([]byte, n<<20)
	for i := 0; i < len(out); i += 64 << 10 {
		if out[max(i-1, 0)]%3 > 0 || i == 0 {
			r.Read(out[i : i+64<<10])
		}
	}
	return out
}

func gzipped(t *testing.T, data []byte) []byte {
	var b bytes.Buffer
	zw := gzip.NewWriter(&b)
	_, err := zw.Write(data)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return b.Bytes()
}

func sha(data []byte) string {
	s := sha256.Sum256(data)
	return hex.EncodeToString(s[:])
}

func fastPull(notes *[]string) images.PullOptions {
	var mu sync.Mutex
	return images.PullOptions{MinBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond,
		Note: func(s string) { mu.Lock(); *notes = append(*notes, s); mu.Unlock() }}
}

// libraryNames lists everything in the library's folder, hidden
// partial images included.
func libraryNames(t *testing.T, lib *images.Library) []string {
	ents, err := os.ReadDir(lib.Dir)
	require.NoError(t, err)
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

func TestPull(t *testing.T) {
	content := diskImage(2, 1)
	file := gzipped(t, content)
	changed := diskImage(2, 2)
	changedFile := gzipped(t, changed)
	damaged := append([]byte(nil), file...)
	for i := len(damaged) / 2; i < len(damaged)/2+64; i++ {
		damaged[i] ^= 0x5a
	}
	tests := []struct {
		name  string
		setup func(s *store)
		// want is the content the image must hold; wantErr the error
		// instead (nothing may then be in the library).
		want     []byte
		wantErr  string
		check    func(t *testing.T, s *store, notes []string)
		presign  bool
		withSums bool
		pinned   bool // the file's SHA-256 is given, as a catalog gives it
	}{
		{
			name:     "dropped once, continued from the byte reached",
			setup:    func(s *store) { s.dropAt["/os.img.gz"], s.drops = int64(len(file)/3), 1 },
			withSums: true,
			want:     content,
			check: func(t *testing.T, s *store, notes []string) {
				reqs := s.requests()
				require.Len(t, reqs, 4, "the .sha256, the .bmap, the file, the rest of it: %q", reqs)
				assert.Equal(t, `/os.img.gz range="" if-range=""`, reqs[2])
				assert.Regexp(t, `^/os.img.gz range="bytes=\d+-" if-range="\\"[0-9a-f]{16}\\""$`, reqs[3])
				var from int64
				fmt.Sscanf(reqs[3], `/os.img.gz range="bytes=%d-"`, &from)
				assert.Positive(t, from)
				assert.LessOrEqual(t, from, int64(len(file)/3))
				assert.Less(t, s.sent, int64(len(file))+int64(len(file)/3)+256, "the part already received is not sent again")
				assert.Contains(t, strings.Join(notes, "\n"), "continuing from byte")
			},
		},
		{
			name: "a server that ignores Range: started over cleanly",
			setup: func(s *store) {
				s.dropAt["/os.img.gz"], s.drops, s.ignoreRange = int64(len(file)/2), 1, true
			},
			want: content,
			check: func(t *testing.T, s *store, notes []string) {
				assert.Contains(t, strings.Join(notes, "\n"), "the server sent the whole file again instead of the rest")
				assert.Contains(t, strings.Join(notes, "\n"), "starting over")
			},
		},
		{
			name: "a server without validators: started over, never resumed blind",
			setup: func(s *store) {
				s.dropAt["/os.img.gz"], s.drops, s.noValidator = int64(len(file)/2), 1, true
			},
			want: content,
			check: func(t *testing.T, s *store, notes []string) {
				for _, r := range s.requests() {
					assert.Contains(t, r, `range=""`, "no Range request without a way to check the file")
				}
				assert.Contains(t, strings.Join(notes, "\n"), "no way to continue it safely")
			},
		},
		{
			name: "a file that changes during the download: the new one, whole",
			setup: func(s *store) {
				s.dropAt["/os.img.gz"], s.drops, s.changeOnDrop = int64(len(file)/2), 1, changedFile
			},
			want: changed,
			check: func(t *testing.T, s *store, notes []string) {
				assert.Contains(t, strings.Join(notes, "\n"), "starting over")
			},
		},
		{
			name: "a server that ignores Range and drops every time: refused",
			setup: func(s *store) {
				s.dropAt["/os.img.gz"], s.drops, s.ignoreRange = int64(len(file)/2), 100, true
			},
			wantErr: "and it started over 2 times; nothing was imported",
		},
		{
			name: "a download that cannot be continued past every retry: refused",
			setup: func(s *store) {
				s.dropAt["/os.img.gz"], s.drops, s.busyRanged = int64(len(file)/2), 1, true
			},
			wantErr: "8 attempts to continue failed; the last: HTTP 503 Service Unavailable; nothing was imported",
		},
		{
			name:    "a damaged file: refused",
			setup:   func(s *store) { s.files["/os.img.gz"] = damaged },
			wantErr: "damaged",
		},
		{
			name:     "a file its .sha256 does not match: refused",
			setup:    func(s *store) { s.files["/os.img.gz"] = changedFile },
			withSums: true,
			wantErr:  "the checksum file says",
		},
		{
			name:    "a broken .bmap beside the file: refused",
			setup:   func(s *store) { s.files["/os.img.gz.bmap"] = []byte("<bmap version='2.0'><ImageSize>x") },
			wantErr: "os.img.gz.bmap: not a bmap file",
		},
		{
			// A block map that maps nothing would store zeros, and the
			// pinned checksum would still match the file.
			name: "a pinned checksum: a block map beside the file is not used",
			setup: func(s *store) {
				s.files["/os.img.gz.bmap"] = []byte(fmt.Sprintf(`<bmap version="2.0"><ImageSize>%d</ImageSize><BlockSize>4096</BlockSize>`+
					`<BlocksCount>%d</BlocksCount><MappedBlocksCount>0</MappedBlocksCount><BlockMap></BlockMap></bmap>`, len(content), len(content)/4096))
			},
			pinned: true,
			want:   content,
			check: func(t *testing.T, s *store, notes []string) {
				for _, r := range s.requests() {
					assert.NotContains(t, r, ".bmap", "the block map is not even fetched")
				}
				assert.Contains(t, strings.Join(notes, "\n"), "no block map named beside its pinned checksum: every block is kept")
			},
		},
		{
			name:    "no such file",
			setup:   func(s *store) { delete(s.files, "/os.img.gz") },
			wantErr: "download failed: HTTP 404 Not Found",
		},
		{
			name:    "a presigned URL: its signature is never shown",
			presign: true,
			setup:   func(s *store) { s.dropAt["/os.img.gz"], s.drops = int64(len(file)/3), 1 },
			want:    content,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			files := map[string][]byte{"/os.img.gz": file}
			if tt.withSums {
				files["/os.img.gz.sha256"] = []byte(sha(file) + "  os.img.gz\n")
			}
			s, srv := newStore(t, files)
			if tt.setup != nil {
				tt.setup(s)
			}
			lib, err := images.OpenLibrary(t.TempDir())
			require.NoError(t, err)
			var notes []string
			url := srv.URL + "/os.img.gz"
			if tt.presign {
				url += "?X-Amz-Credential=AKIDEXAMPLE&X-Amz-Signature=5ecre7"
			}
			o := fastPull(&notes)
			if tt.pinned {
				o.SHA256 = sha(file)
			}
			m, err := lib.Pull(context.Background(), url, o)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				assert.Empty(t, libraryNames(t, lib), "nothing is kept, not even a partial image")
				return
			}
			require.NoError(t, err, "notes: %q", notes)
			assert.Equal(t, "os", m.Name)
			assert.Equal(t, sha(tt.want), m.SHA256)
			assert.Equal(t, []string{"os"}, libraryNames(t, lib))
			require.NoError(t, lib.Check(context.Background(), "os", nil))
			assert.Contains(t, m.Origin, srv.URL+"/os.img.gz")
			for _, n := range append(notes, m.Origin) {
				assert.NotContains(t, n, "5ecre7")
				assert.NotContains(t, n, "AKIDEXAMPLE")
			}
			if tt.check != nil {
				tt.check(t, s, notes)
			}
		})
	}
}

// TestPullStoppedByTheCaller: a pull whose context ends while it waits
// for data says so (not that the file is damaged) and keeps nothing.
func TestPullStoppedByTheCaller(t *testing.T) {
	file := gzipped(t, diskImage(2, 9))
	sentHalf := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/os.img.gz" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Length", fmt.Sprint(len(file)))
		w.Write(file[:len(file)/16]) // less than one frame of content
		w.(http.Flusher).Flush()
		close(sentHalf)
		<-r.Context().Done() // the rest never comes
	}))
	defer srv.Close()
	lib, err := images.OpenLibrary(t.TempDir())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-sentHalf
		cancel()
	}()
	var notes []string
	_, err = lib.Pull(ctx, srv.URL+"/os.img.gz", fastPull(&notes))
	require.ErrorIs(t, err, context.Canceled)
	assert.NotContains(t, err.Error(), "damaged")
	assert.Empty(t, libraryNames(t, lib))
}

// TestStalledCompanionsAreGivenUp: a server that sends a companion file's
// (or the catalog's) first bytes and then nothing is given up after the
// idle time, attempt by attempt, as a stalled download is: neither a pull
// nor the catalog's follower waits for it for ever.
func TestStalledCompanionsAreGivenUp(t *testing.T) {
	file := gzipped(t, diskImage(2, 9))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/os.img.gz" {
			w.Write(file)
			return
		}
		w.Header().Set("Content-Length", "4096")
		w.Write([]byte("0123456789ab"))
		w.(http.Flusher).Flush()
		<-r.Context().Done() // the rest never comes
	}))
	defer srv.Close()
	for _, tc := range []struct {
		name string
		run  func(ctx context.Context, lib *images.Library, o images.PullOptions) error
	}{
		{"a checksum file", func(ctx context.Context, lib *images.Library, o images.PullOptions) error {
			_, err := lib.Pull(ctx, srv.URL+"/os.img.gz", o)
			return err
		}},
		{"a catalog", func(ctx context.Context, lib *images.Library, o images.PullOptions) error {
			_, err := images.SyncCatalog(ctx, lib, srv.URL+"/catalog.json", images.CatalogOptions{Pull: o})
			return err
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lib, err := images.OpenLibrary(t.TempDir())
			require.NoError(t, err)
			var notes []string
			o := fastPull(&notes)
			o.Idle, o.Retries = 100*time.Millisecond, 1
			// Only a guard: the idle time ends each attempt long before.
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			err = tc.run(ctx, lib, o)
			require.Error(t, err)
			assert.NoError(t, ctx.Err(), "given up by the idle time, not by the caller")
			assert.ErrorIs(t, err, images.ErrDownload)
			assert.Contains(t, err.Error(), "no data for 100ms at byte 12")
			assert.Empty(t, libraryNames(t, lib))
		})
	}
}
