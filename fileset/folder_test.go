package fileset_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/fileset"
)

// A file set's folder is known by its manifest beside its files folder;
// either alone is not one.
func TestIsSetFolder(t *testing.T) {
	tests := []struct {
		name  string
		files []string // made as files; a name ending in / as a folder
		want  bool
	}{
		{"a stored set", []string{"manifest.json", "files/", "checked"}, true},
		{"a manifest alone", []string{"manifest.json"}, false},
		{"files alone", []string{"files/"}, false},
		{"files that is a file", []string{"manifest.json", "files"}, false},
		{"a manifest that is a folder", []string{"manifest.json/", "files/"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for _, f := range tt.files {
				if name, ok := strings.CutSuffix(f, "/"); ok {
					require.NoError(t, os.Mkdir(filepath.Join(dir, name), 0o755))
					continue
				}
				require.NoError(t, os.WriteFile(filepath.Join(dir, f), []byte("x"), 0o644))
			}
			assert.Equal(t, tt.want, fileset.IsSetFolder(dir))
		})
	}
}
