package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestVersionLine(t *testing.T) {
	vcs := func(kv ...string) []debug.BuildSetting {
		var s []debug.BuildSetting
		for i := 0; i < len(kv); i += 2 {
			s = append(s, debug.BuildSetting{Key: kv[i], Value: kv[i+1]})
		}
		return s
	}
	for _, c := range []struct {
		name string
		info *debug.BuildInfo
		want string
	}{
		{"no build information", nil, "regioncache demo (devel), revision unknown, "},
		{"go run without VCS stamping", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "(devel)"}},
			"regioncache demo (devel), revision unknown, go1.26.8 "},
		{"go build in a clean checkout", &debug.BuildInfo{GoVersion: "go1.26.8",
			Main:     debug.Module{Version: "v0.0.0-20261201031633-dc3e5172c8ae"},
			Settings: vcs("vcs", "git", "vcs.revision", "dc3e5172c8ae56ff", "vcs.time", "2026-12-01T03:16:33Z", "vcs.modified", "false")},
			"regioncache demo v0.0.0-20261201031633-dc3e5172c8ae, revision dc3e5172c8ae56ff (2026-12-01T03:16:33Z), go1.26.8 "},
		{"go build with uncommitted changes", &debug.BuildInfo{GoVersion: "go1.26.8",
			Main:     debug.Module{Version: "v0.0.0-20261201031633-dc3e5172c8ae+dirty"},
			Settings: vcs("vcs.revision", "dc3e5172c8ae56ff", "vcs.time", "2026-12-01T03:16:33Z", "vcs.modified", "true")},
			"regioncache demo v0.0.0-20261201031633-dc3e5172c8ae+dirty, revision dc3e5172c8ae56ff (2026-12-01T03:16:33Z, with uncommitted changes), go1.26.8 "},
		{"a tagged release from the module proxy", &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Version: "v1.2.3"}},
			"regioncache demo v1.2.3, revision unknown, go1.26.8 "},
	} {
		if got := versionLine(c.info); !strings.HasPrefix(got, c.want) {
			t.Errorf("%s: %q, want it to begin with %q", c.name, got, c.want)
		}
	}
}

func TestVersionThroughTheCommand(t *testing.T) {
	for _, args := range [][]string{{"version"}, {"--version"}, {"-version"}} {
		code, out, errOut := demo(t, "", args...)
		if code != exitOK || !strings.HasPrefix(out, "regioncache demo ") || !strings.Contains(out, "revision ") || errOut != "" {
			t.Errorf("demo %s: exit %d, stdout %q, stderr %q; want exit 0 and the version line", strings.Join(args, " "), code, out, errOut)
		}
	}
	if code, _, errOut := demo(t, "", "version", "extra"); code != exitUsage || !strings.Contains(errOut, `demo version: unexpected argument "extra"`) {
		t.Errorf("demo version extra: exit %d, stderr %q; want exit 2 and the argument named", code, errOut)
	}
	if _, out, _ := demo(t, "", "--help"); !strings.Contains(out, "demo version") {
		t.Errorf("the usage does not list demo version:\n%s", out)
	}
}

// TestUnknownFlagBeforeTheCommand: a flag before the command is named as an
// unknown flag (not an unknown command), with the usage, exit 2.
func TestUnknownFlagBeforeTheCommand(t *testing.T) {
	for _, args := range [][]string{{"--bogus"}, {"-x"}, {"--bogus", "replay", "f.jsonl"}, {"--json", "replay"}} {
		code, out, errOut := demo(t, "", args...)
		if code != exitUsage || out != "" ||
			!strings.HasPrefix(errOut, "demo: flag provided but not defined: "+args[0]+" ") ||
			!strings.Contains(errOut, "Usage:") || strings.Contains(errOut, "unknown command") {
			t.Errorf("demo %s: exit %d, stdout %q, stderr %q; want exit 2, the flag named and the usage on stderr",
				strings.Join(args, " "), code, out, errOut)
		}
	}
}
