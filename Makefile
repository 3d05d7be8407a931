# Quick start: `make demo` runs the main job, `make test` runs every test.
# Both install missing Debian packages (as root) and configure + build first (`demo`: the CLI
# and the library only).
BUILD_DIR ?= build
CUDA_HOME ?= /usr/local/cuda
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
FLASHCORE := $(BUILD_DIR)/flashcore
CMAKE_ARGS := -DCMAKE_BUILD_TYPE=Release -DCUDAToolkit_ROOT=$(CUDA_HOME)
ifneq ($(FLASHCORE_DEPS_ROOT),)
CMAKE_ARGS += -DCMAKE_PREFIX_PATH=$(FLASHCORE_DEPS_ROOT)
endif

.PHONY: all demo test deps build cli clean

all: build

# The demo needs the CLI and the library only, not the test executables (minutes on 2 cores).
demo: cli
	@echo "== flashcore demo: first run =="
	FLASHCORE_CACHE_DIR=$(CURDIR)/cache $(FLASHCORE) demo
	@echo
	@echo "== flashcore demo: second run (a new process; the cubin comes from the disk cache) =="
	FLASHCORE_CACHE_DIR=$(CURDIR)/cache $(FLASHCORE) demo

test: build
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS)

deps:
	@cmake/install_deps.sh

$(BUILD_DIR)/CMakeCache.txt: | deps
	cmake -S . -B $(BUILD_DIR) $(CMAKE_ARGS)

build: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS)

cli: deps $(BUILD_DIR)/CMakeCache.txt
	cmake --build $(BUILD_DIR) -j $(JOBS) --target flashcore_cli

clean:
	rm -rf $(BUILD_DIR)
