# tuswasm: `make demo` to try it, `make test` for everything CI runs.
GO        ?= go
CHROMIUM  ?= /usr/bin/chromium
# The cross-browser smoke's other engines (e2e/xbrowser_test.go): Debian's Firefox ESR,
# WebKitGTK's WebDriver (it drives MiniBrowser) and the X server MiniBrowser needs.
FIREFOX      ?= /usr/bin/firefox-esr
WEBKITDRIVER ?= /usr/bin/WebKitWebDriver
XVFB         ?= /usr/bin/Xvfb
# A count, not a duration: Go 1.26's fuzz coordinator can fail a duration run with a
# spurious "context deadline exceeded" at the deadline (go.dev/issue/75804).
FUZZTIME  ?= 60000x
DEMO_ADDR ?= 127.0.0.1:8080
# -s -w and no HTTP/2 (fetch does HTTP/2 itself) keep the module lean; without inlining
# (-l) it is 5 % larger raw but 14 % smaller compressed, which is what is downloaded, and
# its code is not hot (chunk bytes never pass through wasm). The e2e suite builds with
# `make build` too.
WASM_FLAGS = -trimpath -ldflags='-s -w' -gcflags=all=-l -tags nethttpomithttp2
WASM_SRC   = go.mod go.sum $(shell find engine wasm -name '*.go' -not -name '*_test.go')

# apt installs Debian packages (as root, or with sudo): the one way the targets below
# bring what a fresh machine lacks.
APT = SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq

.PHONY: build demo test vet test-unit test-wasm node e2e soak fuzz chromium browsers bench clean FORCE

## build: js/ becomes a complete ES-module package (index.js + tuswasm.wasm + wasm_exec.js)
build: js/tuswasm.wasm js/wasm_exec.js

js/tuswasm.wasm: $(WASM_SRC)
	GOOS=js GOARCH=wasm $(GO) build $(WASM_FLAGS) -o $@ ./wasm

# Always matches the toolchain that built the .wasm.
js/wasm_exec.js: FORCE
	@src="$$($(GO) env GOROOT)/lib/wasm/wasm_exec.js"; cmp -s "$$src" $@ || cp "$$src" $@

## demo: build, then serve the demo page with tusd embedded (uploads land in ./uploads)
demo: build $(UPPY_DIR)/uppy.min.mjs
	$(GO) run ./web/demo -addr $(DEMO_ADDR) -dir uploads -js js -uppy $(UPPY_DIR)

