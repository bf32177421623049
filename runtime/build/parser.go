package build

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"
)

// Parsing follows moby/buildkit's frontend/dockerfile/parser, line for line where it
// matters: parser directives only at the very top, comments dropped even inside
// continuations, empty continuation lines skipped, the escape character ending a line joins
// it with the next (continuation lines keep their leading blanks), heredocs read after the
// logical line. The result is syntax only; variables are substituted when a stage runs,
// because their values come from ARG and ENV in effect at that step.

// Node is one instruction as written, before variable substitution.
type Node struct {
	Cmd       string    // instruction, lower case ("run", "copy")
	Flags     []string  // leading --name=value flags, as written
	Args      []string  // arguments: JSON elements, whitespace-split words, or the raw rest
	JSON      bool      // Args came from a JSON array (exec form)
	Heredocs  []Heredoc // bodies of <<EOF markers, in order (RUN, COPY, ADD)
	Original  string    // the logical line, continuations joined
	StartLine int       // 1-based first line
	EndLine   int       // last line, heredoc bodies included
	Next      *Node     // the instruction of an ONBUILD
}

// Heredoc is the body of one <<NAME marker.
type Heredoc struct {
	Name    string // the delimiter word, quotes removed
	Content string // the lines between the marker and the delimiter, each ending in "\n"
	Expand  bool   // the delimiter was unquoted: variables in Content are substituted
	Chomp   bool   // <<-NAME: leading tabs were stripped
}

// Dockerfile is a parsed Dockerfile.
type Dockerfile struct {
	Nodes  []*Node
	Escape rune   // '\\' or '`' (# escape=)
	Syntax string // # syntax= value, recorded but not acted on
}

// The parser's expressions are compiled on first use, not in every process of the binary
// (each container's monitor and init among them).
var (
	reDirective = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$`) })
	reHeredoc   = sync.OnceValue(func() *regexp.Regexp {
		return regexp.MustCompile(`^(\d*)<<(-?)\s*(['"]?)([a-zA-Z_][a-zA-Z0-9._-]*)(['"]?)$`)
	})
	reWhitespace = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`[\t\v\f\r ]+`) })
)

// parseFuncs maps each known instruction to the way its arguments are read, as buildkit's
// dispatch table does. An instruction missing here is a Dockerfile:LINE error.
var parseFuncs = map[string]func(rest string, d *Dockerfile) ([]string, bool, error){
	"add":         parseMaybeJSONToList,
	"arg":         parseNameOrNameVal,
	"cmd":         parseMaybeJSON,
	"copy":        parseMaybeJSONToList,
	"entrypoint":  parseMaybeJSON,
	"env":         parseNameVal,
	"expose":      parseWhitespaceDelimited,
	"from":        parseWhitespaceDelimited,
	"healthcheck": parseHealthcheck,
	"label":       parseNameVal,
	"maintainer":  parseString,
	"run":         parseMaybeJSON,
	"shell":       parseMaybeJSON,
	"stopsignal":  parseString,
	"user":        parseString,
	"volume":      parseMaybeJSONToList,
	"workdir":     parseString,
}

// Parse reads a Dockerfile. Errors carry the line: "line 3: unknown instruction: FORM".
func Parse(r io.Reader) (*Dockerfile, error) {
	d := &Dockerfile{Escape: '\\'}
	lines, err := readLines(r)
	if err != nil {
		return nil, fmt.Errorf("read dockerfile: %w", err)
	}
	i := d.parseDirectives(lines)
	for i < len(lines) {
		raw := strings.TrimLeftFunc(lines[i], unicode.IsSpace)
		i++
		start := i
		if isComment(raw) || raw == "" {
			continue
		}
		line, done := d.trimContinuation(raw)
		for !done && i < len(lines) {
			next := lines[i]
			i++
			trimmed := strings.TrimLeftFunc(next, unicode.IsSpace)
			if isComment(next) || trimmed == "" {
				continue
			}
			var part string
			part, done = d.trimContinuation(next)
			line += part
		}
		if strings.TrimSpace(line) == "" {
			continue
		}
		n, err := d.newNode(line, start)
		if err != nil {
			return nil, &lineErr{line: start, err: err}
		}
		n.EndLine = i
		if n.canHaveHeredoc() {
			if i, err = d.readHeredocs(n, lines, i); err != nil {
				return nil, &lineErr{line: start, err: err}
			}
			n.EndLine = i
		}
		d.Nodes = append(d.Nodes, n)
	}
	return d, nil
}

// lineErr is a parse error at a line; Build turns it into a LineError with the file name.
type lineErr struct {
	line int
	err  error
}

func (e *lineErr) Error() string { return fmt.Sprintf("line %d: %v", e.line, e.err) }
func (e *lineErr) Unwrap() error { return e.err }

func readLines(r io.Reader) ([]string, error) {
	var lines []string
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		b := sc.Bytes()
		if len(lines) == 0 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		lines = append(lines, strings.TrimRight(string(b), "\r"))
	}
	return lines, sc.Err()
}

