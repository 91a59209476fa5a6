package cli

import (
	"runtime/debug"
	"strings"
)

// linkedCommit is the source revision `make build` passes to the linker (-X), for checkouts the
// toolchain cannot stamp itself (a git worktree). The linker writes it; nothing else does.
var linkedCommit string

// version describes the binary: the main module's version and the commit it was built from, as
// the Go toolchain stamped them (`make build` asks for VCS stamping, and links the commit in as
// well), and the Go version.
func version() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "zkhealth (no build information)"
	}
	v := info.Main.Version
	if v == "" {
		v = "(devel)"
	}
	commit, modified := strings.TrimSuffix(linkedCommit, "-dirty"), strings.HasSuffix(linkedCommit, "-dirty")
	for _, s := range info.Settings {
		switch s.Key {
		case "vcs.revision":
			commit = s.Value
		case "vcs.modified":
			modified = s.Value == "true"
		}
	}
	var b strings.Builder
	b.WriteString("zkhealth " + v)
	switch {
	case commit == "":
		b.WriteString(" (commit unknown: built without VCS information)")
	case modified:
		b.WriteString(" (commit " + commit + ", with uncommitted changes)")
	default:
		b.WriteString(" (commit " + commit + ")")
	}
	b.WriteString(" " + info.GoVersion)
	return b.String()
}
