// Package kmsg reads the kernel's log from /dev/kmsg (or a file holding its records, or a
// plain dmesg dump) as message texts, for the boot checker and the doctor.
package kmsg

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"
)

// Read returns the messages (text only) of the kernel log at path, reading at most maxBytes
// in at most maxReads reads. It opens with O_NONBLOCK and reads through raw syscalls:
// os.File would park a non-blocking char device on the runtime poller and wait for the next
// message forever (dtheap-check hung in the guest that way). /dev/kmsg returns one record per
// read and EAGAIN at the end; a regular file (a fake root) returns chunks, which the line
// split handles the same way.
func Read(path string, maxBytes, maxReads int) ([]string, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var sb strings.Builder
	buf := make([]byte, 8192)
	for i := 0; i < maxReads && sb.Len() < maxBytes; i++ {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EPIPE) || errors.Is(err, unix.EINTR) {
			continue // records overwritten while reading: go on from the next one
		}
		if err != nil || n <= 0 {
			break // EAGAIN: no more records
		}
		sb.Write(buf[:n])
	}
	return Parse(sb.String()), nil
}

// Parse turns /dev/kmsg records ("6,339,5140900,-;text", continuation lines start with a
// space) into message texts. Lines without the record prefix are kept as they are, so a
// plain dmesg dump works too.
func Parse(s string) []string {
	var out []string
	for _, line := range strings.Split(s, "\n") {
		if line == "" || strings.HasPrefix(line, " ") {
			continue
		}
		if i := strings.IndexByte(line, ';'); i > 0 && strings.Count(line[:i], ",") >= 2 {
			line = line[i+1:]
		}
		out = append(out, line)
	}
	return out
}
