# Aftershock. `make test` installs what the tests run for real (influxd into
# .bin/, prometheus and ngircd from Debian when root) and runs every test.

GO ?= go
# PKGS narrows `make test`, e.g. make test PKGS=./internal/sink/...
PKGS ?= ./...

# Tools installed into .bin/ come first on PATH for the tests.
export PATH := $(CURDIR)/.bin:$(PATH):/usr/sbin

.PHONY: test test-deps vet fmt-check demo fuzz-smoke

test: test-deps
	$(GO) test -race -count=1 $(PKGS)

# Every fuzz target for a short bounded time (FUZZTIME, default 3s each).
fuzz-smoke:
	./scripts/fuzz-smoke.sh

test-deps:
	./scripts/install-test-deps.sh

vet:
	$(GO) vet ./...

fmt-check:
	@files="$$(gofmt -l $$(git ls-files '*.go'))"; \
	if [ -n "$$files" ]; then echo "gofmt needed on:"; echo "$$files"; exit 1; fi

demo:
	$(GO) run ./cmd/aftershock demo
