package main

import (
	"reflect"
	"testing"

	"github.com/spf13/pflag"
)

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
