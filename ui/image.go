package ui

import (
	"fmt"
	"slices"
	"strings"

	"github.com/clonebay/clonebay/hal"
)

// The screens of the image library: its menu, the list of images to
// deploy, show or delete, an image's info, the delete question, the
// import files on sticks, and the wait for a capture or import.

// The Image menu.
var imageItems = []string{"Deploy", "Capture", "Import", "Info", "File sets", "Import files", "Delete", "Use drive"}

const (
	imgDeploy = iota
	imgCapture
	imgImport
	imgInfo
	imgSets
	imgImportSet
	imgDelete
	imgUseDrive
)

// imageMenuScreen is the Image menu.
type imageMenuScreen struct{ list }

func imageMenuAt(item int) *imageMenuScreen { return &imageMenuScreen{list{at: item}} }

func (*imageMenuScreen) name() string { return "image" }

func (s *imageMenuScreen) update(m *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch s.key(b.Button, len(imageItems)) {
	case listBack:
		return menuAt(menuImage), nil
	case listChose:
		return s.choose(m)
	}
	return s, nil
}

// choose runs the item under the cursor.
func (s *imageMenuScreen) choose(m *Model) (screen, []Command) {
	switch s.at {
	case imgDeploy, imgInfo, imgDelete:
		if len(m.images) == 0 {
			return message("Image", "The library holds no image yet: capture or import one."), nil
		}
		return &imagePickScreen{action: s.at}, nil
	case imgCapture:
		if d, ok := m.drives[m.cfg.MasterPort]; !ok || d.Size == 0 {
			return message("Capture", "Insert the master drive in port "+m.label(m.cfg.MasterPort)+"."), nil
		}
		m.busy = &Busy{What: "Capturing"}
		return &busyScreen{}, []Command{CaptureImage{Port: m.cfg.MasterPort}}
	case imgImport:
		m.busy = &Busy{What: "Looking"}
		return &busyScreen{}, []Command{FindImports{}}
	case imgUseDrive:
		m.image = ""
		return &idleScreen{}, nil
	case imgSets:
		return &setPickScreen{}, nil
	case imgImportSet:
		port, ok := m.stickPort()
		if !ok {
			return message("Import files", "Insert a stick with the files in a port other than "+m.label(m.cfg.MasterPort)+"."), nil
		}
		m.busy = &Busy{What: "Importing files"}
		return &busyScreen{}, []Command{ImportSet{Port: port}}
	}
	return s, nil
}

// stickPort is the port of the one stick to import files from: a drive
// with media in any port but the master's.
func (m *Model) stickPort() (int, bool) {
	for _, p := range m.cfg.Ports {
		if d, ok := m.drives[p.Number]; ok && p.Number != m.cfg.MasterPort && d.Size > 0 {
			return p.Number, true
		}
	}
	return 0, false
}

// setPickScreen picks what Files mode copies: the files on the master
// drive, or a file set of the library. Choosing one turns Files mode on.
type setPickScreen struct{ list }

func (*setPickScreen) name() string { return "set-pick" }

// setChoices are the picker's rows: the master's files, then the sets.
func (m *Model) setChoices() []string {
	out := []string{"Master's files"}
	for _, s := range m.sets {
		out = append(out, s.Name)
	}
	return out
}

func (s *setPickScreen) update(m *Model, ev Event) (screen, []Command) {
	if _, ok := ev.(SetsLoaded); ok {
		s.at = min(s.at, len(m.sets))
		return s, nil
	}
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch s.key(b.Button, len(m.sets)+1) {
	case listBack:
		return imageMenuAt(imgSets), nil
	case listChose:
		name := ""
		if s.at > 0 {
			set := m.sets[s.at-1]
			if set.Err != "" {
				return message("Damaged", set.Name+": "+set.Err), nil
			}
			name = set.Name
		}
		m.fileSet = name
		if m.set.Files {
			return &idleScreen{}, nil
		}
		m.set.Files = true
		return &idleScreen{}, []Command{SaveSettings{Settings: m.set}}
	}
	return s, nil
}

func (s *setPickScreen) lines(m *Model, c, r int) []string {
	return s.render(c, r, m.setChoices(), false)
}

func (s *imageMenuScreen) lines(m *Model, c, r int) []string {
	if r >= 4 {
		head := fmt.Sprintf("%d images %s free", len(m.images), size(m.free))
		return append([]string{fit(head, c)}, s.render(c, r-1, imageItems, false)...)
	}
	return s.render(c, r, imageItems, false)
}

// imagePickScreen lists the library's images for an Image menu item:
// Deploy, Info or Delete.
type imagePickScreen struct {
	list
	action int
}

// pickAt is the list for action with the cursor on the image name, or
// on the first image when it is gone.
func pickAt(m *Model, action int, name string) *imagePickScreen {
	at := slices.IndexFunc(m.images, func(im ImageInfo) bool { return im.Name == name })
	return &imagePickScreen{list: list{at: max(0, at)}, action: action}
}

func (*imagePickScreen) name() string { return "image-pick" }

