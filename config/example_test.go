package config_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/regioncache/regioncache"
	"github.com/regioncache/regioncache/config"
)

func ExampleLoad() {
	dir, _ := os.MkdirTemp("", "regioncache-config")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "regioncache.toml")
	_ = os.WriteFile(path, []byte(`
loaders  = 4
capacity = "256MiB"

[auto_load_evict]
enabled  = true
interval = "30s"
`), 0o644)

	opts, err := config.Load(path)
	if err != nil {
		fmt.Println(err)
		return
	}
	opts.Registerer = prometheus.NewRegistry() // what a file cannot say, code sets
	e, err := regioncache.Open(opts)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	o := e.Options()
	fmt.Println(o.Loaders, o.Capacity>>20, o.EvictThreshold>>20, o.AutoLoadEvict.Interval)

	// A typo is an error that names the field.
	_ = os.WriteFile(path, []byte(`capcity = "1GiB"`), 0o644)
	_, err = config.Load(path)
	fmt.Println(errors.Unwrap(err)) // the whole error starts with "config: PATH: "
	// Output:
	// 4 256 230 30s
	// unknown field "capcity"
}
