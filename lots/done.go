package lots

import (
	"fmt"
	"strings"
	"time"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/record"
)

// Identity is what tells one drive from another across jobs: its serial
// number (or, for an SD or MMC card, its CID), its model and its size.
type Identity struct {
	Serial string
	CID    string
	Model  string // vendor and model, as the record keeps them
	Size   int64
}

// IdentityOf is a drive's identity as the record keeps it.
func IdentityOf(d hal.DriveInfo) Identity {
	return Identity{Serial: d.Serial, CID: d.CID, Model: strings.TrimSpace(d.Vendor + " " + d.Model), Size: d.Size}
}

// identityOf is the identity of a record entry's target.
func identityOf(e record.Entry) Identity {
	return Identity{Serial: e.TargetSerial, CID: e.TargetCID, Model: e.TargetModel, Size: e.TargetSize}
}

// same reports whether two identities name one drive. Two CIDs decide
// alone (a card's serial is 32 bits and may repeat across makers);
// otherwise the serials must match. Model and size must match too.
func (a Identity) same(b Identity) bool {
	if a.Model != b.Model || a.Size != b.Size {
		return false
	}
	if a.CID != "" && b.CID != "" {
		return a.CID == b.CID
	}
	return a.Serial != "" && a.Serial == b.Serial
}

// name is how a message names the identity.
func (a Identity) name() string {
	if a.Serial == "" {
		return "CID " + a.CID
	}
	return "serial " + a.Serial
}

// Verdict is what the record says of a drive in a lot.
type Verdict int

// Verdicts of AlreadyDone.
const (
	// NotDone: no drive of this identity passed in the lot.
	NotDone Verdict = iota
	// Done: a drive of this identity already passed in the lot.
	Done
	// Unknown: the drive cannot be told apart from others (no serial, or
	// a serial that several drives share), so the record cannot say.
	Unknown
)

func (v Verdict) String() string {
	switch v {
	case NotDone:
		return "not done"
	case Done:
		return "already done"
	case Unknown:
		return "unknown"
	}
	return fmt.Sprintf("Verdict(%d)", int(v))
}

// Check is AlreadyDone's answer.
type Check struct {
	Verdict Verdict
	// Reason is a short sentence the panel can show for Done and Unknown.
	Reason string
	// Entry is the PASS that makes the drive Done.
	Entry record.Entry
}

// AlreadyDone says whether a drive of this identity already passed in the
// lot, so that no stick is done twice. A drive without a serial or CID is
// never called a duplicate: the answer is Unknown, with a reason. Nor is
// one whose serial several drives of one job shared (cheap sticks that
// all report one serial), found anywhere in the record.
func AlreadyDone(entries []record.Entry, lot string, id Identity) Check {
	if lot == "" {
		return Check{Verdict: Unknown, Reason: "no lot is running"}
	}
	if id.Serial == "" && id.CID == "" {
		return Check{Verdict: Unknown, Reason: "no serial: cannot tell if it was done"}
	}
	if job, ports, ok := shared(entries, id); ok {
		return Check{Verdict: Unknown, Reason: fmt.Sprintf("%s is shared by several drives (job %s, ports %d and %d): cannot tell if it was done",
			id.name(), job, ports[0], ports[1])}
	}
	for i := len(entries) - 1; i >= 0; i-- {
		e := entries[i]
		if e.Lot != lot || e.Result != "PASS" || !counts(e) || !id.same(identityOf(e)) {
			continue
		}
		return Check{Verdict: Done, Entry: e, Reason: fmt.Sprintf("already done in lot %s: job %s, port %s, %s",
			lot, e.Job, e.Label, e.Time.UTC().Format(time.DateTime))}
	}
	return Check{Verdict: NotDone}
}

// shared finds a job in which two ports held drives of this identity: then
// the identity does not name one drive.
func shared(entries []record.Entry, id Identity) (job string, ports [2]int, ok bool) {
	first := map[string]int{} // job -> first port with the identity
	for _, e := range entries {
		if e.Problem != "" || !id.same(identityOf(e)) {
			continue
		}
		if p, seen := first[e.Job]; seen && p != e.Port {
			return e.Job, [2]int{p, e.Port}, true
		}
		first[e.Job] = e.Port
	}
	return "", ports, false
}
