package build

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func mustParse(t *testing.T, src string) *Dockerfile {
	t.Helper()
	d, err := Parse(strings.NewReader(src))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return d
}

// The cases mirror moby/buildkit's parser tests: continuations, comments inside
// continuations, empty continuation lines, directives, JSON vs shell forms, ENV forms.
func TestParseForms(t *testing.T) {
	src := "# syntax=docker/dockerfile:1\n" +
		"# escape=\\\n" +
		"\n" +
		"FROM busybox AS base\n" +
		"  # indented comment\n" +
		"RUN echo a \\\n" +
		"    && echo b \\\n" +
		"# comment inside a continuation\n" +
		"\n" +
		"    && echo c\n" +
		"CMD [\"/bin/echo\", \"hi\"]\n" +
		"ENTRYPOINT [not json\n" +
		"ENV A=1 B=\"two words\" C=3\n" +
		"ENV LEGACY value with spaces\n" +
		"LABEL \"com.example\"=x y=z\n" +
		"ARG NAME NAME2=def\n" +
		"COPY --chown=app:app --chmod=0755 a b /dst/\n" +
		"COPY [\"with space\", \"/x y/\"]\n" +
		"HEALTHCHECK --interval=5s CMD [\"true\"]\n" +
		"HEALTHCHECK NONE\n" +
		"ONBUILD RUN make\n" +
		"expose 80 443/udp\n"
	d := mustParse(t, src)
	if d.Syntax != "docker/dockerfile:1" || d.Escape != '\\' {
		t.Fatalf("directives: syntax %q escape %q", d.Syntax, d.Escape)
	}
	type want struct {
		cmd   string
		flags []string
		args  []string
		json  bool
		line  int
	}
	wants := []want{
		{"from", nil, []string{"busybox", "AS", "base"}, false, 4},
		{"run", nil, []string{"echo a     && echo b     && echo c"}, false, 6},
		{"cmd", nil, []string{"/bin/echo", "hi"}, true, 11},
		{"entrypoint", nil, []string{"[not json"}, false, 12},
		{"env", nil, []string{"A", "1", "B", "\"two words\"", "C", "3"}, false, 13},
		{"env", nil, []string{"LEGACY", "value with spaces"}, false, 14},
		{"label", nil, []string{"\"com.example\"", "x", "y", "z"}, false, 15},
		{"arg", nil, []string{"NAME", "NAME2=def"}, false, 16},
		{"copy", []string{"--chown=app:app", "--chmod=0755"}, []string{"a", "b", "/dst/"}, false, 17},
		{"copy", nil, []string{"with space", "/x y/"}, true, 18},
		{"healthcheck", []string{"--interval=5s"}, []string{"CMD", "true"}, true, 19},
		{"healthcheck", nil, []string{"NONE"}, false, 20},
		{"onbuild", nil, []string{"RUN make"}, false, 21},
		{"expose", nil, []string{"80", "443/udp"}, false, 22},
	}
	if len(d.Nodes) != len(wants) {
		t.Fatalf("got %d nodes, want %d", len(d.Nodes), len(wants))
	}
	for i, w := range wants {
		n := d.Nodes[i]
		if n.Cmd != w.cmd || !reflect.DeepEqual(n.Flags, w.flags) || !reflect.DeepEqual(n.Args, w.args) || n.JSON != w.json || n.StartLine != w.line {
			t.Errorf("node %d: got %s %q %q json=%v line %d, want %s %q %q json=%v line %d",
				i, n.Cmd, n.Flags, n.Args, n.JSON, n.StartLine, w.cmd, w.flags, w.args, w.json, w.line)
		}
	}
	if on := d.Nodes[12].Next; on == nil || on.Cmd != "run" || on.Args[0] != "make" {
		t.Errorf("ONBUILD trigger: %+v", on)
	}
}

