# web/web.mk: targets for the browser client and demo page. Included by the
# root Makefile; run from the repository root.
#
#   make web-test    Node unit tests of the JS modules of web/ and of the console (internal/console) (node:test, no npm packages, offline)
#   make chromium    installs Debian's chromium for the browser tests (root), or says how
#   make node        installs Node.js (>= 18) for web-test (root), or says how
#   make web-bench   renderer flood benchmark in headless chromium (see web/BENCHMARKS-web.md)
#   make web-typecheck  strict type check of the modules' JSDoc with TypeScript (fetched by npx; not part of make test)

NODE              ?= node
GO                ?= go
WEB_BENCH_RATES   ?= 10,20,30,50,100,200,500,1000,2000,5000
WEB_BENCH_SECONDS ?= 10
WEB_BENCH_COUNT   ?= 3
# Raises the browser's priority while it is measured (needs root; ignored
# otherwise), so that other jobs on a shared machine do not steal its frames.
WEB_BENCH_FLAGS   ?= -bench-nice -15

WEB_TYPESCRIPT    ?= typescript@5.6.3

.PHONY: web-test chromium node web-bench web-typecheck

# The test files are named explicitly: Node 20 takes a directory, later
# versions take glob patterns, and both accept a list of files.
web-test: node
	$(NODE) --test web/test/*.test.js internal/console/test/*.test.js

chromium:
	@if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || command -v google-chrome >/dev/null 2>&1; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "chromium: installing Debian's chromium for the browser tests"; \
		apt-get update && apt-get install -y chromium; \
	else \
		echo "chromium is missing and this is not root. The browser tests in web/ need it:" >&2; \
		echo "  sudo apt-get update && sudo apt-get install -y chromium   (or: sudo make chromium)" >&2; \
		echo "or point DANMAKU_CHROMIUM at a Chrome or Chromium binary." >&2; \
		exit 1; \
	fi

node:
	@if command -v $(NODE) >/dev/null 2>&1 && [ "$$($(NODE) -p 'process.versions.node.split(".")[0]')" -ge 18 ]; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "node: installing Debian's nodejs for the JS unit tests"; \
		apt-get update && apt-get install -y nodejs; \
	else \
		echo "Node.js >= 18 is missing and this is not root. make web-test needs it:" >&2; \
		echo "  sudo apt-get update && sudo apt-get install -y nodejs   (or: sudo make node)" >&2; \
		exit 1; \
	fi

# Each rate runs WEB_BENCH_COUNT times for WEB_BENCH_SECONDS after a 2 s
# warm-up, on both surfaces, with lanes (drops allowed) and unlimited;
# results are logged with -v.
web-bench: chromium
	$(GO) test ./web -run '^$$' -bench RenderFlood -benchtime 1x -count $(WEB_BENCH_COUNT) -timeout 120m -v \
		-args -bench-rates $(WEB_BENCH_RATES) -bench-seconds $(WEB_BENCH_SECONDS) $(WEB_BENCH_FLAGS)

web-typecheck: node
	npx --yes -p $(WEB_TYPESCRIPT) tsc -p web/jsconfig.json
