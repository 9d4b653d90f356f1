# dtheap: `make test` runs everything CI runs (unit, golden, devicetree, kernel and boot tests).
GO ?= go
BIN := bin

.PHONY: all build test unit vet deps e2e e2e-install e2e-carveouts e2e-cma e2e-udev e2e-doctor e2e-uroot qemu clean bench bench-e2e bench-tcg

all: build

build:
	$(GO) build -o $(BIN)/dtheap ./cmd/dtheap
	CGO_ENABLED=0 $(GO) build -o $(BIN)/dtheap-check ./cmd/dtheap-check

deps:
	./scripts/install-deps.sh

vet:
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }

unit:
	$(GO) test ./...

# Every reference kernel (6.1, 6.12, 7.3, each for arm64 and riscv64), then the u-root variant (issue 15:
# both print their own summary lines in make e2e).
e2e: build
	./scripts/e2e.sh
	./scripts/e2e-uroot.sh

test: deps build vet unit e2e e2e-install e2e-carveouts e2e-cma e2e-udev e2e-doctor

# dtheap build --install against the kernel's own modules_install (needs the reference kernel e2e builds).
e2e-install:
	./scripts/e2e-install.sh

# Carveouts of every mapping on a boot (issue 14): checker, selftest, zerotest, the no-map refusal,
# On every reference kernel (E2E_VERSIONS), each from its cached build.
E2E_VERSIONS ?= 6.1 6.12 7.3
# And on every riscv64 reference kernel (E2E_RISCV64_VERSIONS) with the riscv64 carveouts board.
E2E_RISCV64_VERSIONS ?= 6.1 6.12 7.3
e2e-carveouts: build
	set -e; for v in $(E2E_VERSIONS); do \
		eval "$$(kernel/refkernel/build.sh --version $$v)"; \
		KDIR=$$KDIR IMAGE=$$IMAGE HDR=$$HDR SELFTEST=$$SELFTEST KVERSION=$$v \
			E2E_DIR=out/e2e-carveouts/$$v ./scripts/e2e-carveouts.sh; \
		echo "e2e-carveouts $$v: PASS"; \
	done; \
	for v in $(E2E_RISCV64_VERSIONS); do \
		eval "$$(kernel/refkernel/build.sh --version $$v --arch riscv64)"; \
		KDIR=$$KDIR IMAGE=$$IMAGE HDR=$$HDR SELFTEST=$$SELFTEST KVERSION=$$v E2E_ARCH=riscv64 \
			E2E_DIR=out/e2e-carveouts/$$v-riscv64 ./scripts/e2e-carveouts.sh; \
		echo "e2e-carveouts $$v riscv64: PASS"; \
	done

# dtheap's CMA-pool heaps on a boot (issue 14): exact packing, zeroed memory and the pool coming
# back whole with small buffers carved from chunks (cmatest), checker and selftest. On the
# kernels where dtheap serves CMA (CMA_VERSIONS; 7.3 registers its CMA heaps itself), arm64, then
# riscv64 (those of them in E2E_RISCV64_VERSIONS).
CMA_VERSIONS ?= 6.1 6.12
e2e-cma: build
	set -e; for v in $(CMA_VERSIONS); do \
		eval "$$(kernel/refkernel/build.sh --version $$v)"; \
		KDIR=$$KDIR IMAGE=$$IMAGE HDR=$$HDR SELFTEST=$$SELFTEST \
			E2E_DIR=out/e2e-cma/$$v ./scripts/e2e-cma.sh; \
		echo "e2e-cma $$v: PASS"; \
	done; \
	for v in $(filter $(CMA_VERSIONS),$(E2E_RISCV64_VERSIONS)); do \
		eval "$$(kernel/refkernel/build.sh --version $$v --arch riscv64)"; \
		KDIR=$$KDIR IMAGE=$$IMAGE HDR=$$HDR SELFTEST=$$SELFTEST KVERSION=$$v E2E_ARCH=riscv64 \
			E2E_DIR=out/e2e-cma/$$v-riscv64 ./scripts/e2e-cma.sh; \
		echo "e2e-cma $$v riscv64: PASS"; \
	done

# Heap owner, group, mode and aliases under Debian's arm64 systemd-udevd in the guest (issue 15);
# a deliberately wrong MODE must fail. 6.1 kernel with e2e/udev.config, cached.
e2e-udev: build
	./scripts/e2e-udev.sh

# Doctor verdicts in the guest (issue 13): one boot per kernel (E2E_VERSIONS, default 6.1 6.12
# 7.3) of a tree broken six ways plus a CMA pool split by movablecore=; the checker must fail and
# the doctor's verdict on each broken node must be the one that version's log line justifies.
# Cached reference kernels.
e2e-doctor: build
	./scripts/e2e-doctor.sh

# The boot check under u-root's init (issue 15): the initramfs built with u-root's own builder
# (cmd/dtheap-uroot: mkuimage + gobusybox from the Go module proxy), dtheap-check as the uinit,
# on the 6.1 reference kernel; a wrong manifest must fail. u-root's part is cached.
e2e-uroot: build
	./scripts/e2e-uroot.sh

# Boot any board that fits QEMU virt: make qemu BOARD=boards/qemu-virt-arm64.yaml
qemu: build
	./scripts/qemu.sh $(BOARD)

clean:
	rm -rf $(BIN)

# Generator benchmarks on the host: the front half and every emitter, reference board and
# synthetic boards of 10 to 10,000 pools (BENCHMARKS.md, "Generator"). COUNT=6 for benchstat.
COUNT ?= 1
bench:
	$(GO) test -run '^$$' -bench . -benchmem -count $(COUNT) ./bench/generator

# Heap and boot-check benchmarks inside the QEMU guest (issues #8 and #14; BENCHMARKS.md). Not part of
# `make test`: several emulated boots, minutes. BENCH_BOOTS, BOOT_BOOTS, HEAPBENCH_ROUNDS,
# HEAPBENCH_PACE_US and BENCH_KVERSION (6.1, 6.12, 7.3) tune it.
bench-e2e: build
	./scripts/bench-e2e.sh

# Where the boot checker's cost under TCG goes to translation: one boot with QEMU's -d in_asm,
# translated guest instructions per package, phase and function (BENCHMARKS.md, "Boot check").
# BENCH_CHECKER_BEFORE (an unstripped dtheap-check) and BENCH_KVERSION tune it.
bench-tcg: build
	./scripts/bench-tcg.sh