## Uppy's one-file bundle for the demo's Uppy page: the uppy package's dist/, pinned by
## version and by the registry's integrity hash, which the download must match.
UPPY ?= 6.0.1
UPPY_INTEGRITY ?= sha512-2OONMUNUHGBNkfSjNpWDhleeCeqm2oP+8NJRSxkkFVLmm3BbE7S+XCm45+jp36z7PCRuogtm1FgYPKa0iKbYAQ==
UPPY_DIR := web/demo/.vendor/uppy
$(UPPY_DIR)/uppy.min.mjs: | node
	rm -rf $(UPPY_DIR).tmp && mkdir -p $(UPPY_DIR).tmp
	cd $(UPPY_DIR).tmp && npm pack --silent --loglevel=error uppy@$(UPPY) >/dev/null
	@got="$$(node -e 'process.stdout.write("sha512-" + require("crypto").createHash("sha512").update(require("fs").readFileSync(process.argv[1])).digest("base64"))' $(UPPY_DIR).tmp/uppy-$(UPPY).tgz)"; \
		test "$$got" = "$(UPPY_INTEGRITY)" || { echo "uppy-$(UPPY).tgz: integrity $$got, want $(UPPY_INTEGRITY)"; exit 1; }
	tar -xzf $(UPPY_DIR).tmp/uppy-$(UPPY).tgz -C $(UPPY_DIR).tmp package/dist/uppy.min.mjs package/dist/uppy.min.css package/LICENSE
	mkdir -p $(UPPY_DIR) && mv $(UPPY_DIR).tmp/package/dist/* $(UPPY_DIR).tmp/package/LICENSE $(UPPY_DIR)/ && rm -rf $(UPPY_DIR).tmp
	echo $(UPPY) > $(UPPY_DIR)/VERSION

## test: everything CI runs: static checks, unit tests, fuzzing briefly, browser e2e
test: vet test-unit test-wasm fuzz e2e

vet:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	GOOS=js GOARCH=wasm $(GO) vet ./engine/... ./wasm/...
	@! $(GO) list -deps ./engine | grep -E '^(syscall/js|github.com/tus/tusd)' || { echo "engine must not import syscall/js or tusd"; exit 1; }

test-unit:
	$(GO) test -race ./engine/... ./internal/...

## test-wasm: the browser adapter's own tests (option table, error codes against
## index.js, index.d.ts and the README), run by Node as Go's js/wasm tests are
test-wasm: node
	GOOS=js GOARCH=wasm $(GO) test -exec="$$($(GO) env GOROOT)/lib/wasm/go_js_wasm_exec" ./wasm

## node: install Debian's Node.js and npm when missing (test-wasm runs under Node; the
## e2e suite packs the package and builds a Vite app with npm)
node:
	@command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || { $(APT) nodejs npm >/dev/null; }

## fuzz: each fuzz target of the engine (parsers of server input) for FUZZTIME;
## engine/testdata/fuzz holds the seed corpus, run by every plain `go test` too
fuzz:
	@for f in $$($(GO) test -list '^Fuzz' ./engine | grep '^Fuzz'); do \
		$(GO) test -run='^$$' -fuzz="^$$f$$" -fuzztime=$(FUZZTIME) ./engine || exit 1; \
	done

## e2e: headless Chromium against real tusd (builds its own wasm), and the
## cross-browser smoke in Chromium, Firefox and WebKit. The test binary runs directly
## so its summary lines (fault-matrix: …, soak: …, browsers: …) reach the log. Its
## soak is short and always the same (SOAK_SHORT_SEED, SOAK_SHORT_UPLOADS).
E2E_BIN ?= $(or $(TMPDIR),/tmp)/tuswasm-e2e.test
SOAK_SHORT_SEED    ?= 20261125
SOAK_SHORT_UPLOADS ?= 40
e2e: build browsers node e2e/servers/node_modules/.package-lock.json $(UPPY_DIR)/uppy.min.mjs
	$(GO) test -c -o $(E2E_BIN) ./e2e
	cd e2e && SOAK_SEED=$(SOAK_SHORT_SEED) SOAK_UPLOADS=$(SOAK_SHORT_UPLOADS) \
		$(E2E_BIN) -test.count=1 -test.timeout=30m -chromium $(CHROMIUM) \
		-firefox $(FIREFOX) -webkitdriver $(WEBKITDRIVER) -xvfb $(XVFB)

## The Node tus servers the e2e suite also runs against (@tus/server, @uploadx/core),
## pinned by e2e/servers/package-lock.json.
e2e/servers/node_modules/.package-lock.json: e2e/servers/package-lock.json | node
	npm ci --prefix e2e/servers --no-audit --no-fund --loglevel=error

## soak: the chaos soak alone, long: SOAK_UPLOADS uploads (default 200) under random
## fault schedules, with a random seed unless SOAK_SEED is set (the seed is printed:
## SOAK_SEED=<seed> make soak replays a run)
SOAK_UPLOADS ?= 200
soak: build chromium
	$(GO) test -c -o $(E2E_BIN) ./e2e
	cd e2e && SOAK_UPLOADS=$(SOAK_UPLOADS) $(E2E_BIN) -test.count=1 -test.timeout=15m -test.run '^TestSoak$$' -chromium $(CHROMIUM)

## chromium: install Debian's Chromium when it is missing
chromium:
	@if ! command -v $(CHROMIUM) >/dev/null 2>&1; then \
		echo "Chromium not found at $(CHROMIUM): installing Debian's package"; \
		$(APT) chromium >/dev/null; \
	fi

## browsers: Chromium, plus Debian's Firefox ESR, WebKitGTK's WebDriver and Xvfb when
## any is missing (one apt-get for all)
browsers: chromium
	@missing=""; \
	command -v $(FIREFOX) >/dev/null 2>&1 || missing="$$missing firefox-esr"; \
	command -v $(WEBKITDRIVER) >/dev/null 2>&1 || missing="$$missing webkit2gtk-driver"; \
	command -v $(XVFB) >/dev/null 2>&1 || missing="$$missing xvfb"; \
	if [ -n "$$missing" ]; then \
		echo "installing Debian's$$missing for the cross-browser smoke"; \
		$(APT) $$missing >/dev/null; \
	fi

## bench: tuswasm vs tus-js-client vs raw fetch in headless Chromium; writes
## bench/results.json, bench/REPORT.md, bench/chart.svg (tus-js-client goes to bench/.npm)
TUS_JS_CLIENT ?= 4.3.1
BENCH_ARGS ?=
bench: build chromium bench/.npm/node_modules/tus-js-client/package.json $(UPPY_DIR)/uppy.min.mjs
	$(GO) run ./bench -chromium $(CHROMIUM) -uppy $(UPPY_DIR) $(BENCH_ARGS)

bench/.npm/node_modules/tus-js-client/package.json: | node
	npm install --prefix bench/.npm --no-save --no-audit --no-fund --loglevel=error tus-js-client@$(TUS_JS_CLIENT)

clean:
	rm -f js/tuswasm.wasm js/wasm_exec.js
	rm -rf e2e/artifacts e2e/servers/node_modules web/demo/.vendor bench/.npm bench/results.json bench/REPORT.md bench/chart.svg
