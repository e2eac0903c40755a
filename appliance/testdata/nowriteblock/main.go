// Command nowriteblock is a backend that cannot write-block a master.
// It must not compile: TestAMasterMustBeWriteBlocked builds it and
// expects the compiler to refuse it as a hal.DriveOpener.
package main

import (
	"github.com/clonebay/clonebay/appliance"
	"github.com/clonebay/clonebay/hal"
)

// opener opens every drive, masters too, as plain readers.
type opener struct{}

func (opener) OpenRead(string) (hal.DriveReader, error)   { return nil, nil }
func (opener) OpenMaster(string) (hal.DriveReader, error) { return nil, nil }
func (opener) OpenWrite(string) (hal.Drive, error)        { return nil, nil }

func main() {
	_ = appliance.Hardware{Opener: opener{}}
}
