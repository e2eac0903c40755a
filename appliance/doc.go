// Package appliance is the duplicator itself: one typed event loop that
// owns the front panel's model, the jobs, production-line mode, the job
// journal, the production record, the image library and the port map,
// and every goroutine that works for them. Hardware comes in through the
// hal contracts (Hardware); front ends watch it (Observe, Subscribe) and
// send it what an operator asked for (Send), so a web panel plugs in
// beside the LCD without touching it.
//
// Everything that happens goes one way: an event (a button, a drive, a
// job's progress, a task's answer) is given to the panel's model, the
// commands it returns are carried out, the events those answer with go
// the same way, and the frame is shown once (Appliance.dispatch).
//
// It imports engine, ui, hal, board, images, fileset, record, fatstick and
// internal packages; never firmware, sim or a hardware backend.
package appliance
