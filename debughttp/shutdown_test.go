package debughttp_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/debughttp"
	"github.com/regioncache/regioncache/internal/mvcc"
	"github.com/regioncache/regioncache/internal/testutil"
)

// TestShutdownWithAHalfRequest: a client that sent part of a request and
// stalled must not hold the server up, nor make its shutdown an error
// (before: Serve waited ShutdownTimeout and returned "context deadline
// exceeded").
func TestShutdownWithAHalfRequest(t *testing.T) {
	e := engine(t, regioncache.Options{})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- debughttp.ServeListener(ctx, ln, e, prometheus.NewRegistry()) }()
	base := "http://" + ln.Addr().String()

	half, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer half.Close()
	if _, err := io.WriteString(half, "GET /debug/stats HTTP/1.1\r\nHost: x\r\n"); err != nil { // no blank line: not finished
		t.Fatal(err)
	}
	// A whole request on another connection is served meanwhile, and the
	// index lists /metrics beside the debug pages.
	if idx := fetch(t, base+"/debug/"); !strings.Contains(idx, "/metrics") {
		t.Errorf("/debug/ does not list /metrics:\n%s", idx)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Serve after cancel with a half request open: %v", err)
	}
	// The stalled connection was closed, not left open.
	if err := half.SetReadDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := io.ReadAll(half); err != nil && !errors.Is(err, net.ErrClosed) && !strings.Contains(err.Error(), "reset") {
		t.Fatalf("the half request's connection: %v", err)
	}
}

func TestRegionKeysAreWrittenAsEventLogsWriteThem(t *testing.T) {
	for _, tt := range []struct {
		key  []byte
		want string
	}{
		{[]byte("cart/"), "cart/"},
		{[]byte{0x7a, 0x74, 0x80}, "0x7a7480"},
		{[]byte("0xab"), "0x30786162"}, // text that would read back as hex
		{[]byte("a\nb"), "0x610a62"},
		{[]byte{}, ""},
	} {
		if got := mvcc.KeyText(tt.key); got != tt.want {
			t.Errorf("KeyText(%q) = %q, want %q", tt.key, got, tt.want)
		}
	}
	e := testutil.Open(t, regioncache.Options{})
	if _, err := e.Load(regioncache.Region{ID: 3, Version: 1, Start: []byte("cart/"), End: []byte{0xff, 0x00}}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := testutil.Hooks(e).WaitRegionState(ctx, 3, regioncache.Active); err != nil {
		t.Fatal(err)
	}
	rec := get(t, debughttp.Handler(e), "GET", "/debug/regions")
	var body debughttp.Regions
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	rs := body.Regions
	if len(rs) != 1 || rs[0].Start != "cart/" || rs[0].End != "0xff00" {
		t.Fatalf("regions: %+v", rs)
	}
}
