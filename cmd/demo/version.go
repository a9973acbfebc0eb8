package main

import (
	"context"
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

const versionUsage = `Usage: demo version (or demo --version)

Prints the version of the regioncache module this demo was built from and
the VCS revision the Go toolchain stamped into the binary, then the Go
version and platform. go build and go install in a git clone stamp both (a
pseudo-version such as v0.0.0-20261201031633-dc3e5172c8ae, +dirty and "with
uncommitted changes" when the tree had some); go run stamps them only with
-buildvcs=true. "(devel)" and "revision unknown" mean the toolchain recorded
nothing: go run, -buildvcs=false, or a linked git worktree (Go does not
recognise one: golang/go#58218).
`

func init() {
	registerCommand(command{name: "version", order: 50, run: runVersion,
		synopsis: "version\tthe module version and VCS revision of this binary"})
}

func runVersion(_ context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
	fs := newFlagSet("demo version")
	rest, code, done := parseFlags(fs, versionUsage, args, stdout, stderr, nil)
	if done {
		return code
	}
	if len(rest) > 0 {
		fmt.Fprintf(stderr, "demo version: unexpected argument %q (demo version takes no arguments)\n", rest[0])
		return exitUsage
	}
	info, _ := debug.ReadBuildInfo()
	fmt.Fprintln(stdout, versionLine(info))
	return exitOK
}

// versionLine is what demo version prints: the module's version, the VCS
// revision with its time and whether the tree had uncommitted changes, and
// the Go version and platform. info may be nil (no build information).
func versionLine(info *debug.BuildInfo) string {
	version, revision, when, modified := "(devel)", "", "", false
	goVersion := runtime.Version()
	if info != nil {
		if v := info.Main.Version; v != "" {
			version = v
		}
		if info.GoVersion != "" {
			goVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				revision = s.Value
			case "vcs.time":
				when = s.Value
			case "vcs.modified":
				modified = s.Value == "true"
			}
		}
	}
	rev := "revision unknown"
	if revision != "" {
		rev = "revision " + revision
		switch {
		case when != "" && modified:
			rev += " (" + when + ", with uncommitted changes)"
		case when != "":
			rev += " (" + when + ")"
		case modified:
			rev += " (with uncommitted changes)"
		}
	}
	return fmt.Sprintf("regioncache demo %s, %s, %s %s/%s", version, rev, goVersion, runtime.GOOS, runtime.GOARCH)
}
