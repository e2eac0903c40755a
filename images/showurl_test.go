package images_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clonebay/clonebay/images"
)

// TestShowURLHidesWhatIsSecret: a URL in a message never shows a user,
// a password or a query (tokens), whether it parses or not.
func TestShowURLHidesWhatIsSecret(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"https://user:S3CRET@store.example/os.img?token=T0K", "https://store.example/os.img"},
		{"https://user:S3CRET@store.example/a%zz/os.img", "https://store.example/a%zz/os.img"},
		{"https://user:pa/ss?w#rd@store.example/a%zz/os.img", "https://store.example/a%zz/os.img"},
		{"https://store.example/os.img#part", "https://store.example/os.img"},
	} {
		got := images.ShowURL(tc.in)
		assert.Equal(t, tc.want, got, tc.in)
		assert.NotContains(t, got, "S3CRET")
	}
}
