# shellcheck shell=bash
# The QEMU virt machines dtheap boots, one table for scripts/e2e.sh, scripts/lib/e2e.sh,
# scripts/qemu.sh and scripts/record-placement.sh (sourced, not run). qemu_virt ARCH sets:
#   qemu         the QEMU command without -M, -kernel, -initrd, -dtb, -append (an array)
#   console_dev  the kernel's console device
#   dram_base    where QEMU virt's one DRAM bank starts
#   ref_ram      the RAM of the arch's reference board (boards/qemu-virt-ARCH.yaml), for -m
#   cross        the cross toolchain prefix that builds the guest's static programs
# riscv64 runs OpenSBI first (-bios default: the fw_dynamic Debian's qemu-system-data ships), which
# loads the kernel at 0x80200000 and passes the DTB on at the address QEMU gave it, and inserts
# its own /reserved-memory/mmode_resv0@80000000.
qemu_virt() {
	case $1 in
	arm64) qemu=(qemu-system-aarch64 -cpu cortex-a57) console_dev=ttyAMA0 dram_base=0x40000000 ref_ram=1024 cross=aarch64-linux-gnu- ;;
	riscv64) qemu=(qemu-system-riscv64 -bios default) console_dev=ttyS0 dram_base=0x80000000 ref_ram=2048 cross=riscv64-linux-gnu- ;;
	*)
		echo "qemu_virt: no QEMU virt machine for arch $1 (arm64 or riscv64)" >&2
		return 1
		;;
	esac
}
