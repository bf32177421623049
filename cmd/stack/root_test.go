package main

import (
	"reflect"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func TestHoistProjectFlags(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"up", "-d"}, []string{"up", "-d"}},
		{[]string{"-f", "a.yaml", "-p", "demo", "up", "-d"}, []string{"up", "--file", "a.yaml", "--project-name", "demo", "-d"}},
		{[]string{"--file=a.yaml", "--profile", "dev", "down"}, []string{"down", "--file=a.yaml", "--profile", "dev"}},
		{[]string{"-fa.yaml", "config"}, []string{"config", "--file=a.yaml"}},
		{[]string{"-f", "a.yaml", "logs", "-f"}, []string{"logs", "--file", "a.yaml", "-f"}},
		{[]string{"-p=demo", "run", "-p", "8080:80", "web"}, []string{"run", "--project-name=demo", "-p", "8080:80", "web"}},
		{[]string{"--root", "/tmp/r", "container", "rm", "-f", "x"}, []string{"container", "--root", "/tmp/r", "rm", "-f", "x"}},
		{[]string{"--verbose", "up"}, []string{"--verbose", "up"}},
		{[]string{"-f"}, []string{"-f"}},
	}
	for _, tt := range tests {
		if got := hoistProjectFlags(tt.in); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("hoistProjectFlags(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

// TestFlagsMerge parses the flags of every verb as cobra does when it runs one: a verb's own
// shorthand clashing with a project flag's (logs -f) panicked before the verb ran.
func TestFlagsMerge(t *testing.T) {
	var walk func(c *cobra.Command)
	walk = func(c *cobra.Command) {
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("%s: %v", c.CommandPath(), r)
				}
			}()
			if err := c.ParseFlags(nil); err != nil {
				t.Errorf("%s: %v", c.CommandPath(), err)
			}
		}()
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(newRootCmd())
}

// TestVerbTables: the names each verb table lists are those of the command it builds, and a
// command line that names a verb finds the same command in the tree built for it alone as
// in the whole tree.
func TestVerbTables(t *testing.T) {
	for _, table := range [][]verb{rootVerbs, containerVerbs} {
		for _, v := range table {
			c := v.build(nil)
			if got := append([]string{c.Name()}, c.Aliases...); !reflect.DeepEqual(got, v.names) {
				t.Errorf("verb %s: names %q, command has %q", v.names[0], v.names, got)
			}
		}
	}
	full := newRootCmd()
	if n := len(full.Commands()); n != len(rootVerbs) {
		t.Errorf("root has %d commands, rootVerbs lists %d", n, len(rootVerbs))
	}
	lines := [][]string{
		{"container", "run", "--rm", "img", "true"},
		{"container", "--root", "/r", "create", "img"},
		{"container", "--root=/r", "ps", "-a"},
		{"container", "remove", "-f", "x"},
		{"rm", "--file", "a.yaml", "-f"},
		{"plan"},
		{"image", "ls"},
		{"version"},
	}
	for _, v := range containerVerbs {
		lines = append(lines, []string{"container", v.names[0]})
	}
	for _, v := range rootVerbs {
		lines = append(lines, []string{v.names[0]})
	}
	for _, args := range lines {
		want, _, err := full.Find(args)
		if err != nil {
			t.Fatalf("%q in the whole tree: %v", args, err)
		}
		got, _, err := newRootCmdFor(args).Find(args)
		if err != nil {
			t.Errorf("%q in its own tree: %v", args, err)
			continue
		}
		if got.CommandPath() != want.CommandPath() {
			t.Errorf("%q: found %q, the whole tree %q", args, got.CommandPath(), want.CommandPath())
		}
		if !reflect.DeepEqual(flagNames(got), flagNames(want)) {
			t.Errorf("%q: flags %q, the whole tree %q", args, flagNames(got), flagNames(want))
		}
	}
	// No verb, or a misspelt one: the whole tree, for help and suggestions.
	for _, args := range [][]string{nil, {"--help"}, {"contianer", "ls"}, {"help", "up"}, {"completion", "bash"}} {
		if n := len(newRootCmdFor(args).Commands()); n != len(rootVerbs) {
			t.Errorf("%q: %d commands, want the whole tree", args, n)
		}
	}
	if n := len(newRootCmdFor([]string{"container", "nope"}).Commands()[0].Commands()); n != len(containerVerbs) {
		t.Errorf("container nope: %d container commands, want all %d", n, len(containerVerbs))
	}
}

// flagNames lists the names of every flag a command accepts (its own and inherited).
func flagNames(c *cobra.Command) []string {
	var names []string
	c.InheritedFlags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name+" "+f.Shorthand+" "+f.DefValue) })
	c.LocalFlags().VisitAll(func(f *pflag.Flag) { names = append(names, f.Name+" "+f.Shorthand+" "+f.DefValue) })
	return names
}

// BenchmarkRootCmd is the command tree each run of the binary builds before it parses its
// arguments: the whole tree (help, completion) and the one `container run` needs.
//
//	go test -run '^$' -bench RootCmd -benchmem ./cmd/stack/
func BenchmarkRootCmd(b *testing.B) {
	for _, bc := range []struct {
		name string
		args []string
	}{
		{"whole", nil},
		{"container-run", []string{"container", "run", "--rm", "--network", "none", "busybox", "/bin/true"}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				newRootCmdFor(bc.args)
			}
		})
	}
}
