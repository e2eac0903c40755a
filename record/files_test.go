package record_test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
)

// oldSum is the sum the firmware before data duplication gave this
// entry: fields added since (all omitempty) must not change it.
const oldSum = "8a83e0d1c48e6e1d9c20f5f34b9508cf226d3f52554f858952be687c2cde0c16"

func TestFilesFieldsKeepOldEntriesSums(t *testing.T) {
	old := record.Entry{Time: time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC), Job: "j1", Mode: "copy+verify", MasterKind: "image",
		MasterName: "os", MasterSize: 1 << 30, Area: "smart", Bytes: 123, Port: 2, Label: "2", Result: "PASS", Written: 123, Verified: 123}
	files := old
	files.Mode, files.FileSystem, files.VolumeLabel, files.Files, files.FilesSHA256 = "files", "exFAT", "PROMO", 312, "ab"
	l, _, err := record.Open(fsys.OS, filepath.Join(t.TempDir(), "jobs.log"))
	require.NoError(t, err)
	defer l.Close()
	require.NoError(t, l.Append(old, files))
	got := l.Entries()
	assert.Equal(t, oldSum, got[0].Sum, "an entry without the new fields keeps its sum")
	assert.NotEqual(t, got[0].Sum, got[1].Sum)
	assert.Equal(t, "exFAT", got[1].FileSystem)
}
