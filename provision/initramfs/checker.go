package initramfs

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// CheckerPackage is the checker's import path, built by BuildChecker.
const CheckerPackage = "github.com/dtheap/dtheap/cmd/dtheap-check"

// CheckerBuild says how to cross-build the checker.
type CheckerBuild struct {
	GOARCH   string // arm64, arm or riscv64 (amd64 too, for a local QEMU)
	GOARM    string // for arm; default 7
	CacheDir string // default <user cache dir>/dtheap/checker
	// SourceDir is a directory inside the dtheap module (it holds cmd/dtheap-check). Default:
	// the current directory; go finds the module from there.
	SourceDir string
	Go        string // the go command; default "go" from PATH
}

var supportedArch = map[string]bool{"arm64": true, "arm": true, "riscv64": true, "amd64": true}

// BuildChecker cross-builds a static, stripped cmd/dtheap-check for b.GOARCH into the cache
// directory and returns its path. Go's own build cache makes a repeat build cheap, so it always
// builds rather than trusting a stale binary; the file is replaced atomically.
func BuildChecker(ctx context.Context, b CheckerBuild) (string, error) {
	if !supportedArch[b.GOARCH] {
		return "", fmt.Errorf("build checker: GOARCH %q not supported (want arm64, arm, riscv64 or amd64)", b.GOARCH)
	}
	if b.Go == "" {
		b.Go = "go"
	}
	if b.CacheDir == "" {
		uc, err := os.UserCacheDir()
		if err != nil {
			return "", fmt.Errorf("build checker: %w", err)
		}
		b.CacheDir = filepath.Join(uc, "dtheap", "checker")
	}
	if err := os.MkdirAll(b.CacheDir, 0o755); err != nil {
		return "", fmt.Errorf("build checker: %w", err)
	}
	name := "dtheap-check-linux-" + b.GOARCH
	env := append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+b.GOARCH)
	if b.GOARCH == "arm" {
		if b.GOARM == "" {
			b.GOARM = "7"
		}
		name += "v" + b.GOARM
		env = append(env, "GOARM="+b.GOARM)
	}
	out := filepath.Join(b.CacheDir, name)
	tmp := out + ".tmp"
	cmd := exec.CommandContext(ctx, b.Go, "build", "-trimpath", "-ldflags=-s -w", "-o", tmp, CheckerPackage)
	cmd.Dir = b.SourceDir
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		os.Remove(tmp)
		msg := strings.TrimSpace(stderr.String())
		if strings.Contains(msg, "go.mod file not found") || strings.Contains(msg, "is not in std") || strings.Contains(msg, "no required module provides") {
			msg += " (run from inside the dtheap source tree, or set SourceDir)"
		}
		return "", fmt.Errorf("build checker for %s: %v: %s", b.GOARCH, err, msg)
	}
	if err := os.Rename(tmp, out); err != nil {
		return "", fmt.Errorf("build checker: %w", err)
	}
	return out, nil
}
