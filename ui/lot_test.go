package ui_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/clonebay/clonebay/hal"
	"github.com/clonebay/clonebay/ui"
)

func lineTargetsOf(cmds []ui.Command) []int {
	var ports []int
	for _, c := range cmds {
		if l, ok := c.(ui.LineTarget); ok {
			ports = append(ports, l.Port)
		}
	}
	return ports
}

func commandsOf[T ui.Command](cmds []ui.Command) []T {
	var out []T
	for _, c := range cmds {
		if t, ok := c.(T); ok {
			out = append(out, t)
		}
	}
	return out
}

// done is a drive that already passed in the running lot.
func done(p int) ui.DriveIn {
	d := blank(p)
	d.Drive.Serial = "AA0" + string(rune('0'+p))
	d.Drive.Done = "already done in lot A17: job j1, port 2"
	return d
}

// TestLotCounterOnThePanel: the idle screen and the line show the lot's
// count, the name shortened before the count is.
func TestLotCounterOnThePanel(t *testing.T) {
	for _, tc := range []struct {
		name  string
		lot   ui.LotState
		geo   hal.Geometry
		row   int
		want  string
		isNot string
	}{
		{"count", ui.LotState{Name: "A17", Goal: 500, Pass: 312}, hal.Geometry{Cols: 20, Rows: 4}, 0, "Lot A17: 312/500", ""},
		{"no count", ui.LotState{Name: "A17", Pass: 9}, hal.Geometry{Cols: 20, Rows: 4}, 0, "Lot A17: 9", ""},
		{"two rows", ui.LotState{Name: "A17", Goal: 500, Pass: 312}, hal.Geometry{Cols: 16, Rows: 2}, 1, "Lot A17: 312/500", ""},
		{"long name", ui.LotState{Name: "ORDER-2026-11-0042-RETAIL", Goal: 500, Pass: 312}, hal.Geometry{Cols: 16, Rows: 2}, 1, "Lot ORD: 312/500", ""},
		{"done", ui.LotState{Name: "A17", Goal: 12, Pass: 12}, hal.Geometry{Cols: 20, Rows: 4}, 0, "Lot A17 done 12/12", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := ui.New(config(tc.geo), ui.DefaultSettings())
			feed(m, withMas, tc.lot, press(hal.Back)) // Back: read the lot-done message
			assert.Equal(t, tc.want, m.Frame().Lines[tc.row])
		})
	}
}

// TestLotEndsTheLineAtItsCount: a lot of 3 starts no more targets than
// it needs; when the third passes the line ends with the final beep, the
// LEDs go dark, and the stack light shows amber.
func TestLotEndsTheLineAtItsCount(t *testing.T) {
	m := newModel(ui.DefaultSettings())
	feed(m, ui.LotState{Name: "A17", Goal: 3}, master, blank(2), blank(3), blank(4), blank(5))
	feed(m, toLine, press(hal.OK))
	assert.Equal(t, []int{2, 3, 4}, lineTargetsOf(feed(m, ui.LineStarted{Bytes: 8e9})), "three for a count of three")
	assert.Equal(t, "A17 0/3 F:0", line(m, 0))
	assert.True(t, m.Lamps().Green)

	feed(m, ui.LineDone{Result: ui.PortResult{Port: 2, Cause: "write error"}})
	assert.Equal(t, []int{5}, lineTargetsOf(feed(m, ui.LotState{Name: "A17", Goal: 3, Fail: 1})), "a failure frees a place")
	assert.True(t, m.Lamps().Red, "a failed port lights red")

	feed(m, ui.LineDone{Result: ui.PortResult{Port: 3, Pass: true}}, ui.LotState{Name: "A17", Goal: 3, Pass: 1, Fail: 1})
	feed(m, ui.LineDone{Result: ui.PortResult{Port: 4, Pass: true}}, ui.LotState{Name: "A17", Goal: 3, Pass: 2, Fail: 1})
	assert.Empty(t, commandsOf[ui.StopLine](feed(m, blank(2))), "the line goes on below the count")
	feed(m, ui.LineDone{Result: ui.PortResult{Port: 5, Pass: true}})
	cmds := feed(m, ui.LotState{Name: "A17", Goal: 3, Pass: 3, Fail: 1})
	assert.Len(t, commandsOf[ui.StopLine](cmds), 1, "the count ends the line")
	assert.Contains(t, beeps(cmds), hal.BeepJobDone)
	assert.Empty(t, lineTargetsOf(feed(m, blank(6))), "no new target once the count is reached")

	feed(m, ui.LineStopped{})
	assert.Equal(t, "Lot done", line(m, 0))
	for _, led := range m.LEDs() {
		assert.Equal(t, hal.LEDOff, led)
	}
	assert.Equal(t, hal.Lamps{Amber: true}, m.Lamps(), "port 2's failure was pulled; the lot is done")
	feed(m, press(hal.Back), press(hal.OK), press(hal.OK))
	assert.Equal(t, "Lot done", line(m, 0), "no copy starts on a finished lot")
	assert.Empty(t, starts(feed(m, press(hal.OK))))
}

