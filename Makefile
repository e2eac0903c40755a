# Clonebay: the duplicator appliance's firmware.
GO        ?= go
BIN       := bin/clonebay
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(DATE)

# nfpm 2.45 and later need modules the module proxy does not serve.
NFPM      := $(GO) run github.com/goreleaser/nfpm/v2/cmd/nfpm@v2.44.0
DEB_VERSION ?= $(shell git describe --tags --always 2>/dev/null | sed 's/^v//; s/^\([^0-9]\)/0.0~\1/' || echo 0.0)

# Debian packages the tests use (libudev-dev for the go-udev backend's
# own tests, the firmware itself being pure Go; postgresql for the fleet
# replication's tests, which start a private server; poppler-utils'
# pdftotext reads the PDF reports back; chromium for the web panel's
# browser test).
TEST_DEBS := gcc libc6-dev libudev-dev udev util-linux e2fsprogs dosfstools mtools tmux fdisk gdisk exfatprogs exfat-fuse fuse3 ntfs-3g grub-rescue-pc qemu-system-x86 bmap-tools zstd xz-utils gzip postgresql poppler-utils chromium

# Checking the cross builds: qemu-user runs them; file and lintian look at
# them. The builds themselves need Go alone; the arm64 build is
# position-independent, so qemu-user needs arm64's program loader
# (libc6:arm64, through multiarch).
CROSS_DEBS := qemu-user-static file lintian libc6:arm64

.PHONY: all build sim test race ci deps vet lint bench portable fuzz clean cross cross-deps firmware-arm64 firmware-armv7 deb deb-amd64 ship-test system-test

all: build

# The firmware is pure Go (the hot-plug backend reads udev's netlink
# events itself): Go alone builds it, on any machine, for any CPU. A build
# with -tags libudev and cgo uses go-udev instead.
build:
	CGO_ENABLED=0 $(GO) build -trimpath -buildmode=pie -ldflags '$(LDFLAGS)' -o $(BIN) ./firmware

sim: build
	./$(BIN) sim

deps:
	@scripts/deps.sh $(TEST_DEBS)

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

# The clonebay binary builds without cgo for every platform a developer
# or an appliance uses; `run` needs Linux (and, without cgo, says what it
# lacks), the rest works everywhere.
PORTABLE := linux/amd64 linux/arm64 linux/arm darwin/arm64 darwin/amd64 windows/amd64

portable:
	@set -e; for p in $(PORTABLE); do \
		os=$${p%/*}; arch=$${p#*/}; out=bin/portable/clonebay-$$os-$$arch; \
		[ $$os = windows ] && out=$$out.exe; \
		echo "CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch -> $$out"; \
		CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch GOARM=7 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $$out ./firmware; \
	done
	@# The tests compile on a developer's laptop too (those that need Linux are left out there).
	CGO_ENABLED=0 GOOS=darwin $(GO) vet ./...

# Every fuzz target a minute (make test gives each 2 s).
fuzz:
	@scripts/fuzz.sh 60s

# The developer's loop, within 6 minutes on 2 cores: every test (the
# real-device, browser, PostgreSQL and scenario tests included) and a
# short fuzz of every target.
test: deps vet
	$(GO) test -count=1 ./...
	@scripts/fuzz.sh 2s

# Every test again under the race detector, which makes the data-heavy
# ones (compression, copies) three to four times slower: CI runs it.
race: deps
	$(GO) test -race -count=1 ./...

# What CI runs after make test: the race detector, the cross builds, the
# packages as shipped (arm64 under qemu-user) and the system test.
ci: race portable ship-test system-test

cross-deps:
	@scripts/deps.sh --multiarch $(CROSS_DEBS)

firmware-arm64:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm64 \
		$(GO) build -trimpath -buildmode=pie -ldflags '$(LDFLAGS)' -o bin/clonebay-arm64 ./firmware

# 32-bit ARM has no position-independent build without an external linker.
firmware-armv7:
	CGO_ENABLED=0 GOOS=linux GOARCH=arm GOARM=7 \
		$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/clonebay-armv7 ./firmware

cross: firmware-arm64 firmware-armv7

deb: build cross
	@mkdir -p dist/stage
	@rm -f dist/clonebay_*.deb  # ship-test checks the packages it finds here
	@set -e; for pair in amd64:$(BIN) arm64:bin/clonebay-arm64 armhf:bin/clonebay-armv7; do \
		arch=$${pair%%:*}; cp $${pair#*:} dist/stage/clonebay; \
		ARCH=$$arch VERSION=$(DEB_VERSION) $(NFPM) package --config packaging/nfpm.yaml --packager deb --target dist/; \
	done

# The arm64 binary runs the simulator scenarios under qemu-user; the
# packages are checked, installed into a scratch root and their unit
# verified.
ship-test: cross-deps deb
	@scripts/ship-test.sh

# The amd64 package alone, built reproducibly (the build date and the
# files' times are the commit's): the same tree makes the same bytes, so
# the system test's cached machine is used again.
COMMIT_EPOCH := $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
COMMIT_DATE  := $(shell date -u -d @$(COMMIT_EPOCH) +%Y-%m-%dT%H:%M:%SZ)

deb-amd64:
	@$(MAKE) --no-print-directory build DATE=$(COMMIT_DATE)
	@mkdir -p dist/stage
	@rm -f dist/clonebay_*_amd64.deb
	cp $(BIN) dist/stage/clonebay
	ARCH=amd64 VERSION=$(DEB_VERSION) SOURCE_DATE_EPOCH=$(COMMIT_EPOCH) $(NFPM) package --config packaging/nfpm.yaml --packager deb --target dist/

# The appliance as shipped, in a virtual machine: the amd64 package
# installed by apt on a Debian 12 system with systemd and udev, booted in
# QEMU, drives hot-plugged into an emulated USB hub (needs root; see
# scripts/system-test.sh).
system-test: deb-amd64
	@scripts/system-test.sh

lint: vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...
	@scripts/bench.sh $(BIN) 256
	@scripts/bench-speed.sh $(BIN) 512
	@scripts/bench-files.sh $(BIN) 200 2000

clean:
	rm -rf bin dist
