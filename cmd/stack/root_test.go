package main

import (
	"reflect"
	"testing"
)

func TestHoistProjectFlags(t *testing.T) {
	tests := []struct{ in, want []string }{
		{[]string{"up", "-d"}, []string{"up", "-d"}},
		{[]string{"-f", "a.yaml", "-p", "demo", "up", "-d"}, []string{"up", "--file", "a.yaml", "--project-name", "demo", "-d"}},
		{[]string{"--file=a.yaml", "--profile", "dev", "down"}, []string{"down", "--file=a.yaml", "--profile", "dev"}},
		{[]string{"-fa.yaml", "config"}, []string{"config", "--file=a.yaml"}},
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
