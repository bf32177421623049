package spec

import (
	"slices"
	"testing"
)

func TestSubstitute(t *testing.T) {
	env := map[string]string{"SET": "value", "EMPTY": "", "NUM": "42", "NESTED": "${SET}"}
	lookup := func(k string) (string, bool) { v, ok := env[k]; return v, ok }
	tests := []struct {
		in, want string
		unset    []string
		err      string
	}{
		{in: "plain", want: "plain"},
		{in: "$SET", want: "value"},
		{in: "${SET}", want: "value"},
		{in: "a${SET}b$NUM.c", want: "avalueb42.c"},
		{in: "$$SET", want: "$SET"},
		{in: "$$$$", want: "$$"},
		{in: "pa$$word", want: "pa$word"},
		{in: "$UNSET", want: "", unset: []string{"UNSET"}},
		{in: "${UNSET}x", want: "x", unset: []string{"UNSET"}},
		{in: "${UNSET:-def}", want: "def"},
		{in: "${UNSET-def}", want: "def"},
		{in: "${EMPTY:-def}", want: "def"},
		{in: "${EMPTY-def}", want: ""},
		{in: "${SET:-def}", want: "value"},
		{in: "${UNSET:-${SET}}", want: "value"},
		{in: "${UNSET:-${ALSO:-deep}}", want: "deep"},
		{in: "${UNSET:-a}}", want: "a}"},
		{in: "${SET:+alt}", want: "alt"},
		{in: "${EMPTY:+alt}", want: ""},
		{in: "${EMPTY+alt}", want: "alt"},
		{in: "${UNSET+alt}", want: ""},
		{in: "${SET:?boom}", want: "value"},
		{in: "${EMPTY?boom}", want: ""},
		{in: "${NESTED}", want: "${SET}"}, // values are not interpolated twice
		{in: "${UNSET:?must be set}", err: "required variable UNSET is missing a value: must be set"},
		{in: "${EMPTY:?}", err: "required variable EMPTY is missing a value"},
		{in: "${UNSET?no}", err: "required variable UNSET is missing a value: no"},
		{in: "$", err: `invalid interpolation format in "$"; write $$ for a literal $`},
		{in: "$1", err: `invalid interpolation format in "$1"; write $$ for a literal $`},
		{in: "${SET", err: `invalid interpolation format in "${SET"; write $$ for a literal $`},
		{in: "${}", err: `invalid interpolation format in "${}"; write $$ for a literal $`},
		{in: "${SET:x}", err: `invalid interpolation format in "${SET:x}"; write $$ for a literal $`},
		{in: "${SET*}", err: `invalid interpolation format in "${SET*}"; write $$ for a literal $`},
		{in: "${1A}", err: `invalid interpolation format in "${1A}"; write $$ for a literal $`},
	}
	for _, tt := range tests {
		got, unset, err := substitute(tt.in, lookup)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("substitute(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want || !slices.Equal(unset, tt.unset) {
			t.Errorf("substitute(%q) = %q, %v, %v; want %q, %v", tt.in, got, unset, err, tt.want, tt.unset)
		}
	}
}