func (s *imagePickScreen) update(m *Model, ev Event) (screen, []Command) {
	if _, ok := ev.(ImagesLoaded); ok {
		if len(m.images) == 0 {
			return imageMenuAt(s.action), nil
		}
		s.at = min(s.at, len(m.images)-1)
		return s, nil
	}
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch s.key(b.Button, len(m.images)) {
	case listBack:
		return imageMenuAt(s.action), nil
	case listChose:
		if len(m.images) == 0 {
			return imageMenuAt(s.action), nil
		}
		im := m.images[s.at]
		switch s.action {
		case imgDeploy:
			if im.Err != "" {
				return message("Damaged", im.Name+": "+im.Err), nil
			}
			m.image = im.Name
			m.plan = nil
			return &idleScreen{}, nil
		case imgInfo:
			return &imageInfoScreen{image: im}, nil
		case imgDelete:
			return &imageDeleteScreen{image: im.Name}, nil
		}
	}
	return s, nil
}

func (s *imagePickScreen) lines(m *Model, c, r int) []string {
	names := make([]string, len(m.images))
	for i, im := range m.images {
		names[i] = im.Name
		if im.Err != "" {
			names[i] = "!" + im.Name
		}
	}
	return s.render(c, r, names, false)
}

// followImage finds the image called name in a reloaded library, or
// leaves for the list when it is gone.
func followImage(m *Model, action int, name string) (ImageInfo, screen) {
	i := slices.IndexFunc(m.images, func(im ImageInfo) bool { return im.Name == name })
	switch {
	case i >= 0:
		return m.images[i], nil
	case len(m.images) == 0:
		return ImageInfo{}, imageMenuAt(action)
	}
	return ImageInfo{}, pickAt(m, action, name)
}

// imageInfoScreen shows one image; a 2-row panel has two pages.
type imageInfoScreen struct {
	image ImageInfo
	page  list
}

func (*imageInfoScreen) name() string { return "image-info" }

func (s *imageInfoScreen) update(m *Model, ev Event) (screen, []Command) {
	if _, ok := ev.(ImagesLoaded); ok {
		im, gone := followImage(m, imgInfo, s.image.Name)
		if gone != nil {
			return gone, nil
		}
		s.image = im
		return s, nil
	}
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	if s.page.key(b.Button, 2) != listStay {
		return pickAt(m, imgInfo, s.image.Name), nil // OK or Back
	}
	return s, nil
}

func (s *imageInfoScreen) lines(m *Model, c, r int) []string {
	im := s.image
	if im.Err != "" {
		return append([]string{fit(im.Name, c)}, wrap("Damaged: "+im.Err, c, r-1)...)
	}
	sha := im.SHA256
	if len(sha) > 8 {
		sha = sha[:8]
	}
	if r < 4 && s.page.at == 1 {
		return []string{fit(im.Created.Local().Format("2006-01-02")+" "+size(im.Stored), c), fit("Free "+size(m.free), c)}
	}
	return pick(r, []string{fit(im.Name, c), fit(size(im.Size)+", stored "+size(im.Stored), c),
		fit(im.Created.Local().Format("2006-01-02")+" "+sha, c), fit("Library: "+size(m.free)+" free", c)},
		[]string{fit(im.Name, c), fit(size(im.Size)+" "+sha, c)})
}

// imageDeleteScreen asks before an image is deleted.
type imageDeleteScreen struct {
	image string
}

func (*imageDeleteScreen) name() string { return "image-delete" }

func (s *imageDeleteScreen) update(m *Model, ev Event) (screen, []Command) {
	if _, ok := ev.(ImagesLoaded); ok {
		if _, gone := followImage(m, imgDelete, s.image); gone != nil {
			return gone, nil
		}
		return s, nil
	}
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch b.Button {
	case hal.OK:
		return imageMenuAt(imgDelete), []Command{DeleteImage{Name: s.image}}
	case hal.Back:
		return pickAt(m, imgDelete, s.image), nil
	}
	return s, nil
}

func (s *imageDeleteScreen) lines(_ *Model, c, r int) []string {
	return pick(r, []string{"Delete image?", fit(s.image, c), "OK: delete", "Back: keep"},
		[]string{fit(s.image, c), "OK:del Back:no"})
}

// importsScreen lists the image files found on sticks in the ports.
type importsScreen struct {
	list
	files []ImportFile
}

func (*importsScreen) name() string { return "imports" }

func (s *importsScreen) update(m *Model, ev Event) (screen, []Command) {
	b, ok := pressed(ev)
	if !ok {
		return s, nil
	}
	switch s.key(b.Button, len(s.files)) {
	case listBack:
		return imageMenuAt(imgImport), nil
	case listChose:
		if len(s.files) > 0 {
			m.busy = &Busy{What: "Importing"}
			return &busyScreen{}, []Command{ImportImage{File: s.files[s.at]}}
		}
	}
	return s, nil
}

func (s *importsScreen) lines(m *Model, c, r int) []string {
	names := make([]string, len(s.files))
	for i, f := range s.files {
		names[i] = m.label(f.Port) + ":" + strings.TrimPrefix(f.Path, "/")
	}
	return s.render(c, r, names, false)
}

// busyScreen waits for a capture, import or image check: they run to
// their end, so keys do nothing.
type busyScreen struct{}

func (*busyScreen) name() string { return "busy" }

func (s *busyScreen) update(*Model, Event) (screen, []Command) { return s, nil }

func (*busyScreen) lines(m *Model, c, r int) []string {
	b := m.busy
	if b == nil {
		b = &Busy{What: "Working"}
	}
	pct := fmt.Sprintf("%3d%%", percent(b.Done, b.Total))
	return pick(r, []string{fit(b.What, c), bar(c-5, b.Done, b.Total) + " " + pct, fit(size(b.Done)+" of "+size(b.Total), c), "Please wait"},
		[]string{fit(b.What, c), bar(c-5, b.Done, b.Total) + " " + pct})
}
