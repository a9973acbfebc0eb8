package replay_test

import (
	"context"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/eventlog"
	"github.com/regioncache/regioncache/replay"
)

// browser returns a headless Chromium to look at timelines with, as a
// person would. Without one the test skips, except in CI (CI=true), where
// .ci/run installs Debian's chromium and a missing browser is a failure.
func browser(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "chrome"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("no headless Chromium in PATH: .ci/run installs Debian's chromium package")
	}
	t.Skip("no Chromium in PATH (apt-get install chromium); CI runs this test")
	return ""
}

// screenshot renders page in headless Chromium at width x height.
func screenshot(t *testing.T, chrome, page string, width, height int) image.Image {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, chrome, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--user-data-dir="+filepath.Join(dir, "profile"), "--force-device-scale-factor=1",
		"--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "--screenshot="+out, "file://"+page)
	cmd.Env = append(os.Environ(), "HOME="+dir)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, b)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func hexColor(s string) color.RGBA {
	v, _ := strconv.ParseUint(strings.TrimPrefix(s, "#"), 16, 32)
	return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff}
}

// box is where a colour shows in a picture: its pixels' bounds and count.
type box struct {
	minX, minY, maxX, maxY, n int
}

func find(img image.Image, c color.RGBA, within image.Rectangle) box {
	b := box{minX: 1 << 30, minY: 1 << 30, maxX: -1, maxY: -1}
	r := within.Intersect(img.Bounds())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			pr, pg, pb, _ := img.At(x, y).RGBA()
			if uint8(pr>>8) == c.R && uint8(pg>>8) == c.G && uint8(pb>>8) == c.B {
				b.n++
				b.minX, b.minY, b.maxX, b.maxY = min(b.minX, x), min(b.minY, y), max(b.maxX, x), max(b.maxY, y)
			}
		}
	}
	return b
}

func timelinePage(t *testing.T, results ...*replay.Result) string {
	t.Helper()
	page := filepath.Join(t.TempDir(), "run.html")
	f, err := os.Create(page)
	if err != nil {
		t.Fatal(err)
	}
	if err := replay.WriteTimelineHTML(f, results...); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return page
}

func replayFile(t *testing.T, path string) *replay.Result {
	t.Helper()
	log, err := eventlog.ParseFile(path)
	if err != nil {
		t.Fatal(err)
	}
	res, err := replay.Run(context.Background(), log, replay.Options{})
	if err != nil || !res.OK() {
		t.Fatalf("%s: %v %+v", path, err, res.Failures)
	}
	return res
}

// TestTimelineInABrowser looks at timelines the way a person does: rendered
// by Chromium, then read pixel by pixel.
func TestTimelineInABrowser(t *testing.T) {
	chrome := browser(t)
	if regioncache.Active.String() == "" || replay.StateColors[regioncache.Active] == "" {
		t.Fatal("no colour for active")
	}
	active := hexColor(replay.StateColors[regioncache.Active])
	loading := hexColor(replay.StateColors[regioncache.Loading])
	held := hexColor(replay.HeldColor)
	if active == held {
		t.Fatalf("active and expectation held share a colour")
	}

	t.Run("seed incident: legend on top, marks above the labels, time axis", func(t *testing.T) {
		res := replayFile(t, filepath.Join("..", "examples", "seed-incident.jsonl"))
		img := screenshot(t, chrome, timelinePage(t, res), 1200, 700)
		all := img.Bounds()
		// Every state's swatch is in the legend, and the legend is above
		// the lanes: the first loading swatch is higher than the span.
		for st, c := range replay.StateColors {
			if find(img, hexColor(c), all).n == 0 {
				t.Errorf("no %s in the picture", st)
			}
		}
		legendBottom := find(img, hexColor(replay.StateColors[regioncache.PendingEvict]), all).maxY // a state the seed never reaches
		span := find(img, loading, image.Rect(0, legendBottom+1, all.Max.X, all.Max.Y))
		if span.n == 0 {
			t.Fatal("no loading span below the legend")
		}
		// The load request and dedup marks sit above the span, not on it.
		request := find(img, hexColor("#1f3f99"), image.Rect(0, legendBottom+40, all.Max.X, all.Max.Y))
		if request.n == 0 || request.maxY >= span.minY {
			t.Errorf("load request mark %+v overlaps the span %+v", request, span)
		}
		// Held expectations and the active span both show, in their own colours.
		if find(img, held, all).n == 0 || find(img, active, image.Rect(0, legendBottom+1, all.Max.X, all.Max.Y)).n == 0 {
			t.Error("expectation held or active not drawn")
		}
		// Time, not line numbers: the 10 ms between the loads is as wide as
		// the time says, so the dedup mark is clearly to the right of the
		// request (more than the 4 px an op gets at least).
		dedup := find(img, hexColor("#7a4f00"), image.Rect(0, legendBottom+40, all.Max.X, all.Max.Y))
		if dedup.n == 0 || dedup.minX-request.maxX < 20 {
			t.Errorf("the two loads 10 ms apart are not apart: request %+v, dedup %+v", request, dedup)
		}
	})

	t.Run("short log: the legend is not clipped", func(t *testing.T) {
		res := run(t, `{"op": "check"}`, replay.Options{})
		img := screenshot(t, chrome, timelinePage(t, res), 900, 500)
		// The legend's last item ("other" ops) is drawn inside the picture.
		if find(img, hexColor("#cfcfcf"), img.Bounds()).n == 0 {
			t.Error("the legend's last item is cut off")
		}
		if find(img, hexColor(replay.StateColors[regioncache.Evicting]), img.Bounds()).n == 0 {
			t.Error("the legend's last state is cut off")
		}
	})

	t.Run("merge: a reborn region and the merge are marked", func(t *testing.T) {
		res := replayFile(t, filepath.Join("..", "examples", "merge.jsonl"))
		img := screenshot(t, chrome, timelinePage(t, res), 1200, 700)
		legendBottom := find(img, hexColor(replay.StateColors[regioncache.PendingEvict]), img.Bounds()).maxY
		below := image.Rect(0, legendBottom+40, img.Bounds().Max.X, img.Bounds().Max.Y)
		if find(img, hexColor("#0b6e4f"), below).n == 0 {
			t.Error("no merge mark on the lanes")
		}
		if find(img, hexColor("#222222"), below).n == 0 {
			t.Error("no reborn marker on the lanes")
		}
	})
}
