package fatfs_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/clonebay/clonebay/engine/fatfs"
)

func TestValidName(t *testing.T) {
	for _, tc := range []struct {
		name, want string // want: "" when valid
	}{
		{"Manual – Übersicht.pdf", ""},
		{"日本語.txt", ""},
		{strings.Repeat("ü", 255), ""},
		{strings.Repeat("ü", 256), "longer than 255"},
		{strings.Repeat("😀", 128), "longer than 255"}, // two UTF-16 units each
		{"a:b", "holds ':'"},
		{"what?", "holds '?'"},
		{"tab\there", "control character U+0009"},
		{"dot.", "ends with a dot"},
		{"space ", "ends with a space"},
		{"", "an empty name"},
		{"..", `".."`},
		{"bad\xffutf8", "not valid UTF-8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := fatfs.ValidName(tc.name)
			if tc.want == "" {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, fatfs.ErrBadName)
			assert.ErrorContains(t, err, tc.want)
		})
	}
}

func TestLabel(t *testing.T) {
	for _, tc := range []struct {
		kind      fatfs.Kind
		in, out   string
		wantError string
	}{
		{fatfs.FAT32, "promo 2024", "PROMO 2024", ""},
		{fatfs.FAT32, "twelve chars", "", "FAT holds 11"},
		{fatfs.FAT32, "a.b", "", `holds '.'`},
		{fatfs.FAT32, "Übung", "", "which a FAT label cannot"},
		{fatfs.ExFAT, "Übung 2024", "Übung 2024", ""},
		{fatfs.ExFAT, "twelve chars", "", "exFAT holds 11"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := fatfs.Label(tc.kind, tc.in)
			if tc.wantError != "" {
				assert.ErrorIs(t, err, fatfs.ErrBadLabel)
				assert.ErrorContains(t, err, tc.wantError)
				return
			}
			assert.NoError(t, err)
			assert.Equal(t, tc.out, got)
		})
	}
}
