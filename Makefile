# gpool: build, run, test and benchmark the Redis module.
#
# `make` alone lists the targets. README.md and .ci/run call these targets and nothing else,
# so what works here works there.

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help
MAKEFLAGS += --no-print-directory

# Where `make run` listens. The module's load options (docs/commands.md, "Load options") are
# on redis.conf's loadmodule line; the Lua library is configured from the same words.
PORT ?= 6379
ifeq ($(origin MODULE_OPTS),command line)
$(error MODULE_OPTS is read from redis.conf: edit its loadmodule line, so the module and the Lua library get the same options)
endif
MODULE_OPTS := $(shell awk '$$1 == "loadmodule" { for (i = 3; i <= NF; i++) printf "%s ", $$i }' redis.conf)

CARGO ?= cargo
MODULE := $(CURDIR)/target/release/libgpool.so
RUN_DIR := $(CURDIR)/.run
PIDFILE := $(RUN_DIR)/redis.pid
LOGFILE := $(RUN_DIR)/redis.log
LUA_LIB := lua/gpool.lua

# Debian packages the build, the tests and `make run` need. python3 and tzdata serve the Lua
# library's checks, which compare its quota days with the IANA time zone database.
APT_PACKAGES := redis-server redis-tools libclang-dev lua5.1 python3 tzdata
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)

# Targets `make test` runs after the Rust tests; add more with `make test TEST_EXTRA=...`.
TEST_EXTRA ?= test-lua test-conformance

.PHONY: help deps build run stop test test-lua test-conformance bench fmt clippy clean

help: ## List the targets (the default)
	@echo "Usage: make <target> [PORT=6379]   (module options: the loadmodule line of redis.conf)"
	@echo
	@awk 'BEGIN { FS = ":.*## " } /^[a-z][a-z-]*:.*## / { printf "  %-17s %s\n", $$1, $$2 }' \
		$(firstword $(MAKEFILE_LIST))

deps: ## Install missing Debian packages: redis-server, redis-tools, libclang-dev, lua5.1, ...
	@missing=""; \
	for pkg in $(APT_PACKAGES); do \
		[ "$$(dpkg-query -W -f='$${Status}' "$$pkg" 2>/dev/null)" = "install ok installed" ] \
			|| missing="$$missing $$pkg"; \
	done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		$(SUDO) apt-get update -qq; \
		$(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends $$missing; \
	fi
	@command -v $(CARGO) >/dev/null || { \
		echo "error: $(CARGO) not found; install Rust with rustup, or run: . ~/.cargo/env" >&2; \
		exit 1; }

build: deps ## Build the module (target/release/libgpool.so) and the gpool binary
	$(CARGO) build --release --workspace
	@test -f $(MODULE) || { echo "error: the build did not produce $(MODULE)" >&2; exit 1; }

run: build ## Start a local redis-server with the module in the background (.run/)
	@mkdir -p $(RUN_DIR)
	@if [ -f $(PIDFILE) ] && kill -0 "$$(cat $(PIDFILE))" 2>/dev/null; then \
		echo "error: redis-server is already running (pid $$(cat $(PIDFILE)), port" \
			"$$(cat $(RUN_DIR)/port 2>/dev/null || echo '?')); run 'make stop' first" >&2; \
		exit 1; \
	fi
	@if redis-cli -p $(PORT) PING >/dev/null 2>&1; then \
		echo "error: something already answers on port $(PORT); choose another: make run PORT=6380" >&2; \
		exit 1; \
	fi
	@# redis.conf loads the module and keeps data in .run/; it is read from the top folder.
	@test -f $(MODULE) || { echo "error: $(MODULE) is missing; run 'make build'" >&2; exit 1; }
	@rm -f $(PIDFILE)
	@echo $(PORT) > $(RUN_DIR)/port
	@logstart=$$(( $$(stat -c %s $(LOGFILE) 2>/dev/null || echo 0) + 1 )); \
	cd $(CURDIR) && redis-server redis.conf --port $(PORT) \
		--daemonize yes --pidfile $(PIDFILE) --logfile $(LOGFILE); \
	for i in $$(seq 100); do \
		redis-cli -p $(PORT) PING 2>/dev/null | grep -q PONG && exit 0; \
		tail -c +$$logstart $(LOGFILE) 2>/dev/null | grep -q 'aborting\|Fatal' && break; \
		sleep 0.1; \
	done; \
	echo "error: redis-server did not start on port $(PORT); from $(LOGFILE):" >&2; \
	tail -c +$$logstart $(LOGFILE) | grep ' # ' | grep -v 'overcommit' | tail -n 3 >&2; \
	exit 1
	@# Keys come from the environment and go to redis-cli on its standard input, so no
	@# key is printed or shows up in a process's arguments.
	@if [ -n "$${GEMINI_EMBED_KEY_POOL:-}" ]; then \
		keys=$$(printf '%s\n' "$$GEMINI_EMBED_KEY_POOL" | tr ',' '\n' \
			| sed 's/^[[:space:]]*//; s/[[:space:]]*$$//' | grep . || true); \
		given=$$(printf '%s' "$$keys" | grep -c . || true); \
		if [ "$$given" -eq 0 ]; then echo "GEMINI_EMBED_KEY_POOL holds no keys" >&2; exit 1; fi; \
		added=$$(printf '%s\n' "$$keys" | sed 's/[\\"]/\\&/g' \
			| { printf 'GPOOL.ADD gemini'; while read -r k; do printf ' "%s"' "$$k"; done; echo; } \
			| redis-cli -p $(PORT) 2>&1) || true; \
		case "$$added" in \
			''|*[!0-9]*) echo "error: adding GEMINI_EMBED_KEY_POOL to pool gemini failed: $$added;" \
				"stopped the server" >&2; \
				kill "$$(cat $(PIDFILE))"; exit 1;; \
			*) echo "pool gemini: $$added of $$given keys from GEMINI_EMBED_KEY_POOL were new";; \
		esac; \
	fi
	@# lua/configure.sh, where present, sets the library's options to the module's.
	@if [ -f $(LUA_LIB) ]; then \
		if [ -f lua/configure.sh ]; then \
			bash lua/configure.sh $(MODULE_OPTS) > $(RUN_DIR)/gpool.lua \
				|| { echo "error: stopped the server" >&2; kill "$$(cat $(PIDFILE))"; exit 1; }; \
		else \
			cp $(LUA_LIB) $(RUN_DIR)/gpool.lua; \
		fi; \
		redis-cli -p $(PORT) -x FUNCTION LOAD REPLACE < $(RUN_DIR)/gpool.lua >$(RUN_DIR)/lua.out 2>&1; \
		lib=$$(tr -d '\n' < $(RUN_DIR)/lua.out); \
		if [[ "$$lib" =~ ^[A-Za-z0-9_]+$$ ]]; then \
			echo "loaded the Lua library '$$lib' from $(LUA_LIB)"; \
		else \
			echo "error: FUNCTION LOAD of $(LUA_LIB) failed, so the server was stopped:" >&2; \
			cat $(RUN_DIR)/lua.out >&2; \
			kill "$$(cat $(PIDFILE))"; exit 1; \
		fi; \
	fi
	@echo "redis-server with gpool is running on 127.0.0.1:$(PORT) (data and log in .run/)"
	@echo "  connect: redis-cli -p $(PORT)"
	@echo "  stop:    make stop"