func TestParseEscapeDirective(t *testing.T) {
	d := mustParse(t, "# escape=`\nFROM scratch\nCOPY a `\n  b /c\\d\\\n")
	if d.Escape != '`' {
		t.Fatalf("escape = %q", d.Escape)
	}
	n := d.Nodes[1]
	if !reflect.DeepEqual(n.Args, []string{"a", "b", `/c\d\`}) {
		t.Errorf("args = %q", n.Args)
	}
	// A directive after the first instruction is a comment.
	d = mustParse(t, "FROM scratch\n# escape=`\nCOPY a \\\n b /c\n")
	if d.Escape != '\\' || len(d.Nodes) != 2 {
		t.Errorf("late directive changed escape or nodes: %q %d", d.Escape, len(d.Nodes))
	}
}

func TestParseHeredocs(t *testing.T) {
	src := "FROM busybox\n" +
		"RUN <<EOF\n" +
		"echo one\n" +
		"echo two\n" +
		"EOF\n" +
		"COPY <<-\"A\" <<B /dst/\n" +
		"\tliteral $X\n" +
		"\tA\n" +
		"expanded $X\n" +
		"B\n" +
		"CMD [\"x\"]\n"
	d := mustParse(t, src)
	if len(d.Nodes) != 4 {
		t.Fatalf("got %d nodes", len(d.Nodes))
	}
	run := d.Nodes[1]
	if len(run.Heredocs) != 1 || run.Heredocs[0].Content != "echo one\necho two\n" || !run.Heredocs[0].Expand || run.EndLine != 5 {
		t.Errorf("RUN heredoc: %+v end %d", run.Heredocs, run.EndLine)
	}
	cp := d.Nodes[2]
	want := []Heredoc{{Name: "A", Content: "literal $X\n", Chomp: true}, {Name: "B", Content: "expanded $X\n", Expand: true}}
	if !reflect.DeepEqual(cp.Heredocs, want) {
		t.Errorf("COPY heredocs: %+v", cp.Heredocs)
	}
	if d.Nodes[3].StartLine != 11 {
		t.Errorf("CMD line %d", d.Nodes[3].StartLine)
	}
	if _, err := Parse(strings.NewReader("FROM a\nRUN <<EOF\necho\n")); !errors.Is(err, ErrSyntax) {
		t.Errorf("unterminated heredoc: %v", err)
	}
}

func TestParseErrors(t *testing.T) {
	cases := map[string]struct {
		src  string
		line int
		err  error
	}{
		"unknown instruction": {"FROM a\n\nFORM b\n", 3, ErrUnsupported},
		"env without value":   {"FROM a\nENV X\n", 2, ErrSyntax},
		"env pair":            {"FROM a\nENV X=1 Y\n", 2, ErrSyntax},
		"onbuild from":        {"FROM a\nONBUILD FROM b\n", 2, ErrSyntax},
		"bad healthcheck":     {"FROM a\nHEALTHCHECK echo\n", 2, ErrSyntax},
		"bad escape":          {"# escape=x\nFROM a\n", 2, ErrSyntax},
	}
	for name, c := range cases {
		_, err := Parse(strings.NewReader(c.src))
		var le *lineErr
		if !errors.As(err, &le) || le.line != c.line || !errors.Is(err, c.err) {
			t.Errorf("%s: got %v, want line %d %v", name, err, c.line, c.err)
		}
	}
}

func FuzzParse(f *testing.F) {
	f.Add("FROM busybox\nRUN echo \\\n hi\nCOPY <<EOF /x\nhello\nEOF\n")
	f.Add("# escape=`\nFROM a AS b\nENV A=\"b c\" D=e\nLABEL x y\n")
	f.Fuzz(func(t *testing.T, src string) {
		d, err := Parse(strings.NewReader(src))
		if err != nil {
			return
		}
		for _, n := range d.Nodes {
			if n.StartLine < 1 || n.EndLine < n.StartLine {
				t.Fatalf("bad lines %d-%d", n.StartLine, n.EndLine)
			}
		}
	})
}
