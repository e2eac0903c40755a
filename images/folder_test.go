package images_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/images"
)

// An image's folder is known by its manifest beside its data, whatever
// else is there; either alone is not one.
func TestIsImageFolder(t *testing.T) {
	tests := []struct {
		name  string
		files []string // made as files; a name ending in / as a folder
		want  bool
	}{
		{"a stored image", []string{"manifest.json", "image.zst", "checked"}, true},
		{"a manifest alone", []string{"manifest.json"}, false},
		{"data alone", []string{"image.zst"}, false},
		{"data that is a folder", []string{"manifest.json", "image.zst/"}, false},
		{"empty", nil, false},
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
			assert.Equal(t, tt.want, images.IsImageFolder(dir))
		})
	}
}
