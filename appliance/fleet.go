package appliance

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/clonebay/clonebay/images"
	"github.com/clonebay/clonebay/record/fleet"
	"github.com/clonebay/clonebay/ui"
)

// The appliance in a fleet: its stable ID, its production record
// replicated to the fleet's PostgreSQL (the local log stays the source of
// truth and no job ever waits for the network), and its image library
// following a catalog.

// boxInfo is the appliance's own, for the panel: its ID and how the
// replication of its record stands.
type boxInfo struct{ info ui.BoxInfo }

func (boxInfo) loopEvent() {}

// imageUse is the set of images jobs use right now, which a catalog sync
// must neither replace nor remove; the loop keeps it, the sync reads it.
type imageUse struct {
	mu    sync.Mutex
	names map[string]int
}

func (u *imageUse) hold(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.names == nil {
		u.names = map[string]int{}
	}
	u.names[name]++
}

func (u *imageUse) release(name string) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.names[name]--; u.names[name] <= 0 {
		delete(u.names, name)
	}
}

func (u *imageUse) inUse(name string) bool {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.names[name] > 0
}

// startFleet loads (or makes) the appliance's ID and starts replication
// and catalog syncing, as the settings ask, on g.
func (a *Appliance) startFleet(ctx context.Context, g *errgroup.Group) {
	if a.paths.State == "" {
		return
	}
	id, err := fleet.LoadOrCreateID(a.files, filepath.Join(a.paths.State, fleet.IDFile))
	if err != nil {
		a.log.Error("appliance ID", "err", err)
		a.notice = &ui.Notice{Title: "Appliance ID", Text: "The appliance has no ID: " + err.Error()}
		return
	}
	a.id, a.box = id, ui.BoxInfo{ID: id}
	a.log.Info("appliance", "id", id)
	if url := a.fleet.Replicate; url != "" && a.paths.Record != "" {
		r, err := fleet.NewReplicator(fleet.Options{URL: url, ID: id, Log: a.paths.Record,
			Cursor: filepath.Join(a.paths.State, fleet.CursorFile), Files: a.files, Logger: a.log})
		if err != nil {
			a.log.Error("replication", "err", err)
			a.box.Sync = "Sync: not set up"
			a.notice = &ui.Notice{Title: "Replication", Text: err.Error()}
		} else {
			a.repl = r
			a.box.Sync = r.Status().Line()
			g.Go(func() error { return quiet(r.Run(ctx)) })
			g.Go(func() error { a.watchReplication(ctx, r); return nil })
		}
	}
	if url := a.fleet.Catalog; url != "" && a.paths.Library != "" {
		g.Go(func() error { a.followCatalog(ctx, url); return nil })
	}
}

// watchReplication hands every change of the replication's status to
// the loop, for the panel.
func (a *Appliance) watchReplication(ctx context.Context, r *fleet.Replicator) {
	for {
		st, changed := r.Watch()
		a.send(ctx, boxInfo{ui.BoxInfo{ID: a.id, Sync: st.Line()}})
		select {
		case <-changed:
		case <-ctx.Done():
			return
		}
	}
}

// Replication is the replication's status, for the web panel and its
// metrics; false when the record is not replicated.
func (a *Appliance) Replication() (fleet.Status, bool) {
	if a.repl == nil {
		return fleet.Status{}, false
	}
	return a.repl.Status(), true
}

// ID is the appliance's ID in the fleet; "" without a state folder. It is
// set when Run starts and never changes.
func (a *Appliance) ID() string { return a.id }

// followCatalog syncs the image library to the catalog at start and then
// every CatalogEvery; images a job uses are left for the next sync.
func (a *Appliance) followCatalog(ctx context.Context, url string) {
	every := a.fleet.CatalogEvery
	if every <= 0 {
		every = time.Hour
	}
	lib, err := images.OpenLibrary(a.paths.Library)
	if err != nil {
		a.log.Error("catalog: the image library", "err", err)
		return
	}
	for {
		res, err := images.SyncCatalog(ctx, lib, url, images.CatalogOptions{InUse: a.imagesInUse.inUse})
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			a.log.Error("catalog", "catalog", images.ShowURL(url), "err", err)
		default:
			a.log.Info("catalog synced", "catalog", images.ShowURL(url), "pulled", strings.Join(res.Pulled, ","),
				"replaced", strings.Join(res.Replaced, ","), "removed", strings.Join(res.Removed, ","),
				"skipped", strings.Join(res.Skipped, "; "), "failed", len(res.Failed))
			for _, f := range res.Failed {
				a.log.Error("catalog: an image was not pulled", "err", f)
			}
			a.send(ctx, imagesChanged{})
		}
		t := time.NewTimer(every)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
	}
}
