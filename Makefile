GO       ?= go
FUZZTIME ?= 5s

.PHONY: test test-unit fuzz vet

## test: everything CI runs
test: vet test-unit fuzz

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./engine/...

test-unit:
	$(GO) test -race ./engine/... ./internal/...

## fuzz: each fuzz target briefly (set FUZZTIME for longer)
fuzz:
	for f in FuzzParseSize FuzzMetadata FuzzResolveLocation; do \
		$(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) ./engine || exit 1; \
	done