// TestAlreadyDoneDriveIsHeldBack: a drive that already passed in the lot
// is not written unless OK is held; Back skips it.
func TestAlreadyDoneDriveIsHeldBack(t *testing.T) {
	t.Run("line", func(t *testing.T) {
		m := newModel(ui.DefaultSettings())
		feed(m, ui.LotState{Name: "A17", Goal: 12}, master, toLine, press(hal.OK), ui.LineStarted{Bytes: 8e9})
		cmds := feed(m, done(3))
		assert.Empty(t, lineTargetsOf(cmds), "not written")
		assert.Equal(t, "P3 already done", line(m, 0))
		assert.Equal(t, hal.LEDRedBlink, m.LEDs()[2])
		assert.True(t, m.Lamps().Amber, "the panel waits for the operator")
		feed(m, press(hal.Back))
		assert.Equal(t, "A17 0/12 F:0", line(m, 0))
		assert.Contains(t, line(m, 1), "3:DONE")
		assert.Equal(t, []int{4}, lineTargetsOf(feed(m, blank(4))), "other ports go on")

		feed(m, ui.DriveOut{Port: 3}, done(3))
		assert.Equal(t, "P3 already done", line(m, 0), "asked again when reinserted")
		feed(m, press(hal.OK), ui.Tick{Now: time.Second})
		assert.Empty(t, lineTargetsOf(feed(m, release(hal.OK))), "a short press is not enough")
		feed(m, press(hal.OK))
		assert.Equal(t, []int{3}, lineTargetsOf(feed(m, ui.Tick{Now: 4 * time.Second})), "held: written again")
	})
	t.Run("job", func(t *testing.T) {
		m := newModel(ui.DefaultSettings())
		feed(m, ui.LotState{Name: "A17"}, master, blank(2), done(3))
		assert.Equal(t, "P3 already done", line(m, 0))
		feed(m, press(hal.Back), press(hal.OK))
		got := starts(feed(m, press(hal.OK)))
		require.Len(t, got, 1)
		assert.Equal(t, []int{2}, got[0].Targets, "the done drive is left out")
	})
	t.Run("a job takes no more than the lot needs", func(t *testing.T) {
		m := newModel(ui.DefaultSettings())
		feed(m, ui.LotState{Name: "A17", Goal: 12, Pass: 10}, master, blank(2), blank(3), blank(4), blank(5))
		got := starts(feed(m, press(hal.OK), press(hal.OK)))
		require.Len(t, got, 1)
		assert.Equal(t, []int{2, 3}, got[0].Targets, "two more make the twelve")
	})
	t.Run("no lot", func(t *testing.T) {
		m := newModel(ui.DefaultSettings())
		feed(m, master, ui.DriveIn{Drive: ui.Drive{Port: 2, Size: 8e9}})
		assert.Contains(t, line(m, 0), "Clonebay")
	})
}

