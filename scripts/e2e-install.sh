#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Proof that `dtheap build --install DIR` lays the module out exactly as the kernel's own
# `make modules_install M=... INSTALL_MOD_PATH=DIR INSTALL_MOD_DIR=updates` does (module and
# every depmod output, byte for byte), against the 6.1 reference kernel
# (kernel/refkernel/build.sh, cached). make test runs it after scripts/e2e.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
eval "$(kernel/refkernel/build.sh)"
out=$(DTHEAP_KDIR=$KDIR ${GO:-go} test ./kernel -run '^TestInstallMatchesModulesInstall$' -count=1 -v 2>&1) || {
	echo "$out" >&2
	echo "e2e-install: FAIL: dtheap build --install differs from make modules_install (above)" >&2
	exit 1
}
echo "$out" | grep -q -- '--- PASS: TestInstallMatchesModulesInstall' || {
	echo "$out" >&2
	echo "e2e-install: FAIL: the comparison did not run" >&2
	exit 1
}
n=$(echo "$out" | sed -n 's/.*compared \([0-9]*\) files.*/\1/p')
echo "e2e-install: dtheap build --install matches make modules_install ($n files, Linux $KERNEL_RELEASE)"
