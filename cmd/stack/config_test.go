package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackhq/stack/spec"
)

// runCLI runs the stack command line in-process and returns stdout, stderr and the error.
func runCLI(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	t.Setenv("COMPOSE_PROJECT_NAME", "")
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetArgs(args)
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(stdin))
	err := cmd.Execute()
	return out.String(), errOut.String(), err
}

func TestConfigMatchesGolden(t *testing.T) {
	repo, _ := filepath.Abs("../..")
	for _, name := range []string{"httpd", "demo"} {
		out, stderr, err := runCLI(t, "", "config", "-f", filepath.Join(repo, "examples", name, "stack.yaml"))
		if err != nil || stderr != "" {
			t.Fatalf("%s: %v\n%s", name, err, stderr)
		}
		want, err := os.ReadFile(filepath.Join(repo, "spec", "testdata", "golden", name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.ReplaceAll(out, repo, "/REPO"); got != string(want) {
			t.Errorf("%s: stack config differs from the golden file:\n%s", name, got)
		}
	}
}

func TestConfigFlags(t *testing.T) {
	wp := "../../examples/wordpress/docker-compose.yml"
	httpd := "../../examples/httpd/stack.yaml"
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"services", []string{"config", "-f", wp, "--services"}, "db\nwordpress\n"},
		{"services with profile", []string{"config", "-f", wp, "--services", "--profile", "cron"}, "cron\ndb\nwordpress\n"},
		{"services json", []string{"config", "-f", wp, "--services", "--format", "json"}, "[\n  \"db\",\n  \"wordpress\"\n]\n"},
		{"volumes", []string{"config", "-f", wp, "--volumes"}, "db_data\nwp_content\n"},
		{"quiet", []string{"config", "-f", wp, "-q"}, ""},
		{"project flag", []string{"-p", "other", "config", "-f", httpd, "--format", "json"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, stderr, err := runCLI(t, "", tt.args...)
			if err != nil {
				t.Fatalf("%v\n%s", err, stderr)
			}
			if tt.name == "project flag" {
				var doc struct{ Name string }
				if err := json.Unmarshal([]byte(out), &doc); err != nil || doc.Name != "other" {
					t.Errorf("json name = %q, %v", doc.Name, err)
				}
				return
			}
			if out != tt.want {
				t.Errorf("output %q, want %q", out, tt.want)
			}
		})
	}
}

func TestConfigHash(t *testing.T) {
	file := "../../examples/wordpress/docker-compose.yml"
	p, err := spec.Load(spec.LoadOptions{Files: []string{file}, Environ: os.Environ()})
	if err != nil {
		t.Fatal(err)
	}
	out, _, err := runCLI(t, "", "config", "-f", file, "--hash", "db")
	if want := "db " + p.Service("db").ConfigHash() + "\n"; err != nil || out != want {
		t.Errorf("--hash db = %q, %v; want %q", out, err, want)
	}
	out, _, err = runCLI(t, "", "config", "-f", file, "--hash", "*")
	if lines := strings.Split(strings.TrimSpace(out), "\n"); err != nil || len(lines) != 2 || !strings.HasPrefix(lines[1], "wordpress v1:") {
		t.Errorf("--hash '*' = %q, %v", out, err)
	}
	// A service of a disabled profile is selected by naming it.
	out, _, err = runCLI(t, "", "config", "-f", file, "--hash", "cron")
	if err != nil || !strings.HasPrefix(out, "cron v1:") {
		t.Errorf("--hash cron = %q, %v", out, err)
	}
	if _, _, err = runCLI(t, "", "config", "-f", file, "--hash", "nope"); !errors.Is(err, spec.ErrUnknownService) {
		t.Errorf("--hash nope: %v", err)
	}
}

func TestConfigInvalid(t *testing.T) {
	in := "services:\n  web:\n    imag: x\n    ports: ['x']\n    logging: {}\n"
	out, stderr, err := runCLI(t, in, "config", "-f", "-")
	var ee *exitError
	if !errors.As(err, &ee) || ee.code != 1 || !errors.Is(err, spec.ErrInvalid) {
		t.Fatalf("err = %v, want exit status 1", err)
	}
	want := "-:5: warning: services.web.logging is not supported by stack and is ignored\n" +
		"-:2:3: services.web: service web needs image or build\n" +
		"-:3:5: services.web: unknown key \"imag\", did you mean \"image\"?\n" +
		"-:4:13: services.web.ports[0]: invalid port \"x\": want a number from 1 to 65535\n"
	if out != "" || stderr != want {
		t.Errorf("stdout %q\nstderr %q\nwant %q", out, stderr, want)
	}
	if ee.Error() != "invalid stack file: 3 problems" {
		t.Errorf("message %q", ee.Error())
	}
	if _, _, err := runCLI(t, "", "config", "-f", "../../examples/httpd/stack.yaml", "--format", "xml"); err == nil || !strings.Contains(err.Error(), "--format") {
		t.Errorf("--format xml: %v", err)
	}
	if _, _, err := runCLI(t, "", "-p", "Bad Name", "config", "-f", "../../examples/httpd/stack.yaml"); err == nil {
		t.Error("-p 'Bad Name': want an error")
	}
}
