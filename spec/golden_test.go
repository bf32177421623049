package spec

import (
	"bytes"
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// examples are the example stacks, each with a golden file of its canonical form (what
// `stack config` prints) in testdata/golden/<name>.yaml.
var examples = map[string]string{
	"httpd":     "../examples/httpd/stack.yaml",
	"demo":      "../examples/demo/stack.yaml",
	"wordpress": "../examples/wordpress/docker-compose.yml",
}

// encodeYAML encodes a project as `stack config` does.
func encodeYAML(w io.Writer, p *Project) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return err
	}
	return enc.Close()
}

func canonicalYAML(t *testing.T, p *Project) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := encodeYAML(&buf, p); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestGoldenExamples loads every example, compares its canonical form with the golden
// file (the repository's path replaced by /REPO), and checks that the canonical form loads
// back into the same project: same output, same config hashes, no warnings.
func TestGoldenExamples(t *testing.T) {
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	for name, file := range examples {
		t.Run(name, func(t *testing.T) {
			path, _ := filepath.Abs(file)
			p, err := Load(LoadOptions{Files: []string{path}, Environ: []string{"HOME=/home/user"}})
			if err != nil {
				t.Fatal(err)
			}
			if len(p.Warnings) > 0 {
				t.Errorf("warnings: %v", p.Warnings)
			}
			out := canonicalYAML(t, p)
			got := strings.ReplaceAll(string(out), repo, "/REPO")
			golden := filepath.Join("testdata", "golden", name+".yaml")
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./spec -run TestGoldenExamples -update)", err)
			}
			if got != string(want) {
				t.Errorf("canonical form differs from %s (rerun with -update if intended):\n%s", golden, got)
			}

			again, err := Load(LoadOptions{Files: []string{"-"}, Stdin: bytes.NewReader(out), WorkDir: p.WorkDir, Environ: []string{}})
			if err != nil {
				t.Fatalf("reload canonical form: %v", err)
			}
			if len(again.Warnings) > 0 {
				t.Errorf("reload warnings: %v", again.Warnings)
			}
			if out2 := canonicalYAML(t, again); !bytes.Equal(out, out2) {
				t.Errorf("canonical form is not a fixed point:\n%s", out2)
			}
			for _, s := range p.Services {
				if h := again.Service(s.Name).ConfigHash(); h != s.ConfigHash() {
					t.Errorf("service %s: hash %s after reload, was %s", s.Name, h, s.ConfigHash())
				}
			}
		})
	}
}
