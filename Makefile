# danmaku — build, test, lint, benchmark.
#   make test    installs what the tests need (chromium, node, nginx) and runs every test, race detector on
#   make bench   runs the Go micro-benchmarks
#   make lint    gofmt, go vet, staticcheck
#   make fuzz    runs each fuzz target for FUZZTIME

GO          ?= go
FUZZTIME    ?= 30s
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
export PATH := $(PATH):/usr/local/go/bin

.PHONY: all build test go-test bench lint fuzz tools clean nginx

all: build

build:
	$(GO) build -o bin/danmaku ./cmd/danmaku

include web/web.mk

# The whole suite: Go tests (race detector on, goleak in every package,
# chromedp browser tests in web/) and the JS unit tests.
test: chromium node nginx go-test web-test

go-test:
	DANMAKU_REQUIRE_NGINX=1 $(GO) test -race -count=1 -timeout 45m ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzDecodeClient$$' -fuzztime $(FUZZTIME) ./protocol
	$(GO) test -run '^$$' -fuzz '^FuzzAppendBatch$$' -fuzztime $(FUZZTIME) ./protocol
	$(GO) test -run '^$$' -fuzz '^FuzzPublishRequest$$' -fuzztime $(FUZZTIME) ./internal/logic
	$(GO) test -run '^$$' -fuzz '^FuzzVerify$$' -fuzztime $(FUZZTIME) ./internal/auth
	$(GO) test -run '^$$' -fuzz '^FuzzMask$$' -fuzztime $(FUZZTIME) ./internal/filter
	$(GO) test -run '^$$' -fuzz '^FuzzNormalized$$' -fuzztime $(FUZZTIME) ./internal/filter
	$(GO) test -run '^$$' -fuzz '^FuzzKeys$$' -fuzztime $(FUZZTIME) ./internal/moderation
	$(GO) test -run '^$$' -fuzz '^FuzzRequest$$' -fuzztime $(FUZZTIME) ./internal/relay
	$(GO) test -run '^$$' -fuzz '^FuzzReports$$' -fuzztime $(FUZZTIME) ./internal/presence
	$(GO) test -run '^$$' -fuzz '^FuzzConfigFile$$' -fuzztime $(FUZZTIME) ./internal/cli
	$(GO) test -run '^$$' -fuzz '^FuzzSnapshot$$' -fuzztime $(FUZZTIME) ./internal/overview
	$(GO) test -run '^$$' -fuzz '^FuzzAuthorize$$' -fuzztime $(FUZZTIME) ./internal/logic
	$(GO) test -run '^$$' -fuzz '^FuzzPolicy$$' -fuzztime $(FUZZTIME) ./internal/console

# nginx (Debian's) fronts the cluster in the load-balancer test
# (internal/clustertest runs docs/nginx/danmaku.conf).
nginx:
	@if command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ]; then \
		exit 0; \
	elif [ "$$(id -u)" = 0 ]; then \
		echo "nginx: installing Debian's nginx for the load-balancer test"; \
		apt-get update && apt-get install -y nginx; \
	else \
		echo "nginx is missing and this is not root. The load-balancer test needs it:" >&2; \
		echo "  sudo apt-get update && sudo apt-get install -y nginx   (or: sudo make nginx)" >&2; \
		exit 1; \
	fi

clean:
	rm -rf bin
