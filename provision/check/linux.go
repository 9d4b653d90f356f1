//go:build linux

package check

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// FinitModule loads modules with finit_module(2). pkg/kmodule's FileInit goes through
// init_module and drops its flags, so the direct syscall is simpler. The file is opened with a
// raw open(2), not os.Open, which would also set up the runtime's network poller for it.
type FinitModule struct{}

// Load implements ModuleLoader.
func (FinitModule) Load(path string) error {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return &os.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	if err := unix.FinitModule(fd, "", 0); err != nil {
		return fmt.Errorf("finit_module: %w", err)
	}
	return nil
}

// UAPI: include/uapi/linux/dma-heap.h and dma-buf.h.
const (
	dmaHeapIoctlAlloc = 0xc0184800 // _IOWR('H', 0, struct dma_heap_allocation_data)
	dmaBufIoctlSync   = 0x40086200 // _IOW('b', 0, struct dma_buf_sync)
)

type dmaHeapAllocationData struct {
	Len       uint64
	Fd        uint32
	FdFlags   uint32
	HeapFlags uint64
}

// DMAHeaps is the real HeapDevices: DMA_HEAP_IOCTL_ALLOC on the heap's device node.
type DMAHeaps struct{}

// Allocate implements HeapDevices.
func (DMAHeaps) Allocate(devPath string, size uint64) (Buffer, error) {
	hfd, err := unix.Open(devPath, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", devPath, err)
	}
	defer unix.Close(hfd)
	data := dmaHeapAllocationData{Len: size, FdFlags: unix.O_RDWR | unix.O_CLOEXEC}
	if _, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(hfd), dmaHeapIoctlAlloc, uintptr(unsafe.Pointer(&data))); errno != 0 {
		return nil, fmt.Errorf("DMA_HEAP_IOCTL_ALLOC: %w", errno)
	}
	return &dmaBuf{fd: int(data.Fd), size: size}, nil
}

type dmaBuf struct {
	fd   int
	size uint64
	mem  []byte
}

// Map maps the buffer with MAP_POPULATE: the kernel faults every page in inside the mmap call
// (mm/gup.c populate_vma_page_range, which skips the VM_PFNMAP mappings carveout heaps make up
// front), instead of one CPU exception per page when the check first touches it. A CMA heap's
// 1 MiB is 256 faults (cma_heap_vm_fault maps one page each), several ms under TCG. The check
// still touches every byte through the mapping; a page the kernel could not populate faults on
// that touch as it did before.
func (b *dmaBuf) Map() ([]byte, error) {
	mem, err := unix.Mmap(b.fd, 0, int(b.size), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_POPULATE)
	if err != nil {
		return nil, fmt.Errorf("mmap: %w", err)
	}
	b.mem = mem
	return mem, nil
}

func (b *dmaBuf) Sync(flags uint64) error {
	arg := flags
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(b.fd), dmaBufIoctlSync, uintptr(unsafe.Pointer(&arg)))
		switch errno {
		case 0:
			return nil
		case unix.EINTR, unix.EAGAIN: // the UAPI asks callers to retry these
			continue
		}
		return fmt.Errorf("DMA_BUF_IOCTL_SYNC: %w", errno)
	}
}

func (b *dmaBuf) Unmap() error {
	if b.mem == nil {
		return nil
	}
	err := unix.Munmap(b.mem)
	b.mem = nil
	return err
}

func (b *dmaBuf) Close() error {
	b.Unmap()
	return unix.Close(b.fd)
}
