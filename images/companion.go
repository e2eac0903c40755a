package images

import "strings"

// CompanionNames are the names a companion file (".bmap", ".sha256") of
// the image file at path may have, most specific first: "a.img.xz.bmap",
// "a.img.bmap", "a.bmap". A stick import and the command line look for
// the same names.
func CompanionNames(path, ext string) []string {
	names := []string{path + ext}
	base := path
	for _, e := range []string{".gz", ".xz", ".zst", ".img", ".iso", ".raw", ".bin"} {
		if t, ok := strings.CutSuffix(strings.ToLower(base), e); ok {
			base = base[:len(t)]
			names = append(names, base+ext)
		}
	}
	return names
}
