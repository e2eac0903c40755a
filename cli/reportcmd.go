package cli

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/clonebay/clonebay/internal/fsys"
	"github.com/clonebay/clonebay/lots"
	"github.com/clonebay/clonebay/record"
	"github.com/clonebay/clonebay/report"
)

// cmdReport writes a batch report (PDF or CSV) of a lot or a date range,
// or the erase certificates of a lot, from the production record. The
// record is only read.
func cmdReport(_ context.Context, env *Env, args []string) error {
	fs := NewFlags(env, "report", "--lot NAME | --since DATE --until DATE --out FILE.pdf|FILE.csv [--log FILE]\n"+
		"       clonebay report --certificates --lot NAME --out DIR [--log FILE]")
	logFile := fs.String("log", "/var/lib/clonebay/jobs.log", "the production record")
	lot := fs.String("lot", "", "the lot to report on")
	since := fs.String("since", "", "the first day of a date range (YYYY-MM-DD, local time, or an RFC 3339 time)")
	until := fs.String("until", "", "the last day of a date range (included)")
	out := fs.String("out", "", "the report's file (.pdf or .csv), or the folder for --certificates")
	certs := fs.Bool("certificates", false, "write the erase certificates of a lot (one PDF, a page per drive, and one JSON)")
	appliance := fs.String("appliance", hostname(), "the appliance's name on the report")
	if err := ParseFlags(fs, args); err != nil {
		return err
	}
	switch {
	case *out == "":
		return UsageError("--out is required")
	case *lot != "" && (*since != "" || *until != ""):
		return UsageError("give --lot or a date range (--since and --until), not both")
	case *lot == "" && *since == "" && *until == "":
		return UsageError("give --lot NAME, or --since DATE and --until DATE")
	case *certs && *lot == "":
		return UsageError("--certificates needs --lot NAME")
	case underDev(*out):
		return UsageError("--out %s: refused: a report is a file, never under /dev", *out)
	}
	if *lot != "" {
		if err := lots.CheckName(*lot); err != nil {
			return UsageError("--lot: %v", err)
		}
	}
	var from, to time.Time
	if *lot == "" {
		var err error
		if from, to, err = report.ParseRange(*since, *until, time.Local); err != nil {
			return UsageError("%v", err)
		}
	}
	ext := strings.ToLower(filepath.Ext(*out))
	if !*certs && ext != ".pdf" && ext != ".csv" {
		return UsageError("--out %s: name a .pdf or a .csv file", *out)
	}
	if st, err := os.Stat(*out); err == nil && st.IsDir() != *certs {
		if *certs {
			return UsageError("--out %s: give a folder for the certificates", *out)
		}
		return UsageError("--out %s is a folder: name the report's file", *out)
	}

	rep, err := record.Read(fsys.OS, *logFile)
	if err != nil {
		return err
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(env.Stderr, "note: %s\n", n)
	}
	if err := rep.Err(); err != nil {
		for _, p := range rep.Problems {
			fmt.Fprintf(env.Stderr, "damaged: %s\n", p)
		}
		return fmt.Errorf("%s: %w; a report would vouch for entries no one can trust (see clonebay log verify)", *logFile, err)
	}
	meta := report.Meta{Firmware: env.Version, ApplianceID: *appliance, Generated: time.Now()}

	if *certs {
		list, err := report.Certificates(rep.Entries, *lot, meta)
		if err != nil {
			return err
		}
		base := filepath.Join(*out, "erase-certificates-"+*lot)
		if err := writeCertificates(base, list, meta); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "wrote %d erase certificates of lot %s to %s.pdf and .json\n", len(list), *lot, base)
		return nil
	}

	b := report.Batch{Lot: *lot, Since: from, Until: to, Head: report.HeadOf(rep), Meta: meta}
	if *lot != "" {
		b.Entries, err = report.LotEntries(rep.Entries, *lot)
	} else {
		b.Entries, err = report.RangeEntries(rep.Entries, from, to)
	}
	if err != nil {
		return err
	}
	write := report.WriteBatchPDF
	if ext == ".csv" {
		write = report.WriteBatchCSV
	}
	if err := writeReport(*out, func(w io.Writer) error { return write(w, b) }); err != nil {
		return err
	}
	t := b.Totals()
	fmt.Fprintf(env.Stdout, "wrote %s: %d drives, %d passed, %d failed, %d aborted\n", *out, t.Drives, t.Pass, t.Fail, t.Aborted)
	return nil
}

