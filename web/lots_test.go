package web_test

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLotFromTheWeb: an operator starts a lot, the status counts it, a
// job is recorded for it, its batch report downloads as CSV and PDF, and
// the lot ends; bad lots are refused with the field's reason.
func TestLotFromTheWeb(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := startPanel(t, panelOptions{setup: twoTargets(t), state: true})
		p.settle()
		op := p.client("192.0.2.20:1000")
		require.Equal(t, http.StatusOK, op.login(operatorPassword).Code)

		for _, tc := range []struct {
			body any
			want string
		}{
			{map[string]any{"name": "A17/B"}, `lot name "A17/B": not a usable lot name: character 4 ('/') is a path separator`},
			{map[string]any{"name": "A17", "goal": -1}, "target count -1: not a usable target count"},
			{map[string]any{"name": "=SUM(A1)"}, "spreadsheet reads as a formula"},
			{map[string]any{"name": "A17", "colour": "red"}, `unknown field "colour"`},
		} {
			w := op.do("POST", "/api/lot", tc.body)
			assert.Equal(t, http.StatusBadRequest, w.Code)
			assert.Contains(t, jsonOf(t, w)["error"], tc.want)
		}
		box := jsonOf(t, op.do("GET", "/api/status", nil))["box"].(map[string]any)
		assert.Equal(t, p.app.ID(), box["id"], "the box's fleet ID")
		assert.NotEmpty(t, box["id"])
		assert.Equal(t, "", box["sync"], "the record is not replicated")

		w := op.do("DELETE", "/api/lot", nil)
		assert.Equal(t, http.StatusUnprocessableEntity, w.Code)
		assert.Equal(t, "no lot is running", jsonOf(t, w)["error"])
		w = op.do("GET", "/api/lots/A17/report.csv", nil)
		assert.Equal(t, http.StatusNotFound, w.Code, "a lot the record does not hold")
		assert.Contains(t, jsonOf(t, w)["error"], `lot "A17": nothing in the record`)

		w = op.do("POST", "/api/lot", map[string]any{"name": "A17", "goal": 2})
		require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
		p.waitLCD("Lot A17: 0/2", 5*time.Second, synctest.Wait)
		lot := jsonOf(t, op.do("GET", "/api/status", nil))["lot"].(map[string]any)
		assert.Equal(t, map[string]any{"name": "A17", "goal": 2.0, "pass": 0.0, "fail": 0.0, "done": false,
			"recent": []any{}, "next": "LOT-0001"}, lot)

		w = op.do("POST", "/api/jobs", map[string]any{"mode": "copy+verify", "confirm": true})
		require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
		p.waitLCD("Job done", 60*time.Second, synctest.Wait)
		p.waitLCD("2 PASS", time.Second, synctest.Wait)
		st := jsonOf(t, op.do("GET", "/api/status", nil))
		lot = st["lot"].(map[string]any)
		assert.Equal(t, 2.0, lot["pass"])
		assert.Equal(t, true, lot["done"], "the count is reached")
		assert.Equal(t, map[string]any{"green": false, "amber": true, "red": false}, st["lamps"])

		csv := op.do("GET", "/api/lots/A17/report.csv", nil)
		require.Equal(t, http.StatusOK, csv.Code, csv.Body.String())
		assert.Contains(t, csv.Header().Get("Content-Disposition"), `filename=lot-A17-report.csv`)
		assert.Contains(t, csv.Body.String(), "lot,A17\n")
		assert.Contains(t, csv.Body.String(), "pass,2\n")
		pdf := op.do("GET", "/api/lots/A17/report.pdf", nil)
		require.Equal(t, http.StatusOK, pdf.Code)
		assert.True(t, strings.HasPrefix(pdf.Body.String(), "%PDF-"))
		assert.Equal(t, http.StatusNotFound, op.do("GET", "/api/lots/A17/report.txt", nil).Code)

		w = op.do("POST", "/api/jobs", map[string]any{"mode": "copy+verify", "confirm": true})
		assert.Equal(t, http.StatusUnprocessableEntity, w.Code)
		assert.Equal(t, "lot A17 has its 2: start a new lot", jsonOf(t, w)["error"])

		w = op.do("DELETE", "/api/lot", nil)
		require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
		synctest.Wait()
		lot = jsonOf(t, op.do("GET", "/api/status", nil))["lot"].(map[string]any)
		assert.Equal(t, "", lot["name"])
		assert.Equal(t, []any{"A17"}, lot["recent"])
		w = op.do("GET", "/api/lots/A17/certificates.json", nil)
		assert.Equal(t, http.StatusNotFound, w.Code)
		assert.Contains(t, jsonOf(t, w)["error"], "no drive of it was erased")

		// Returned drives wiped for a lot: a certificate each, named
		// honestly (an overwrite read back is Clear, never Purge).
		require.Equal(t, http.StatusAccepted, op.do("POST", "/api/lot", map[string]any{"name": "RETURNS-1"}).Code)
		synctest.Wait()
		w = op.do("POST", "/api/jobs", map[string]any{"mode": "erase", "erase_mode": "zeros", "erase_verify": true, "confirm": true})
		require.Equal(t, http.StatusAccepted, w.Code, w.Body.String())
		p.waitLCD("PASS", 60*time.Second, synctest.Wait)
		certs := op.do("GET", "/api/lots/RETURNS-1/certificates.json", nil)
		require.Equal(t, http.StatusOK, certs.Code, certs.Body.String())
		assert.Equal(t, 2, strings.Count(certs.Body.String(), `"level": "Clear"`), certs.Body.String())
		assert.NotContains(t, certs.Body.String(), "Purge\"")
		pdf = op.do("GET", "/api/lots/RETURNS-1/certificates.pdf", nil)
		require.Equal(t, http.StatusOK, pdf.Code)
		assert.True(t, strings.HasPrefix(pdf.Body.String(), "%PDF-"))

		// A record that does not verify vouches for nothing.
		f, err := os.OpenFile(filepath.Join(p.dir, "jobs.log"), os.O_WRONLY|os.O_APPEND, 0)
		require.NoError(t, err)
		_, err = f.WriteString(`{"seq":99,"lot":"A17","result":"PASS","prev":"x","sum":"y"}` + "\n")
		require.NoError(t, err)
		require.NoError(t, f.Close())
		w = op.do("GET", "/api/lots/A17/report.csv", nil)
		assert.Equal(t, http.StatusConflict, w.Code)
		assert.Contains(t, jsonOf(t, w)["error"], "the record does not verify")
	})
}