// parseDirectives consumes the leading "# key=value" lines; the first other line ends them.
func (d *Dockerfile) parseDirectives(lines []string) int {
	seen := map[string]bool{}
	for i, l := range lines {
		m := reDirective().FindStringSubmatch(l)
		if m == nil {
			return i
		}
		k, v := strings.ToLower(m[1]), m[2]
		if seen[k] {
			return i // a repeated directive is a comment, as in buildkit
		}
		seen[k] = true
		switch k {
		case "escape":
			if v == "`" {
				d.Escape = '`'
			} else if v != "\\" {
				// buildkit rejects it; we report it at Build through a node-less error
				d.Escape = 0
			}
		case "syntax":
			d.Syntax = v
		}
	}
	return len(lines)
}

func isComment(line string) bool {
	return strings.HasPrefix(strings.TrimLeftFunc(line, unicode.IsSpace), "#")
}

// trimContinuation removes a trailing escape character (and blanks after it); done is
// false when the line continues on the next one.
func (d *Dockerfile) trimContinuation(line string) (string, bool) {
	t := strings.TrimRight(line, " \t")
	if d.Escape != 0 && strings.HasSuffix(t, string(d.Escape)) {
		return t[:len(t)-1], false
	}
	return line, true
}

// newNode splits a logical line into instruction, flags and arguments.
func (d *Dockerfile) newNode(line string, lineNo int) (*Node, error) {
	if d.Escape == 0 {
		return nil, fmt.Errorf("invalid escape directive: must be ` or \\: %w", ErrSyntax)
	}
	line = strings.TrimSpace(line)
	parts := reWhitespace().Split(line, 2)
	n := &Node{Cmd: strings.ToLower(parts[0]), Original: line, StartLine: lineNo}
	rest := ""
	if len(parts) == 2 {
		rest = parts[1]
	}
	if n.Cmd == "onbuild" {
		return d.newOnbuild(n, rest, lineNo)
	}
	fn, ok := parseFuncs[n.Cmd]
	if !ok {
		return nil, fmt.Errorf("unknown instruction: %s: %w", strings.ToUpper(parts[0]), ErrUnsupported)
	}
	flags, rest, err := d.extractFlags(rest)
	if err != nil {
		return nil, err
	}
	n.Flags = flags
	if n.Args, n.JSON, err = fn(rest, d); err != nil {
		return nil, fmt.Errorf("%s: %w", strings.ToUpper(n.Cmd), err)
	}
	return n, nil
}

func (d *Dockerfile) newOnbuild(n *Node, rest string, lineNo int) (*Node, error) {
	if strings.TrimSpace(rest) == "" {
		return nil, fmt.Errorf("ONBUILD requires an instruction: %w", ErrSyntax)
	}
	inner, err := d.newNode(rest, lineNo)
	if err != nil {
		return nil, err
	}
	switch inner.Cmd {
	case "onbuild", "from", "maintainer":
		return nil, fmt.Errorf("%s isn't allowed as an ONBUILD trigger: %w", strings.ToUpper(inner.Cmd), ErrSyntax)
	}
	n.Next = inner
	n.Args = []string{rest}
	return n, nil
}

// extractFlags takes the leading --flag or --flag=value words, quotes allowed in values.
func (d *Dockerfile) extractFlags(rest string) ([]string, string, error) {
	var flags []string
	for {
		rest = strings.TrimLeftFunc(rest, unicode.IsSpace)
		if !strings.HasPrefix(rest, "--") {
			return flags, rest, nil
		}
		words := d.splitWords(rest, 1)
		if len(words) == 0 {
			return flags, rest, nil
		}
		w := words[0]
		if w == "--" {
			return flags, strings.TrimPrefix(rest, "--"), nil
		}
		flags = append(flags, w)
		rest = rest[len(w):]
	}
}

// splitWords splits on unquoted blanks, keeping quotes and escapes in the words (the
// substitution step removes them). max > 0 stops after that many words. A word keeps the
// bytes of s as they are (invalid UTF-8 included), so it spans len(word) bytes of s.
func (d *Dockerfile) splitWords(s string, max int) []string {
	var words []string
	var cur strings.Builder
	inWord := false
	var quote rune
	escaped := false
	for i, ch := range s {
		_, size := utf8.DecodeRuneInString(s[i:])
		raw := s[i : i+size]
		if escaped {
			cur.WriteString(raw)
			escaped = false
			continue
		}
		switch {
		case quote == 0 && unicode.IsSpace(ch):
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
				if max > 0 && len(words) == max {
					return words
				}
			}
			continue
		case ch == d.Escape && quote != '\'':
			escaped = true
		case quote == 0 && (ch == '"' || ch == '\''):
			quote = ch
		case ch == quote:
			quote = 0
		}
		inWord = true
		cur.WriteString(raw)
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words
}

