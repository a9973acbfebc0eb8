package debughttp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/debughttp"
)

// The host mounts the handler on its own mux; here a test server stands in.
func ExampleHandler() {
	e, err := regioncache.Open(regioncache.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	if err := e.Put([]byte("b1"), 10, []byte("v")); err != nil {
		log.Fatal(err)
	}
	if _, err := e.Load(regioncache.Region{ID: 1, Version: 1, Start: []byte("a"), End: []byte("m")}); err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := e.WaitIdle(ctx); err != nil {
		log.Fatal(err)
	}

	mux := http.NewServeMux()
	mux.Handle("/debug/", debughttp.Handler(e))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/debug/regions")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	var body debughttp.Regions
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		log.Fatal(err)
	}
	for _, r := range body.Regions {
		fmt.Printf("region %d v%d [%s, %s) %s, %d version(s), loaded: %v\n",
			r.ID, r.Version, r.Start, r.End, r.State, r.Versions, r.LoadedAt != nil)
	}
	// Output:
	// region 1 v1 [a, m) active, 1 version(s), loaded: true
}
