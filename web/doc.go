// Package web is the appliance on the network: a web panel (one page,
// served from the binary, that works offline and on a phone), the JSON
// API the page uses, live events (server-sent events), Prometheus
// metrics and the logins that guard them.
//
// It is a second front end on the appliance's loop: it watches the
// panel's view (appliance.Subscribe) and sends an operator's requests
// through the panel's model (appliance.Request), so the web can do only
// what the panel allows at that moment and the LCD shows what it did.
// Image uploads go into the library with the checks of an import from a
// stick (appliance.ImportImage); the production record is read, never
// changed (record.Read).
//
// It imports appliance, ui, images, record and internal packages; never
// a hardware backend, engine or sim.
package web
