package fleet

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys/fsystest"
)

func TestRedactHidesThePassword(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"postgres://box:s3cret-Pw@db.example:5432/fleet?sslmode=require", "postgres://box:xxxxx@db.example:5432/fleet?sslmode=require"},
		{"postgres://box@db.example/fleet", "postgres://box@db.example/fleet"},
		{"postgresql://box:p%40ss%2Fword@db/fleet", "postgresql://box:xxxxx@db/fleet"},
		{"postgres://db/fleet?user=box&password=s3cret-Pw", "postgres://db/fleet?password=xxxxx&user=box"},
		{"postgres://box:s3cret@Pw@db:badport/fleet", "postgres://box:xxxxx@db:badport/fleet"},
		{"postgres://box:pa/ss+Pw==@db.example/clonebay", "postgres://box:xxxxx@db.example/clonebay"},
		{"host=db user=box password=s3cret-Pw dbname=fleet", "host=db user=box password=xxxxx dbname=fleet"},
		{"host=db password='s3cret Pw' dbname=fleet", "host=db password=xxxxx dbname=fleet"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			assert.Equal(t, tt.want, Redact(tt.in))
		})
	}
}

// TestErrorsNeverShowThePassword: a URL that does not parse makes pgx and
// net/url quote it in their errors; what this package returns has the
// password hidden in every form it was given in.
func TestErrorsNeverShowThePassword(t *testing.T) {
	for _, url := range []string{
		"postgres://box:s3cret-Pw@db.example:badport/fleet",
		"postgres://box:s3cret%2DPw@db.example:badport/fleet",
		"postgres://box:s3cret/Pw@db.example/fleet",
		"postgres://box:s3cret-Pw@db.example/fleet?sslmode=bogus",
		"postgres://box@db.example/fleet?password=s3cret-Pw&connect_timeout=x",
	} {
		t.Run(url, func(t *testing.T) {
			_, err := NewReplicator(Options{URL: url, ID: "box-1", Log: "/var/lib/clonebay/jobs.log"})
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "s3cret")
			assert.Contains(t, err.Error(), "xxxxx", "the URL is shown, with its password hidden")
		})
	}
}

func TestBackoffDoublesUpToItsCap(t *testing.T) {
	const lo, hi = time.Second, time.Minute
	tests := []struct {
		n       int
		r       float64
		want    time.Duration
		comment string
	}{
		{1, 0, 500 * time.Millisecond, "the first wait is half to all of the minimum"},
		{1, 0.999999, time.Second - time.Microsecond, ""},
		{2, 0, time.Second, "each failure doubles it"},
		{4, 0.5, 6 * time.Second, ""},
		{7, 0.999999, hi - 60*time.Microsecond, "64 s would pass the cap"},
		{50, 0, hi / 2, "many failures stay at the cap, still spread"},
		{50, 0.999999, hi - 60*time.Microsecond, ""},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d failures, r=%g", tt.n, tt.r), func(t *testing.T) {
			assert.InDelta(t, float64(tt.want), float64(backoff(tt.n, lo, hi, tt.r)), float64(time.Millisecond), tt.comment)
			assert.LessOrEqual(t, backoff(tt.n, lo, hi, tt.r), hi)
		})
	}
}

func TestStatusLine(t *testing.T) {
	tests := []struct {
		s    Status
		want string
	}{
		{Status{State: StateSynced}, "Sync: up to date"},
		{Status{State: StateSending, Behind: 12}, "Sync: 12 behind"},
		{Status{State: StateUnreachable, Behind: 12}, "Sync: server unreachable"},
		{Status{State: StateConflict}, "Sync: conflict"},
		{Status{State: StateSchemaTooNew}, "Sync: schema too new"},
	}
	for _, tt := range tests {
		t.Run(tt.want, func(t *testing.T) { assert.Equal(t, tt.want, tt.s.Line()) })
	}
}

func TestMetrics(t *testing.T) {
	var b strings.Builder
	require.NoError(t, Status{State: StateUnreachable, Behind: 7, Acked: 3}.WriteMetrics(&b))
	assert.Contains(t, b.String(), "clonebay_replication_behind_entries 7\n")
	assert.Contains(t, b.String(), `clonebay_replication_state{state="server unreachable"} 1`)
	assert.Contains(t, b.String(), `clonebay_replication_state{state="synced"} 0`)
}

func TestLoadOrCreateID(t *testing.T) {
	const path = "/var/lib/clonebay/appliance-id"
	t.Run("made once, then kept", func(t *testing.T) {
		disk := fsystest.NewDisk()
		id, err := LoadOrCreateID(disk, path)
		require.NoError(t, err)
		assert.Regexp(t, `^[0-9a-f]{32}$`, id)
		again, err := LoadOrCreateID(disk, path)
		require.NoError(t, err)
		assert.Equal(t, id, again)
	})
	t.Run("survives a power cut once returned", func(t *testing.T) {
		disk := fsystest.NewDisk()
		id, err := LoadOrCreateID(disk, path)
		require.NoError(t, err)
		again, err := LoadOrCreateID(disk.Cut(nil), path)
		require.NoError(t, err)
		assert.Equal(t, id, again)
	})
	t.Run("a damaged file is reported, not replaced", func(t *testing.T) {
		disk := fsystest.NewDisk()
		require.NoError(t, disk.MkdirAll("/var/lib/clonebay", 0o755))
		f, err := disk.OpenFile(path, 0o101, 0o644) // O_WRONLY|O_CREATE
		require.NoError(t, err)
		_, err = f.Write([]byte("\x00\x00garbage id\n"))
		require.NoError(t, err)
		require.NoError(t, f.Close())
		_, err = LoadOrCreateID(disk, path)
		assert.ErrorContains(t, err, "is damaged")
		data, rerr := disk.ReadFile(path)
		require.NoError(t, rerr)
		assert.Equal(t, "\x00\x00garbage id\n", string(data))
	})
	t.Run("an unreadable folder is an error", func(t *testing.T) {
		disk := fsystest.NewDisk()
		disk.PowerOffAfter(0)
		_, err := LoadOrCreateID(disk, path)
		assert.True(t, errors.Is(err, fsystest.ErrPowerOff))
	})
}
