package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// lines feeds what the command prints, line by line, to a channel.
func lines(t *testing.T) (io.Writer, <-chan string) {
	r, w := io.Pipe()
	ch := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(r)
		for sc.Scan() {
			ch <- sc.Text()
		}
		close(ch)
	}()
	t.Cleanup(func() { w.Close() })
	return w, ch
}

func waitLine(t *testing.T, ch <-chan string, prefix string) string {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-ch:
			if !ok {
				t.Fatalf("output ended before a line starting %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("no line starting %q", prefix)
		}
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

func TestServeReplaysThenShowsTheEngine(t *testing.T) {
	log := filepath.Join(t.TempDir(), "serve.jsonl")
	if err := os.WriteFile(log, []byte(`{"op":"put","key":"a1","ts":1,"value":"x"}
{"op":"load","region":{"id":77,"version":2,"start":"a","end":"b"}}
{"op":"wait","until":"idle"}
{"op":"expect","region":77,"state":"active"}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, ch := lines(t)
	code := make(chan int, 1)
	go func() { code <- runContext(ctx, []string{"serve", "--addr", "127.0.0.1:0", log}, nil, out, io.Discard) }()
	serving := waitLine(t, ch, "serving http://")
	host, _, _ := strings.Cut(strings.TrimPrefix(strings.Fields(serving)[1], "http://"), "/")
	base := "http://" + host
	waitLine(t, ch, "replay finished")
	if regions := get(t, base+"/debug/regions"); !strings.Contains(regions, `"id": 77`) && !strings.Contains(regions, `"id":77`) {
		t.Fatalf("/debug/regions does not show region 77: %s", regions)
	}
	if m := get(t, base+"/metrics"); !strings.Contains(m, "regioncache_") {
		t.Fatalf("/metrics has no regioncache_ metric")
	}
	cancel()
	if c := <-code; c != exitOK {
		t.Fatalf("exit %d", c)
	}
}

func TestServeRefusesAMalformedLog(t *testing.T) {
	log := filepath.Join(t.TempDir(), "bad.jsonl")
	if err := os.WriteFile(log, []byte("{\"op\":\"nope\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	if c := run([]string{"serve", "--addr", "127.0.0.1:0", log}, nil, io.Discard, &stderr); c != exitUsage || !strings.Contains(stderr.String(), "bad.jsonl:1:") {
		t.Fatalf("exit %d, stderr %q", c, stderr.String())
	}
}

func TestServePrintsFailuresAsTheyHappen(t *testing.T) {
	log := filepath.Join(t.TempDir(), "failing.jsonl")
	if err := os.WriteFile(log, []byte(failing), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, ch := lines(t)
	code := make(chan int, 1)
	go func() { code <- runContext(ctx, []string{"serve", "--addr", "127.0.0.1:0", log}, nil, out, io.Discard) }()
	waitLine(t, ch, "serving http://")
	// Before the replay ends, hence before any interrupt: as they happen.
	waitLine(t, ch, log+":3: expect region 1 is active: it is absent")
	waitLine(t, ch, log+`:5: get "a"@9 expect "pear": got "apple", want "pear"`)
	waitLine(t, ch, "replay finished")
	cancel()
	if c := <-code; c != exitFailed {
		t.Fatalf("exit %d, want 1", c)
	}
}

// Issue 11 point 12: an options file the engine refuses (its evict
// threshold above its capacity) exits 2 naming FILE:LINE and the key, and
// a log whose config the engine refuses exits 2 at the config op's line.
func TestServeRefusesAConfigTheEngineRefuses(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "opts.toml")
	if err := os.WriteFile(cfg, []byte("# limits\ncapacity = \"8MiB\"\nevict_threshold = \"16MiB\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	c := run([]string{"serve", "--addr", "127.0.0.1:0", "--config", cfg}, nil, io.Discard, &stderr)
	if want := cfg + ":3: evict_threshold: invalid options: evict threshold 16777216 is above capacity 8388608\n"; c != exitUsage || stderr.String() != want {
		t.Fatalf("exit %d, stderr %q; want exit 2 and %q", c, stderr.String(), want)
	}
	log := filepath.Join(dir, "cfg.jsonl")
	if err := os.WriteFile(log, []byte("{\"op\": \"config\", \"capacity\": \"8MiB\", \"evict_threshold\": \"16MiB\"}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	stderr.Reset()
	c = run([]string{"serve", "--addr", "127.0.0.1:0", log}, nil, io.Discard, &stderr)
	if want := log + ":1: config: invalid options: evict threshold"; c != exitUsage || !strings.HasPrefix(stderr.String(), want) {
		t.Fatalf("exit %d, stderr %q; want exit 2 and %q...", c, stderr.String(), want)
	}
}
