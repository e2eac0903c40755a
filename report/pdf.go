package report

import (
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/go-pdf/fpdf"
)

// doc is an A4 page layout on fpdf with the PDF core fonts (Helvetica,
// Courier), which every viewer has, so nothing is embedded and a report
// is small. Text is translated to the core fonts' code page; a character
// it lacks is shown as "?" (the CSV and JSON carry the exact text).
type doc struct {
	pdf   *fpdf.Fpdf
	tr    func(string) string
	width float64 // usable width, mm
}

// Page geometry, in mm.
const (
	margin   = 15.0
	lineH    = 5.0
	smallH   = 3.8
	pageFoot = 12.0
)

// newDoc starts a document; footer is printed at the bottom of every page
// with the page number.
func newDoc(title string, m Meta, footer string) *doc {
	p := fpdf.New("P", "mm", "A4", "")
	p.SetMargins(margin, margin, margin)
	p.SetAutoPageBreak(true, margin+pageFoot)
	p.SetCatalogSort(true) // the same entries make the same bytes
	p.SetCreationDate(m.Generated)
	p.SetModificationDate(m.Generated)
	p.SetTitle(title, true)
	p.SetCreator("clonebay "+m.Firmware, true)
	p.SetProducer("clonebay "+m.Firmware, true)
	p.AliasNbPages("{nb}")
	d := &doc{pdf: p, tr: p.UnicodeTranslatorFromDescriptor("")}
	w, _ := p.GetPageSize()
	d.width = w - 2*margin
	p.SetFooterFunc(func() {
		p.SetY(-margin - 4)
		p.SetFont("Helvetica", "", 7)
		p.SetTextColor(90, 90, 90)
		p.CellFormat(d.width*0.8, 4, d.text(footer), "T", 0, "L", false, 0, "")
		p.CellFormat(d.width*0.2, 4, fmt.Sprintf("page %d of {nb}", p.PageNo()), "T", 0, "R", false, 0, "")
		p.SetTextColor(0, 0, 0)
	})
	return d
}

// text makes s printable in the core fonts: control characters and
// characters outside the code page become "?".
func (d *doc) text(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case unicode.IsControl(r) || !unicode.IsPrint(r) && r != ' ':
			b.WriteByte('?')
		case r < 0x80:
			b.WriteRune(r)
		default:
			t := d.tr(string(r))
			if t == "." { // the translator's mark for a character it lacks
				t = "?"
			}
			b.WriteString(t)
		}
	}
	return b.String()
}

// fit shortens text (already translated) to w mm in the current font,
// marking the cut with "...".
func (d *doc) fit(s string, w float64) string {
	if d.pdf.GetStringWidth(s) <= w {
		return s
	}
	for len(s) > 0 && d.pdf.GetStringWidth(s+"...") > w {
		s = s[:len(s)-1]
	}
	return s + "..."
}

// fitEnd shortens text (already translated) to w mm from its start,
// keeping its end (a path's file name).
func (d *doc) fitEnd(s string, w float64) string {
	if d.pdf.GetStringWidth(s) <= w {
		return s
	}
	for len(s) > 0 && d.pdf.GetStringWidth("..."+s) > w {
		s = s[1:]
	}
	return "..." + s
}

func (d *doc) font(style string, size float64) { d.pdf.SetFont("Helvetica", style, size) }

// heading writes a section heading.
func (d *doc) heading(s string) {
	d.pdf.Ln(2)
	d.font("B", 11)
	d.pdf.CellFormat(d.width, 7, d.text(s), "B", 1, "L", false, 0, "")
	d.pdf.Ln(1)
}

// field writes "label: value" on one line, the value wrapped when long.
func (d *doc) field(label, value string) {
	const labelW = 42.0
	d.font("B", 9)
	d.pdf.CellFormat(labelW, lineH, d.text(label), "", 0, "L", false, 0, "")
	d.font("", 9)
	d.pdf.MultiCell(d.width-labelW, lineH, d.text(value), "", "L", false)
}

// mono writes a field whose value is a checksum, in a fixed-width font.
func (d *doc) mono(label, value string) {
	const labelW = 42.0
	d.font("B", 9)
	d.pdf.CellFormat(labelW, lineH, d.text(label), "", 0, "L", false, 0, "")
	d.pdf.SetFont("Courier", "", 8)
	d.pdf.MultiCell(d.width-labelW, lineH, d.text(value), "", "L", false)
}

// para writes a wrapped paragraph.
func (d *doc) para(style string, size float64, s string) {
	d.font(style, size)
	d.pdf.MultiCell(d.width, lineH, d.text(s), "", "L", false)
}

// output writes the finished document to w.
func (d *doc) output(w io.Writer) error {
	if err := d.pdf.Error(); err != nil {
		return fmt.Errorf("pdf: %w", err)
	}
	return d.pdf.Output(w)
}

// stamp is how a report shows a time: UTC, to the second.
func stamp(t time.Time) string {
	if t.IsZero() {
		return "not recorded"
	}
	return t.UTC().Format("2006-01-02 15:04:05") + " UTC"
}
