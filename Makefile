# stack — build, test and demo. Run as root on Debian for everything past `make unit`.
GO        ?= go
BIN       := bin/stack
VERSION   := $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
# Debian packages the tests and the demo need: a static busybox for test images, a real
# registry (distribution v2), skopeo for archive round trips, hyperfine for benchmarks.
DEB_PKGS  := busybox-static docker-registry skopeo hyperfine iproute2 file curl
FUZZTIME  ?= 5s

.PHONY: all build deps unit fuzz integration e2e test check demo bench clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/stack

# deps installs the Debian packages that tests and the demo use (root; idempotent).
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "installing:" $$missing; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

# unit: fast tests, no root needed.
unit:
	$(GO) test -count=1 ./...

# fuzz: each fuzz target for a few seconds (a panic is a bug).
fuzz:
	@for target in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for f in $$(grep -h '^func Fuzz' $$target/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "fuzz $$target $$f"; \
			$(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$target || exit 1; \
		done; \
	done

# integration: real containers, networks, cgroups (root; tests skip visibly otherwise).
integration: build
	$(GO) test -count=1 -tags integration -p 1 -timeout 20m ./...

# e2e: the built binary against examples/ and test stacks (root).
e2e: build
	STACK_BIN=$(CURDIR)/$(BIN) $(GO) test -count=1 -tags e2e -p 1 -timeout 20m ./...

# test: the whole suite — unit, fuzz, integration, end to end.
test: deps build unit fuzz integration e2e

check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(GO) vet -tags e2e ./...
	$(MAKE) unit

demo: deps build
	./examples/demo.sh

bench: deps build
	./bench/run.sh

clean:
	rm -rf bin
