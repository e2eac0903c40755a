package cli

import (
	"os"
	"runtime/debug"
)

// processAllowance is the memory the command needs beside a job's
// buffers: the runtime (stacks, the collector's own structures), the
// command's state and the garbage made between two collections.
const processAllowance = 10 << 20

// limitMemory keeps the process near a job's memory budget. The job's
// buffers are made once and reused, so the heap is mostly live; by
// default the garbage collector still lets it grow by as much again
// before it collects, which at 1 -> 16 took an image deploy from about
// 45 MiB live to 90-140 MiB of RSS. A soft limit of the budget and the
// process's allowance makes it collect first. A GOMEMLIMIT the user set
// is left as it is. The returned function puts the previous limit back.
func limitMemory(budget int64) (restore func()) {
	if os.Getenv("GOMEMLIMIT") != "" || budget <= 0 {
		return func() {}
	}
	old := debug.SetMemoryLimit(budget + processAllowance)
	return func() { debug.SetMemoryLimit(old) }
}
