# Two commands: `make demo` and `make test`. Both install what is missing first.
BUILD ?= build
PORT ?= 8080

.PHONY: deps build demo test bench clean

deps:
	scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
	ninja -C $(BUILD)

demo: build
	$(BUILD)/abierto demo --port $(PORT)

test: deps
	BUILD_DIR=$(BUILD) scripts/test.sh

bench: build
	ABIERTO_BENCH_DEPS=1 scripts/install-deps.sh
	bench/run.sh

clean:
	rm -rf $(BUILD)
