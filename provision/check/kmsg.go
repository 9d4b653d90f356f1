package check

import (
	"errors"
	"strings"

	"golang.org/x/sys/unix"
)

// readKmsg returns the kernel log's messages (text only) from root/dev/kmsg. It reads with
// O_NONBLOCK through raw syscalls: os.File would park a non-blocking char device on the
// poller and wait for the next message forever. /dev/kmsg returns one record per read; a
// regular file (a fake root) returns chunks, which the line split handles the same way.
func readKmsg(name string) ([]string, error) {
	fd, err := unix.Open(name, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	var sb strings.Builder
	buf := make([]byte, 8192)
	for i := 0; i < 100000 && sb.Len() < 8<<20; i++ {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EPIPE) || errors.Is(err, unix.EINTR) {
			continue // records overwritten while reading: go on from the next one
		}
		if err != nil || n <= 0 {
			break // EAGAIN: no more records
		}
		sb.Write(buf[:n])
	}
	return parseKmsg(sb.String()), nil
}

// parseKmsg turns /dev/kmsg records ("6,339,5140900,-;text", continuation lines start with a
// space) into message texts. Lines without the record prefix are kept as they are, so a
// plain dmesg dump works too.
func parseKmsg(s string) []string {
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

// grepLog returns the lines containing every one of subs, keeping at most the last max.
func grepLog(lines []string, max int, subs ...string) []string {
	var out []string
next:
	for _, l := range lines {
		for _, s := range subs {
			if !strings.Contains(l, s) {
				continue next
			}
		}
		out = append(out, l)
	}
	if len(out) > max {
		out = out[len(out)-max:]
	}
	return out
}