// writeCertificates writes certificates to base.pdf and base.json: both,
// or neither.
func writeCertificates(base string, list []report.Certificate, meta report.Meta) error {
	return writePair(base,
		func(w io.Writer) error { return report.WriteCertificatesPDF(w, list, meta) },
		func(w io.Writer) error { return report.WriteCertificatesJSON(w, list) })
}

// writePair writes base.pdf and base.json; when the JSON cannot be
// written the PDF is taken back, so a certificate is never half there.
func writePair(base string, pdf, js func(io.Writer) error) error {
	if err := writeReport(base+".pdf", pdf); err != nil {
		return err
	}
	if err := writeReport(base+".json", js); err != nil {
		os.Remove(base + ".pdf")
		return err
	}
	return nil
}

// writeReport makes a report in memory and puts it at path crash-safe
// (a temporary file renamed into place): a report cut short by a full
// stick or a pulled plug is never left under the report's name.
func writeReport(path string, write func(io.Writer) error) error {
	var buf bytes.Buffer
	if err := write(&buf); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := fsys.WriteFileAtomic(fsys.OS, path, buf.Bytes(), 0o644); err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return fmt.Errorf("%s: the disk is full (%d bytes did not fit); nothing was written: %w", path, buf.Len(), err)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// hostname is the default appliance name on reports.
func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown"
	}
	return h
}

// checkCertificateDir checks erase's --certificate folder before any
// drive is erased: it needs the record (a certificate names its entry)
// and must be a folder this command can write.
func checkCertificateDir(dir string, rf recordFlags) error {
	if dir == "" {
		return nil
	}
	if rf.path == "" {
		return UsageError("--certificate needs --record FILE: a certificate names the drive's entry in the production record")
	}
	if underDev(dir) {
		return UsageError("--certificate %s: refused: certificates are files, never under /dev", dir)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("--certificate %s: %w", dir, err)
	}
	probe, err := os.CreateTemp(dir, ".clonebay-probe-*")
	if err != nil {
		return fmt.Errorf("--certificate %s: the folder cannot be written: %w", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}

// writeEraseCertificates writes a certificate (PDF and JSON) for every
// erased drive of a job, named after its record entry. When one cannot
// be written the erase stays recorded, and report --certificates makes
// the certificates again from the record.
func writeEraseCertificates(env *Env, dir string, entries []record.Entry, appliance string) error {
	meta := report.Meta{Firmware: env.Version, ApplianceID: appliance, Generated: time.Now()}
	for _, e := range entries {
		c, err := report.CertificateFor(e, meta)
		if err != nil {
			return err
		}
		base := filepath.Join(dir, fmt.Sprintf("erase-%06d-port%d", e.Seq, e.Port))
		err = writePair(base,
			func(w io.Writer) error { return report.WriteCertificatesPDF(w, []report.Certificate{c}, meta) },
			func(w io.Writer) error { return report.WriteCertificateJSON(w, c) })
		if err != nil {
			return fmt.Errorf("port %d: erase certificate: %w (the erase is recorded; clonebay report --certificates makes it again)", e.Port, err)
		}
		fmt.Fprintf(env.Stdout, "port %d: %s: %s.pdf and .json\n", e.Port, levelText(c), base)
	}
	return nil
}

// levelText says in a few words what a certificate certifies.
func levelText(c report.Certificate) string {
	if c.Sanitization.Level == report.NotSanitized {
		return "not sanitized"
	}
	return report.Standard + " " + string(c.Sanitization.Level)
}
