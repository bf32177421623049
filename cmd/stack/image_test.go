package main

import (
	"archive/tar"
	"bytes"
	"strings"
	"testing"
)

func TestHumanSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0B", 999: "999B", 1000: "1kB", 4257000: "4.26MB", 1_500_000_000: "1.5GB"} {
		if got := humanSize(n); got != want {
			t.Errorf("humanSize(%d) = %q, want %q", n, got, want)
		}
	}
}

// runStack runs the root command in-process with a store root of the test's own.
func runStack(t *testing.T, stdin []byte, args ...string) (string, error) {
	t.Helper()
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetIn(bytes.NewReader(stdin))
	cmd.SetArgs(append([]string{"--root", t.TempDir()}, args...))
	err := cmd.Execute()
	return out.String(), err
}

func TestImageCommandsInProcess(t *testing.T) {
	root := t.TempDir()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "hello", Mode: 0o644, Size: 2})
	tw.Write([]byte("hi"))
	tw.Close()
	run := func(stdin []byte, args ...string) string {
		t.Helper()
		cmd := newRootCmd()
		var out bytes.Buffer
		cmd.SetOut(&out)
		cmd.SetIn(bytes.NewReader(stdin))
		cmd.SetArgs(append([]string{"--root", root}, args...))
		if err := cmd.Execute(); err != nil {
			t.Fatalf("stack %v: %v", args, err)
		}
		return out.String()
	}
	id := strings.TrimSpace(run(buf.Bytes(), "image", "import", "-", "app:1"))
	run(nil, "image", "tag", "app:1", "localhost:5000/app:2")
	ls := run(nil, "image", "ls")
	if !strings.HasPrefix(ls, "REPOSITORY") || !strings.Contains(ls, "docker.io/library/app") || !strings.Contains(ls, "localhost:5000/app") {
		t.Errorf("ls:\n%s", ls)
	}
	if got := run(nil, "image", "ls", "-q"); got != id[7:19]+"\n" {
		t.Errorf("ls -q = %q (one line per image)", got)
	}
	if got := run(nil, "image", "ls", "--format", "json", "localhost:5000/app"); strings.Count(got, "\n") != 1 || !strings.Contains(got, `"Tag":"2"`) {
		t.Errorf("ls filtered json = %q", got)
	}
	if got := run(nil, "image", "ls", "-q", "app:9"); got != "" {
		t.Errorf("ls app:9 = %q", got)
	}
	if got := run(nil, "image", "history", "-q", "app:1"); got != id[7:19]+"\n" {
		t.Errorf("history -q = %q", got)
	}
	if got := run([]byte("n\n"), "image", "prune", "-a"); strings.Contains(got, "deleted") {
		t.Errorf("prune answered no, still deleted:\n%s", got)
	}
}

func TestImageFlagErrorsNameTheFlag(t *testing.T) {
	for _, c := range []struct {
		args []string
		flag string
	}{
		{[]string{"image", "pull", "--platform", "nonsense", "x"}, "--platform"},
		{[]string{"image", "ls", "--format", "yaml"}, "--format"},
		{[]string{"image", "history", "--format", "yaml", "x"}, "--format"},
	} {
		_, err := runStack(t, nil, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.flag) {
			t.Errorf("stack %v: %v, want an error naming %s", c.args, err, c.flag)
		}
	}
}
