package fleet

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/record"
)

// ErrLogDamaged is returned (wrapped) when the local log does not verify
// where replication reads it: nothing past the damage is sent.
var ErrLogDamaged = errors.New("the local job log does not verify")

// position is a place in the log: just after entry seq (0: the start),
// whose sum is sum, at byte off.
type position struct {
	seq int64
	sum string
	off int64
}

// durableEnd reads the log's chain head: the log writes it after its own
// fsync, so entries up to it are on the disk for good. Entries past it
// are not replicated yet (a power loss could still take them, and the
// server would then hold an entry the box no longer has). A log without a
// head (an older firmware's) counts as durable to its end: -1.
func durableEnd(files fsys.FS, path string) (count int64, sum string, err error) {
	data, err := files.ReadFile(record.HeadPath(path))
	if errors.Is(err, fs.ErrNotExist) {
		return -1, "", nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("job log head: %w", err)
	}
	var h record.Head
	if err := json.Unmarshal(data, &h); err != nil || h.Count < 0 {
		return 0, "", fmt.Errorf("%w: the chain head %s is not readable", ErrLogDamaged, record.HeadPath(path))
	}
	return h.Count, h.Sum, nil
}

// readEntries reads the log from p on, verifying each entry (its sum, its
// link to the one before and its number), and calls fn with each entry and
// its line as stored (without the newline; valid only during the call)
// and the position after it, until fn returns false (that entry is not
// taken), the
// entry numbered upto has been read (upto < 0: no limit) or the log ends.
// A last line without a newline (being written, or torn by a power loss
// that the appliance's next start cuts off) ends the read. It returns the
// position after the last entry read.
func readEntries(files fsys.FS, path string, p position, upto int64, fn func(e record.Entry, line []byte, after position) bool) (position, error) {
	if upto >= 0 && p.seq >= upto {
		return p, nil
	}
	f, err := files.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return p, fmt.Errorf("job log: %w", err)
	}
	defer f.Close()
	if _, err := f.Seek(p.off, io.SeekStart); err != nil {
		return p, fmt.Errorf("job log %s: %w", path, err)
	}
	br := bufio.NewReaderSize(f, 256<<10)
	for upto < 0 || p.seq < upto {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			// A line longer than the buffer: gather it whole.
			long := append([]byte(nil), line...)
			for errors.Is(err, bufio.ErrBufferFull) {
				line, err = br.ReadSlice('\n')
				long = append(long, line...)
			}
			line = long
		}
		if err == io.EOF {
			return p, nil
		}
		if err != nil {
			return p, fmt.Errorf("job log %s: %w", path, err)
		}
		var e record.Entry
		body := line[:len(line)-1]
		if err := json.Unmarshal(body, &e); err != nil {
			return p, fmt.Errorf("%w: the line after entry %d (byte %d) is not an entry: %v", ErrLogDamaged, p.seq, p.off, err)
		}
		switch {
		case e.Seq != p.seq+1:
			return p, fmt.Errorf("%w: entry %d (byte %d) follows entry %d", ErrLogDamaged, e.Seq, p.off, p.seq)
		case e.Prev != p.sum:
			return p, fmt.Errorf("%w: entry %d (byte %d) does not follow the entry before (one is missing or was changed)", ErrLogDamaged, e.Seq, p.off)
		case e.Checksum() != e.Sum:
			return p, fmt.Errorf("%w: entry %d (byte %d): checksum does not match its content", ErrLogDamaged, e.Seq, p.off)
		}
		next := position{seq: e.Seq, sum: e.Sum, off: p.off + int64(len(line))}
		if fn != nil && !fn(e, body, next) {
			return p, nil
		}
		p = next
	}
	return p, nil
}