stop: ## Stop the redis-server that `make run` started
	@if ! [ -f $(PIDFILE) ] || ! kill -0 "$$(cat $(PIDFILE))" 2>/dev/null; then \
		echo "redis-server is not running"; \
		rm -f $(PIDFILE); \
		exit 0; \
	fi; \
	pid=$$(cat $(PIDFILE)); \
	kill "$$pid"; \
	for i in $$(seq 100); do \
		kill -0 "$$pid" 2>/dev/null || { echo "stopped redis-server (pid $$pid)"; exit 0; }; \
		sleep 0.1; \
	done; \
	echo "error: redis-server (pid $$pid) is still running after 10 s; see $(LOGFILE)" >&2; \
	exit 1

test: build ## Build, then run every test: cargo test, the Lua checks, the conformance suite
	$(CARGO) test --release --workspace
	@for t in $(TEST_EXTRA); do $(MAKE) "$$t"; done

test-lua: ## Compile lua/*.lua as Lua 5.1 (the Lua inside Redis), then run lua/tests/run.sh
	@shopt -s nullglob; files=(lua/*.lua); \
	if [ $${#files[@]} -eq 0 ]; then echo "test-lua: no Lua files yet"; exit 0; fi; \
	for f in "$${files[@]}"; do luac5.1 -p "$$f"; done; \
	echo "test-lua: $${#files[@]} file(s) compile"
	@if [ -f lua/tests/run.sh ]; then bash lua/tests/run.sh; fi

test-conformance: build ## Run the same scenarios on the module and the Lua library, compare
	python3 lua/tests/compare.py $(MODULE)

bench: build ## Benchmark NEXT against INCR and LMOVE, then the client's cost per batch
	tests/bench/run.sh
	$(CARGO) run --release -p gpool-client --example bench_overhead

fmt: ## Format the Rust code
	$(CARGO) fmt --all

clippy: ## Lint the Rust code; warnings fail
	$(CARGO) clippy --release --workspace --all-targets -- -D warnings

clean: ## Remove build output (target/); the data in .run/ stays
	$(CARGO) clean
