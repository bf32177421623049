package main

import (
	"reflect"
	"testing"

	"github.com/spf13/cobra"
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
