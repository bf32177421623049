package main

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestCreateOptionsSeccompProfile: --security-opt seccomp=FILE puts the file's profile in
// the Spec (not its path), and a bad file is an error naming it.
func TestCreateOptionsSeccompProfile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "p.json")
	os.WriteFile(good, []byte("{\n  \"defaultAction\": \"SCMP_ACT_ALLOW\",\n  \"syscalls\": [{\"names\": [\"mkdir\"], \"action\": \"SCMP_ACT_ERRNO\", \"errnoRet\": 1}]\n}\n"), 0o644)
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["mkdir"], "action": "SCMP_ACT_DENY"}]}`), 0o644)

	spec := func(flags ...string) ([]string, error) {
		var o createOptions
		cmd := &cobra.Command{}
		o.bind(cmd.Flags())
		if err := cmd.Flags().Parse(flags); err != nil {
			t.Fatal(err)
		}
		s, err := o.spec(cmd, []string{"img"})
		return s.SecurityOpt, err
	}
	got, err := spec("--security-opt", "no-new-privileges", "--security-opt", "seccomp="+good)
	want := `seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}`
	if err != nil || len(got) != 2 || got[0] != "no-new-privileges" || got[1] != want {
		t.Errorf("got %q %v, want [no-new-privileges %s]", got, err, want)
	}
	for file, msg := range map[string]string{bad: `action "SCMP_ACT_DENY": unknown`, filepath.Join(dir, "none.json"): "no such file"} {
		_, err := spec("--security-opt", "seccomp="+file)
		if err == nil || !strings.Contains(err.Error(), "--security-opt") || !strings.Contains(err.Error(), file) || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: %v, want the flag, the file and %q", file, err, msg)
		}
	}
}

// TestStringArrayFlag: the cheap repeatable flag of run and create parses, prints and
// documents itself as pflag's StringArrayVarP does.
func TestStringArrayFlag(t *testing.T) {
	for _, args := range [][]string{nil, {"-e", "A=1"}, {"-e", "A=1", "--env", `B="x,y"`, "-e", ""}} {
		var want, got []string
		pf := pflag.NewFlagSet("pflag", pflag.ContinueOnError)
		pf.StringArrayVarP(&want, "env", "e", nil, "set a variable")
		ours := pflag.NewFlagSet("pflag", pflag.ContinueOnError)
		stringArrayVarP(ours, &got, "env", "e", "set a variable")
		if pf.FlagUsages() != ours.FlagUsages() {
			t.Errorf("usage:\n%s\nwant:\n%s", ours.FlagUsages(), pf.FlagUsages())
		}
		if err := pf.Parse(args); err != nil {
			t.Fatal(err)
		}
		if err := ours.Parse(args); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: %q, want %q", args, got, want)
		}
		if g, w := ours.Lookup("env").Value.String(), pf.Lookup("env").Value.String(); g != w {
			t.Errorf("%q: String() %q, want %q", args, g, w)
		}
	}
}
