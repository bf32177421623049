package spec

import (
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// writeFiles writes name -> content into a fresh directory and returns it.
func writeFiles(t testing.TB, files map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "proj")
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// load writes stack.yaml with content and loads it with opts (WorkDir set to its dir).
func load(t testing.TB, content string, opts LoadOptions) (*Project, error) {
	t.Helper()
	dir := writeFiles(t, map[string]string{"stack.yaml": content})
	opts.WorkDir = dir
	return Load(opts)
}

// mustLoad loads content and fails the test on any error.
func mustLoad(t testing.TB, content string, opts LoadOptions) *Project {
	t.Helper()
	p, err := load(t, content, opts)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return p
}

// problemLines returns the problems of a ValidationError as "line:col: path: msg" (the
// directory of the file cut off), failing the test for any other error.
func problemLines(t testing.TB, err error) []string {
	t.Helper()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("want a *ValidationError, got %v", err)
	}
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("errors.Is(err, ErrInvalid) = false")
	}
	out := make([]string, len(verr.Problems))
	for i, p := range verr.Problems {
		p.Pos.File = filepath.Base(p.Pos.File)
		out[i] = tempDir.ReplaceAllString(p.String(), "<dir>/")
	}
	return out
}

// tempDir matches the test's directory in messages.
var tempDir = regexp.MustCompile(`\S*/proj/`)

// warningLines returns the warnings with the directory of the file cut off.
func warningLines(p *Project) []string {
	out := make([]string, len(p.Warnings))
	for i, w := range p.Warnings {
		w.Pos.File = filepath.Base(w.Pos.File)
		out[i] = w.String()
	}
	return out
}

func svc(t testing.TB, p *Project, name string) *Service {
	t.Helper()
	s := p.Service(name)
	if s == nil {
		t.Fatalf("no service %q in %v", name, p.ServiceNames())
	}
	return s
}

func joinLines(lines []string) string { return strings.Join(lines, "\n") }