// TestLotFromTheMenuAndTheScanner: the Lot menu starts a new lot under the
// default name or a recent one, with a count; a scanned code names one.
func TestLotFromTheMenuAndTheScanner(t *testing.T) {
	state := ui.LotState{Recent: []string{"A16", "A15"}, Next: "LOT-0004"}
	toLot := seq(press(hal.Up), press(hal.Up), press(hal.Up), press(hal.OK))
	for _, tc := range []struct {
		name   string
		events []ui.Event
		want   []ui.StartLot
		top    string
	}{
		{"new lot, no count", seq(state, toLot, press(hal.OK), press(hal.OK)), []ui.StartLot{{Name: "LOT-0004"}}, ""},
		{"recent lot of 12", seq(state, toLot, press(hal.Down), press(hal.OK), presses(hal.Up, 12), press(hal.OK)), []ui.StartLot{{Name: "A16", Goal: 12}}, ""},
		{"counts step in round numbers", seq(state, toLot, press(hal.OK), presses(hal.Up, 21)), nil, "Count: 25"},
		{"scanned", seq(state, ui.Scanned{Name: "WO-2231"}, press(hal.Up), press(hal.OK)), []ui.StartLot{{Name: "WO-2231", Goal: 1}}, ""},
		{"scan refused", seq(state, ui.Scanned{Err: "scanned code refused: character 3 of the code is a control character (U+0007)"}), nil, "Scan refused"},
		{"end the lot", seq(ui.LotState{Name: "A17", Next: "LOT-0004"}, toLot), nil, ">End lot A17"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(ui.DefaultSettings())
			cmds := feed(m, tc.events)
			assert.Equal(t, tc.want, commandsOf[ui.StartLot](cmds))
			if tc.top != "" {
				assert.Contains(t, m.Frame().Lines, tc.top)
			}
		})
	}
	t.Run("a scan while a job runs", func(t *testing.T) {
		m := newModel(ui.DefaultSettings())
		feed(m, running)
		cmds := feed(m, ui.Scanned{Name: "WO-2231"})
		assert.Equal(t, []([]hal.Beep){hal.BeepFailure}, beeps(cmds))
		assert.Equal(t, "job", m.View().Screen, "the job stays on show")
	})
}

func presses(b hal.Button, n int) []ui.Event {
	var out []ui.Event
	for range n {
		out = append(out, press(b))
	}
	return out
}

// TestRemoteStartKeepsTheLot: a front end's start follows the lot as the
// panel's does: a done lot starts nothing, a drive done in the lot is
// left out of "every target" and refused by name.
func TestRemoteStartKeepsTheLot(t *testing.T) {
	for _, tc := range []struct {
		name    string
		lot     ui.LotState
		targets []int
		want    []int // nil: refused
		reason  string
	}{
		{"every target but the done one", ui.LotState{Name: "A17"}, nil, []int{2}, ""},
		{"the done one by name", ui.LotState{Name: "A17"}, []int{3}, nil, "port 3: already done in lot A17: job j1, port 2; confirm on the panel to write it again, or leave it out"},
		{"a done lot", ui.LotState{Name: "A17", Goal: 5, Pass: 5}, nil, nil, "lot A17 has its 5: start a new lot"},
		{"no more than the lot needs", ui.LotState{Name: "A17", Goal: 5, Pass: 4}, nil, []int{2}, ""},
		{"named past the lot's need", ui.LotState{Name: "A17", Goal: 5, Pass: 4}, []int{2, 3}, nil, "lot A17 needs 1 more: name at most 1 targets"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newModel(ui.DefaultSettings())
			feed(m, tc.lot, press(hal.Back), master, blank(2), done(3), press(hal.Back))
			cmds := feed(m, ui.StartRequest{Mode: ui.CopyVerify, Targets: tc.targets, Confirm: true})
			ans, ok := m.TakeAnswer()
			require.True(t, ok)
			if tc.want == nil {
				assert.Equal(t, tc.reason, ans.Refused)
				assert.Empty(t, starts(cmds))
				return
			}
			require.True(t, ans.OK(), ans.Refused)
			require.Len(t, starts(cmds), 1)
			assert.Equal(t, tc.want, starts(cmds)[0].Targets)
		})
	}
}
