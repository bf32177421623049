package spec

import (
	"fmt"
	"strings"
)

// envVar is one variable of a .env or env_file file.
type envVar struct {
	Key, Value string
	Line       int
}

// parseDotenv reads a file in compose's .env format:
//
//	# comment                  whole-line comment
//	KEY=value # comment        unquoted: trimmed, " #" starts a comment, interpolated
//	KEY="a\n$OTHER"            double-quoted: escapes (\n \t \r \\ \" \$), interpolated, may span lines
//	KEY='pa$$word'             single-quoted: literal, may span lines
//	export KEY=value           the export prefix is ignored
//	KEY                        taken from lookup, left out when unset there
//
// Variables are resolved with lookup first, then with the ones defined earlier in the file.
// Unset variables without a default become empty; their names are returned as unset.
func parseDotenv(data string, lookup lookupFunc) (vars []envVar, unset []string, err error) {
	defined := map[string]string{}
	resolve := func(name string) (string, bool) {
		if v, ok := lookup(name); ok {
			return v, true
		}
		v, ok := defined[name]
		return v, ok
	}
	lines := strings.Split(strings.ReplaceAll(data, "\r\n", "\n"), "\n")
	for i := 0; i < len(lines); i++ {
		lineNo := i + 1
		line := strings.TrimLeft(lines[i], " \t")
		if line == "" || line[0] == '#' {
			continue
		}
		line = strings.TrimPrefix(line, "export ")
		key, rest, hasValue := strings.Cut(line, "=")
		key = strings.TrimSpace(key)
		if key == "" || strings.ContainsAny(key, " \t'\"") {
			return nil, nil, fmt.Errorf("line %d: invalid variable name %q", lineNo, key)
		}
		if !hasValue {
			if v, ok := lookup(key); ok {
				vars = append(vars, envVar{key, v, lineNo})
				defined[key] = v
			}
			continue
		}
		spaced := strings.HasPrefix(rest, " ") || strings.HasPrefix(rest, "\t")
		rest = strings.TrimLeft(rest, " \t")
		if spaced && strings.HasPrefix(rest, "#") {
			rest = "" // KEY= # comment
		}
		var value string
		switch {
		case strings.HasPrefix(rest, "'") || strings.HasPrefix(rest, `"`):
			q := rest[0]
			body := rest[1:]
			end := closingQuote(body, q)
			for end < 0 && i+1 < len(lines) {
				i++
				body += "\n" + lines[i]
				end = closingQuote(body, q)
			}
			if end < 0 {
				return nil, nil, fmt.Errorf("line %d: unterminated quoted value of %s", lineNo, key)
			}
			if tail := strings.TrimSpace(body[end+1:]); tail != "" && tail[0] != '#' {
				return nil, nil, fmt.Errorf("line %d: unexpected %q after the quoted value of %s", lineNo, tail, key)
			}
			value = body[:end]
			if q == '"' {
				var u []string
				value, u, err = substitute(unescapeDouble(value), resolve)
				if err != nil {
					return nil, nil, fmt.Errorf("line %d: %w", lineNo, err)
				}
				unset = append(unset, u...)
			}
		default:
			if j := commentStart(rest); j >= 0 {
				rest = rest[:j]
			}
			var u []string
			value, u, err = substitute(strings.TrimRight(rest, " \t"), resolve)
			if err != nil {
				return nil, nil, fmt.Errorf("line %d: %w", lineNo, err)
			}
			unset = append(unset, u...)
		}
		vars = append(vars, envVar{key, value, lineNo})
		defined[key] = value
	}
	return vars, unset, nil
}

// closingQuote returns the index of the quote q that ends body; in double quotes a
// backslash escapes the next character.
func closingQuote(body string, q byte) int {
	for i := 0; i < len(body); i++ {
		if q == '"' && body[i] == '\\' {
			i++
			continue
		}
		if body[i] == q {
			return i
		}
	}
	return -1
}

// commentStart finds " #" (or a tab before #) in an unquoted value.
func commentStart(s string) int {
	for i := 1; i < len(s); i++ {
		if s[i] == '#' && (s[i-1] == ' ' || s[i-1] == '\t') {
			return i - 1
		}
	}
	return -1
}

// unescapeDouble resolves the escapes of a double-quoted value; \$ becomes $$ so that
// interpolation leaves a literal dollar.
func unescapeDouble(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		i++
		switch s[i] {
		case 'n':
			b.WriteByte('\n')
		case 't':
			b.WriteByte('\t')
		case 'r':
			b.WriteByte('\r')
		case '$':
			b.WriteString("$$")
		case '"', '\\':
			b.WriteByte(s[i])
		default:
			b.WriteByte('\\')
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
