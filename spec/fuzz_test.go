package spec

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary stack files to Load: it must never panic, and a file that loads
// must print a canonical form that loads again to the same service hashes.
func FuzzLoad(f *testing.F) {
	for _, file := range examples {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(data))
	}
	for _, seed := range []string{
		"services:\n  web:\n    image: a\n    ports: ['8080:80', '127.0.0.1::53/udp']\n",
		"x: &a {image: b}\nservices:\n  web:\n    <<: *a\n    environment: [A=${B:-c}]\n",
		"services:\n  a:\n    extends: b\n  b:\n    image: x\n    depends_on: [a]\n",
		"services: {web: {image: a, volumes: ['./x:/y:ro', {type: tmpfs, target: /t, tmpfs: {size: 1k}}]}}",
		"a: &a [*a]",
		"services:\n  web:\n    image: a\n    healthcheck: {test: 'true', interval: 1s}\n    restart: on-failure:2\n",
	} {
		f.Add(seed)
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content string) {
		p, err := Load(LoadOptions{Files: []string{"-"}, Stdin: strings.NewReader(content), WorkDir: dir, Environ: []string{"A=1"}})
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := encodeYAML(&buf, p); err != nil {
			t.Fatalf("encode: %v", err)
		}
		again, err := Load(LoadOptions{Files: []string{"-"}, Stdin: &buf, WorkDir: dir, Environ: []string{}})
		if err != nil {
			t.Fatalf("canonical form does not load: %v\ninput:\n%s", err, content)
		}
		for _, s := range p.Services {
			if a := again.Service(s.Name); a == nil || a.ConfigHash() != s.ConfigHash() {
				t.Fatalf("service %s changed after reload\ninput:\n%s", s.Name, content)
			}
		}
	})
}
