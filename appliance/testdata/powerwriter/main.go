// Command powerwriter appends jobs to a production record and saves the
// settings, over and over, until it is killed: TestPowerLoss kills it at
// random points. It prints "writing" once its first append is synced.
package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/clonebay/clonebay/appliance"
	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: powerwriter DIR")
		os.Exit(2)
	}
	dir := os.Args[1]
	l, _, err := record.Open(fsys.OS, filepath.Join(dir, "jobs.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(3)
	}
	for i := 0; ; i++ {
		e := record.Entry{Time: time.Now(), Job: "power-" + strconv.Itoa(i), Mode: "copy+verify", Port: 2 + i%7,
			Result: "PASS", Written: int64(i) << 20, Reason: "writer " + strconv.Itoa(os.Getpid())}
		if err := l.Append(e, e); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(4)
		}
		s := appliance.DefaultSettings()
		s.Panel.AutoStart = i % 8
		if err := fsys.WriteFileAtomic(fsys.OS, filepath.Join(dir, "settings.yaml"), appliance.MarshalSettings(s), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(5)
		}
		if i == 0 {
			fmt.Println("writing")
		}
	}
}
