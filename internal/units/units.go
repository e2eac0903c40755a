// Package units writes the byte counts the appliance shows on the LCD, on
// the command line and in its messages, one way everywhere.
//
// It imports only the standard library (ui and engine both use it).
package units

import (
	"strconv"
	"strings"
)

var names = []string{"B", "KB", "MB", "GB", "TB", "PB"}

// Size writes a byte count in decimal units with two decimals at most:
// "7.45 GB", "512 MB", "4096 B". The decimals are truncated, never
// rounded up, so a target is never shown as big as a master it is
// smaller than. Compact is the LCD's form: no space, and no decimals from
// 100 up ("7.45GB", "512MB", "4096B").
func Size(n int64, compact bool) string {
	v := float64(n)
	u := 0
	for v >= 1000 && u < len(names)-1 {
		v /= 1000
		u++
	}
	sep := " "
	if compact {
		sep = ""
	}
	switch {
	case u == 0:
		return strconv.FormatInt(n, 10) + sep + names[u]
	case compact && v >= 100:
		return strconv.FormatInt(int64(v), 10) + names[u]
	}
	s := strconv.FormatFloat(float64(int64(v*100))/100, 'f', 2, 64)
	s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	return s + sep + names[u]
}
