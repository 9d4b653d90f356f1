package mapview

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// The browser test renders HTML reports in Debian's headless Chromium (installed by
// scripts/install-deps.sh) and measures what a person would see: the page loads without a
// console error, the screenshot is not blank, and no two labels' boxes, as the browser lays the
// text out with its real fonts, intersect. It does not trust the layout code's own widths.
//
// A missing Chromium fails the test under CI (CI=true) and skips it, saying so, elsewhere.
// Set DTHEAP_SCREENSHOTS=DIR to keep the PNGs.

func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed: apt-get install chromium (scripts/install-deps.sh does)")
	}
	t.Skip("chromium is not installed (apt-get install chromium); the browser checks did not run")
	return ""
}

// browserCases: the QEMU board, the most crowded reference board (most regions, found here,
// not named), the board drawn to have every kind of trouble, and a side-by-side comparison.
func browserCases(t *testing.T) []mapCase {
	crowded, most := "", -1
	for _, b := range referenceBoards(t) {
		if n := len(load(t, b).Regions); n > most {
			crowded, most = b, n
		}
	}
	t.Logf("most crowded reference board: %s (%d regions)", crowded, most)
	return []mapCase{
		{"qemu-virt-arm64", []string{"boards/qemu-virt-arm64.yaml"}},
		{"crowded", []string{crowded}},
		{"trouble", []string{"mapview/testdata/trouble.yaml"}},
		{"ti-vs-imx", []string{"boards/ti-am625-sk.yaml", "boards/imx8mp-evk.yaml"}},
	}
}

// labelBox is a label's bounding box in CSS px, as the browser measured it.
type labelBox struct {
	Text                     string
	Left, Top, Right, Bottom float64
}

const measureLabels = `Array.from(document.querySelectorAll('svg .label')).map(e => {
	const r = e.getBoundingClientRect();
	return {Text: e.textContent, Left: r.left, Top: r.top, Right: r.right, Bottom: r.bottom};
})`

const measureSVG = `(() => { const r = document.querySelector('svg').getBoundingClientRect();
	return {Text: 'svg', Left: r.left, Top: r.top, Right: r.right, Bottom: r.bottom}; })()`

func TestReportInBrowser(t *testing.T) {
	exe := chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		chromedp.NoSandbox, // CI runs as root
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1400, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting %s: %v", exe, err)
	}
	for _, c := range browserCases(t) {
		t.Run(c.name, func(t *testing.T) {
			page := filepath.Join(t.TempDir(), c.name+".html")
			if err := os.WriteFile(page, HTML(plansOf(t, c)), 0o644); err != nil {
				t.Fatal(err)
			}
			checkPage(t, browser, page, c.name)
		})
	}
}

func checkPage(t *testing.T, browser context.Context, page, name string) {
	ctx, cancel := chromedp.NewContext(browser) // a tab of its own
	defer cancel()
	ctx, cancelTime := context.WithTimeout(ctx, 60*time.Second)
	defer cancelTime()

	var mu sync.Mutex
	var problems []string
	err := chromedp.Listen(ctx, func(ev any) {
		var p string
		switch ev := ev.(type) {
		case *runtime.EventConsoleAPICalled:
			if ev.Type == "error" || ev.Type == "warning" || ev.Type == "assert" {
				var args []string
				for _, a := range ev.Args {
					args = append(args, string(a.Value)+a.Description)
				}
				p = fmt.Sprintf("console.%s: %s", ev.Type, strings.Join(args, " "))
			}
		case *runtime.EventExceptionThrown:
			p = "exception: " + ev.ExceptionDetails.Text
		case *log.EventEntryAdded:
			if ev.Entry.Level == "error" || ev.Entry.Level == "warning" {
				p = fmt.Sprintf("log %s: %s %s", ev.Entry.Level, ev.Entry.Text, ev.Entry.URL)
			}
		}
		if p != "" {
			mu.Lock()
			problems = append(problems, p)
			mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate("file://"+page), chromedp.WaitReady("svg")); err != nil {
		t.Fatalf("loading %s: %v", page, err)
	}
	labels, err := chromedp.Run(ctx, chromedp.Evaluate[[]labelBox](measureLabels))
	if err != nil {
		t.Fatal(err)
	}
	svgBox, err := chromedp.Run(ctx, chromedp.Evaluate[labelBox](measureSVG))
	if err != nil {
		t.Fatal(err)
	}
	shot, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("DTHEAP_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name+".png"), shot, 0o644); err != nil {
			t.Error(err)
		}
	}
	mu.Lock()
	for _, p := range problems {
		t.Errorf("%s: %s", name, p)
	}
	mu.Unlock()

	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if inked := inkedShare(img); inked < 0.02 {
		t.Errorf("screenshot is blank: %.2f%% of the pixels differ from the background", 100*inked)
	}

	if len(labels) < 10 {
		t.Fatalf("only %d labels measured; the map did not render", len(labels))
	}
	for _, l := range labels {
		if l.Right-l.Left <= 0 || l.Bottom-l.Top <= 0 {
			t.Errorf("label %q has an empty box: %+v", l.Text, l)
		}
		// Text drawn outside the picture would be cut off.
		if l.Left < svgBox.Left-0.5 || l.Right > svgBox.Right+0.5 || l.Top < svgBox.Top-0.5 || l.Bottom > svgBox.Bottom+0.5 {
			t.Errorf("label %q at %+v sticks out of the picture %+v", l.Text, l, svgBox)
		}
	}
	overlaps := 0
	for i := range labels {
		for j := i + 1; j < len(labels); j++ {
			a, b := labels[i], labels[j]
			const slack = 0.5 // sub-pixel rounding where two lines touch
			if a.Left < b.Right-slack && b.Left < a.Right-slack && a.Top < b.Bottom-slack && b.Top < a.Bottom-slack {
				overlaps++
				if overlaps <= 10 {
					t.Errorf("labels overlap: %q %+v and %q %+v", a.Text, a, b.Text, b)
				}
			}
		}
	}
	t.Logf("%s: %d labels measured, %d overlapping pairs, %.1f%% of the screenshot inked", name, len(labels), overlaps, 100*inkedShare(img))
}

// inkedShare is the share of pixels that differ from the top-left (background) pixel.
func inkedShare(img image.Image) float64 {
	b := img.Bounds()
	bg := img.At(b.Min.X, b.Min.Y)
	br, bgc, bb, _ := bg.RGBA()
	var inked, total int
	for y := b.Min.Y; y < b.Max.Y; y += 2 {
		for x := b.Min.X; x < b.Max.X; x += 2 {
			r, g, bl, _ := img.At(x, y).RGBA()
			total++
			if r != br || g != bgc || bl != bb {
				inked++
			}
		}
	}
	return float64(inked) / float64(total)
}
