//go:build e2e

package main

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stackhq/stack/internal/testutil"
)

// TestE2EConfigExamples runs the built binary's `stack config` on every example: the
// output is the golden file, with no warnings.
func TestE2EConfigExamples(t *testing.T) {
	bin := testutil.StackBin(t)
	repo, _ := filepath.Abs("../..")
	for _, name := range []string{"httpd", "demo"} {
		cmd := exec.Command(bin, "config", "-f", filepath.Join(repo, "examples", name, "stack.yaml"))
		cmd.Env = append(os.Environ(), "COMPOSE_PROJECT_NAME=")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil || stderr.Len() > 0 {
			t.Fatalf("%s: %v\n%s", name, err, stderr.String())
		}
		want, err := os.ReadFile(filepath.Join(repo, "spec", "testdata", "golden", name+".yaml"))
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.ReplaceAll(string(out), repo, "/REPO"); got != string(want) {
			t.Errorf("%s: output differs from the golden file:\n%s", name, got)
		}
	}
}

// TestE2EConfigInvalid checks that an invalid file exits 1 and prints every problem.
func TestE2EConfigInvalid(t *testing.T) {
	bin := testutil.StackBin(t)
	cmd := exec.Command(bin, "config", "-f", "-")
	cmd.Stdin = strings.NewReader("services:\n  web:\n    image: a\n    ports: ['x', '1:2:3:4']\n    restart: sometimes\n")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 {
		t.Fatalf("exit: %v, want status 1", err)
	}
	want := "-:4:13: services.web.ports[0]: invalid port \"x\": want a number from 1 to 65535\n" +
		"-:4:18: services.web.ports[1]: invalid host IP \"1:2\"\n" +
		"-:5:14: services.web.restart: unknown restart policy \"sometimes\" (no, always, on-failure[:N], unless-stopped)\n" +
		"stack: invalid stack file: 3 problems\n"
	if stderr.String() != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", stderr.String(), want)
	}
}
