package spec

import (
	"fmt"
	"slices"
	"testing"
)

func TestParseDotenv(t *testing.T) {
	shell := map[string]string{"HOME": "/root", "FROM_SHELL": "shell"}
	lookup := func(k string) (string, bool) { v, ok := shell[k]; return v, ok }
	tests := []struct {
		name, in string
		want     []string // KEY=VALUE in order
		unset    []string
		err      string
	}{
		{name: "plain", in: "A=1\nB=two words\n", want: []string{"A=1", "B=two words"}},
		{name: "comments and blanks", in: "# c\n\n  # indented\nA=1 # trailing\nB=x#not-a-comment\n", want: []string{"A=1", "B=x#not-a-comment"}},
		{name: "export and spaces", in: "export A=1\n B = 2 \n", want: []string{"A=1", "B=2"}},
		{name: "empty value", in: "A=\nB= # c\n", want: []string{"A=", "B="}},
		{name: "single quotes literal", in: "P='pa$$w0rd $HOME # x'\n", want: []string{"P=pa$$w0rd $HOME # x"}},
		{name: "bcrypt hash", in: "H='$2y$10$abcdefghijklmnopqrstuv'\n", want: []string{"H=$2y$10$abcdefghijklmnopqrstuv"}},
		{name: "double quotes interpolate", in: `A="home=$HOME\tx"` + "\n", want: []string{"A=home=/root\tx"}},
		{name: "double quote escapes", in: `A="l1\nl2 \"q\" \\ \$HOME"` + "\n", want: []string{"A=l1\nl2 \"q\" \\ $HOME"}},
		{name: "double quote comment after", in: `A="x # y" # z` + "\n", want: []string{"A=x # y"}},
		{name: "multiline", in: "A=\"one\ntwo\"\nB='x\ny'\n", want: []string{"A=one\ntwo", "B=x\ny"}},
		{name: "unquoted interpolates", in: "A=$HOME/x\nB=${MISSING:-d}\n", want: []string{"A=/root/x", "B=d"}},
		{name: "earlier keys", in: "A=1\nB=${A}2\n", want: []string{"A=1", "B=12"}},
		{name: "shell wins over earlier keys", in: "HOME=/elsewhere\nB=$HOME\n", want: []string{"HOME=/elsewhere", "B=/root"}},
		{name: "bare key from shell", in: "FROM_SHELL\nNOT_IN_SHELL\n", want: []string{"FROM_SHELL=shell"}},
		{name: "unset warns", in: "A=$NOPE\n", want: []string{"A="}, unset: []string{"NOPE"}},
		{name: "crlf", in: "A=1\r\nB=2\r\n", want: []string{"A=1", "B=2"}},
		{name: "unterminated", in: "A=1\nB=\"open\n", err: "line 2: unterminated quoted value of B"},
		{name: "junk after quote", in: "A='x' y\n", err: `line 1: unexpected "y" after the quoted value of A`},
		{name: "bad name", in: "=1\n", err: `line 1: invalid variable name ""`},
		{name: "space in name", in: "A B=1\n", err: `line 1: invalid variable name "A B"`},
		{name: "bad template", in: "A=${\n", err: `line 1: invalid interpolation format in "${"; write $$ for a literal $`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			vars, unset, err := parseDotenv(tt.in, lookup)
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("error = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, v := range vars {
				got = append(got, fmt.Sprintf("%s=%s", v.Key, v.Value))
			}
			if !slices.Equal(got, tt.want) || !slices.Equal(unset, tt.unset) {
				t.Errorf("got %q unset %q, want %q unset %q", got, unset, tt.want, tt.unset)
			}
		})
	}
}