func parseString(rest string, _ *Dockerfile) ([]string, bool, error) {
	if rest == "" {
		return nil, false, nil
	}
	return []string{rest}, false, nil
}

func parseWhitespaceDelimited(rest string, _ *Dockerfile) ([]string, bool, error) {
	if rest == "" {
		return nil, false, nil
	}
	return reWhitespace().Split(strings.TrimSpace(rest), -1), false, nil
}

// parseJSONArray returns the strings of a JSON array, ok false when rest is not one.
func parseJSONArray(rest string) ([]string, bool) {
	rest = strings.TrimSpace(rest)
	if !strings.HasPrefix(rest, "[") || !strings.HasSuffix(rest, "]") {
		return nil, false
	}
	var args []string
	if err := json.Unmarshal([]byte(rest), &args); err != nil {
		return nil, false
	}
	return args, true
}

func parseMaybeJSON(rest string, _ *Dockerfile) ([]string, bool, error) {
	if args, ok := parseJSONArray(rest); ok {
		return args, true, nil
	}
	if rest == "" {
		return nil, false, nil
	}
	return []string{rest}, false, nil
}

func parseMaybeJSONToList(rest string, d *Dockerfile) ([]string, bool, error) {
	if args, ok := parseJSONArray(rest); ok {
		return args, true, nil
	}
	args, _, err := parseWhitespaceDelimited(rest, d)
	return args, false, err
}

// parseNameVal reads ENV and LABEL: "key=value ..." pairs, or the legacy "key value".
// Args alternate key, value.
func parseNameVal(rest string, d *Dockerfile) ([]string, bool, error) {
	words := d.splitWords(rest, 0)
	if len(words) == 0 {
		return nil, false, fmt.Errorf("requires at least one argument: %w", ErrSyntax)
	}
	if !strings.Contains(words[0], "=") {
		parts := reWhitespace().Split(strings.TrimSpace(rest), 2)
		if len(parts) < 2 || strings.TrimSpace(parts[1]) == "" {
			return nil, false, fmt.Errorf("must have two arguments: %w", ErrSyntax)
		}
		return []string{parts[0], parts[1]}, false, nil
	}
	var args []string
	for _, w := range words {
		k, v, ok := strings.Cut(w, "=")
		if !ok || k == "" {
			return nil, false, fmt.Errorf("syntax error - can't find = in %q. Must be of the form: name=value: %w", w, ErrSyntax)
		}
		args = append(args, k, v)
	}
	return args, false, nil
}

// parseNameOrNameVal reads ARG: "name" or "name=default" words, kept as written.
func parseNameOrNameVal(rest string, d *Dockerfile) ([]string, bool, error) {
	words := d.splitWords(rest, 0)
	if len(words) == 0 {
		return nil, false, fmt.Errorf("requires at least one argument: %w", ErrSyntax)
	}
	return words, false, nil
}

// parseHealthcheck reads "NONE" or "CMD <command>" (its flags are already extracted).
func parseHealthcheck(rest string, d *Dockerfile) ([]string, bool, error) {
	parts := reWhitespace().Split(strings.TrimSpace(rest), 2)
	typ := strings.ToUpper(parts[0])
	switch {
	case typ == "NONE" && len(parts) == 1:
		return []string{"NONE"}, false, nil
	case typ == "CMD" && len(parts) == 2:
		args, isJSON, err := parseMaybeJSON(parts[1], d)
		return append([]string{"CMD"}, args...), isJSON, err
	}
	return nil, false, fmt.Errorf("expected NONE or CMD <command>, got %q: %w", rest, ErrSyntax)
}

func (n *Node) canHaveHeredoc() bool {
	switch n.Cmd {
	case "run", "copy", "add":
		return !n.JSON
	}
	return false
}

// readHeredocs finds <<NAME markers in the node's words and reads their bodies from the
// lines that follow, returning the index of the first line after the last body.
func (d *Dockerfile) readHeredocs(n *Node, lines []string, i int) (int, error) {
	for _, arg := range n.Args {
		for _, w := range d.splitWords(arg, 0) {
			m := reHeredoc().FindStringSubmatch(w)
			if m == nil {
				continue
			}
			if m[3] != m[5] {
				return i, fmt.Errorf("heredoc %s: unbalanced quotes: %w", w, ErrSyntax)
			}
			h := Heredoc{Name: m[4], Chomp: m[2] == "-", Expand: m[3] == ""}
			var body strings.Builder
			found := false
			for i < len(lines) {
				l := lines[i]
				i++
				if h.Chomp {
					l = strings.TrimLeft(l, "\t")
				}
				if l == h.Name {
					found = true
					break
				}
				body.WriteString(l)
				body.WriteByte('\n')
			}
			if !found {
				return i, fmt.Errorf("heredoc %s: no terminating %q line: %w", w, h.Name, ErrSyntax)
			}
			h.Content = body.String()
			n.Heredocs = append(n.Heredocs, h)
		}
	}
	return i, nil
}
