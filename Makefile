# Clonebay: the duplicator appliance's firmware.
GO        ?= go
BIN       := bin/clonebay
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT    ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo none)
DATE      ?= $(shell date -u +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS   := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(DATE)

# Debian packages the tests use.
TEST_DEBS := gcc libc6-dev libudev-dev udev util-linux e2fsprogs dosfstools mtools tmux fdisk gdisk exfatprogs exfat-fuse fuse3 ntfs-3g grub-rescue-pc qemu-system-x86

.PHONY: all build sim test deps vet lint bench portable fuzz clean

all: build

build:
	$(GO) build -ldflags '$(LDFLAGS)' -o $(BIN) ./firmware

sim: build
	./$(BIN) sim

deps:
	@scripts/deps.sh $(TEST_DEBS)

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt would change:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...

# Everything but the Linux backends builds without cgo, on Linux and macOS.
portable:
	CGO_ENABLED=0 $(GO) build ./hal ./hal/haltest ./board ./sim/... ./engine/... ./ui/...
	CGO_ENABLED=0 GOOS=darwin GOARCH=arm64 $(GO) build ./hal ./hal/haltest ./board ./sim/... ./engine/... ./ui/...

fuzz:
	@scripts/fuzz.sh 5s

test: deps vet portable
	$(GO) test -race -count=1 ./...
	@scripts/fuzz.sh 3s

lint: vet
	$(GO) run honnef.co/go/tools/cmd/staticcheck@v0.8.2 ./...

bench: build
	$(GO) test -run '^$$' -bench . -benchtime 3x ./...
	@scripts/bench.sh $(BIN) 256

clean:
	rm -rf bin
