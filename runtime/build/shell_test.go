package build

import (
	"errors"
	"reflect"
	"testing"
)

func testLookup(name string) (string, bool) {
	v, ok := map[string]string{"A": "aa", "EMPTY": "", "SP": "x  y", "PATH": "/usr/local/bin:/usr/bin", "F": "file.tar.gz"}[name]
	return v, ok
}

// Cases from buildkit's shell/envVarTest, the ones our instructions can meet.
func TestExpandWord(t *testing.T) {
	cases := []struct{ in, want string }{
		{"$A", "aa"},
		{"${A}b", "aab"},
		{"$Ab", ""},
		{"$UNSET", ""},
		{"'$A'", "$A"},
		{`"$A"`, "aa"},
		{`\$A`, "$A"},
		{`"\$A \"q\" \x"`, `$A "q" \x`},
		{"${UNSET:-def}", "def"},
		{"${EMPTY:-def}", "def"},
		{"${EMPTY-def}", ""},
		{"${UNSET-def}", "def"},
		{"${A:-def}", "aa"},
		{"${A:+set}", "set"},
		{"${EMPTY:+set}", ""},
		{"${EMPTY+set}", "set"},
		{"${UNSET+set}", ""},
		{"${UNSET:-$A-x}", "aa-x"},
		{"${UNSET:-'lit $A'}", "lit $A"},
		{"$", "$"},
		{"a$", "a$"},
		{"$1", ""},
		{"${F#*.}", "tar.gz"},
		{"${F##*.}", "gz"},
		{"${F%.*}", "file.tar"},
		{"${F%%.*}", "file"},
		{"${PATH/:/;}", "/usr/local/bin;/usr/bin"},
		{"${F//./-}", "file-tar-gz"},
		{"${SP}", "x  y"},
		{"a b  c", "a b  c"},
	}
	for _, c := range cases {
		got, err := expandWord(c.in, '\\', testLookup)
		if err != nil || got != c.want {
			t.Errorf("expandWord(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestExpandWords(t *testing.T) {
	cases := []struct {
		in   string
		want []string
	}{
		{"a b  c", []string{"a", "b", "c"}},
		{"$SP z", []string{"x", "y", "z"}},
		{`"$SP" z`, []string{"x  y", "z"}},
		{"80/tcp ${UNSET:-443}", []string{"80/tcp", "443"}},
		{"'a b'c", []string{"a bc"}},
	}
	for _, c := range cases {
		got, err := expandWords(c.in, '\\', testLookup)
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("expandWords(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
}

func TestExpandErrors(t *testing.T) {
	if _, err := expandWord("${UNSET:?need it}", '\\', testLookup); !errors.Is(err, ErrBadVariable) {
		t.Errorf(":? on unset: %v", err)
	}
	if _, err := expandWord("${EMPTY?x}", '\\', testLookup); err != nil {
		t.Errorf("? on empty but set: %v", err)
	}
	for _, in := range []string{"${A", "'open", `"open`, "${A:x}", "${}"} {
		if _, err := expandWord(in, '\\', testLookup); !errors.Is(err, ErrSyntax) {
			t.Errorf("expandWord(%q): %v, want ErrSyntax", in, err)
		}
	}
	// With the backtick escape, a backslash is literal.
	if got, _ := expandWord(`C:\$A`, '`', testLookup); got != `C:\aa` {
		t.Errorf("backtick escape: %q", got)
	}
}
