package build

import (
	"fmt"
	"path"
	"strings"
	"unicode"
)

// Variable substitution as moby/buildkit's shell lexer does it, for the instructions that
// allow it (FROM, ARG, ENV, LABEL, EXPOSE, COPY, ADD, WORKDIR, USER, VOLUME, STOPSIGNAL):
//
//	$VAR ${VAR}            value, empty when unset
//	${VAR:-word} ${VAR-word}   word when VAR is unset or empty (":") / unset
//	${VAR:+word} ${VAR+word}   word when VAR is set and non-empty / set, else empty
//	${VAR:?msg}  ${VAR?msg}    error when VAR is unset or empty / unset
//	${VAR#pat} ${VAR##pat} ${VAR%pat} ${VAR%%pat}  shortest/longest prefix/suffix removed
//	${VAR/pat/repl} ${VAR//pat/repl}               first/every match replaced
//
// 'single quotes' are literal; "double quotes" substitute and keep blanks; the escape
// character makes the next character literal. RUN, CMD and ENTRYPOINT are not substituted:
// their shell does it, with the build's ARG and ENV in its environment.

// lookupFunc returns a variable's value and whether it is set.
type lookupFunc func(name string) (string, bool)

type lexer struct {
	src    []rune
	pos    int
	escape rune
	lookup lookupFunc
	words  []string
	cur    strings.Builder
	inWord bool
}

// expandWord substitutes variables in s and removes quotes, keeping blanks (ProcessWord).
func expandWord(s string, escape rune, lookup lookupFunc) (string, error) {
	l := &lexer{src: []rune(s), escape: escape, lookup: lookup}
	out, err := l.until(0, false)
	return out, err
}

// expandWords substitutes variables and splits on unquoted blanks, those of unquoted
// variable values included (ProcessWords).
func expandWords(s string, escape rune, lookup lookupFunc) ([]string, error) {
	l := &lexer{src: []rune(s), escape: escape, lookup: lookup}
	if _, err := l.until(0, true); err != nil {
		return nil, err
	}
	l.blank()
	return l.words, nil
}

func (l *lexer) peek() rune {
	if l.pos >= len(l.src) {
		return 0
	}
	return l.src[l.pos]
}

func (l *lexer) next() rune {
	ch := l.peek()
	if l.pos < len(l.src) {
		l.pos++
	}
	return ch
}

func (l *lexer) eof() bool { return l.pos >= len(l.src) }

// blank ends the current word when splitting.
func (l *lexer) blank() {
	if l.inWord {
		l.words = append(l.words, l.cur.String())
		l.cur.Reset()
		l.inWord = false
	}
}

// add appends text to the result; split makes its blanks word separators.
func (l *lexer) add(out *strings.Builder, s string, split bool) {
	out.WriteString(s)
	for _, ch := range s {
		if split && unicode.IsSpace(ch) {
			l.blank()
			continue
		}
		l.cur.WriteRune(ch)
		l.inWord = true
	}
}

// until processes input up to the stop rune (0: end of input) and returns the result.
// split says whether the output feeds word splitting (top level of expandWords).
func (l *lexer) until(stop rune, split bool) (string, error) {
	var out strings.Builder
	for !l.eof() {
		ch := l.peek()
		if stop != 0 && ch == stop {
			l.next()
			return out.String(), nil
		}
		switch {
		case ch == '\'':
			l.next()
			s, err := l.singleQuoted()
			if err != nil {
				return "", err
			}
			l.inWord = true
			l.add(&out, s, false)
		case ch == '"':
			l.next()
			s, err := l.doubleQuoted()
			if err != nil {
				return "", err
			}
			l.inWord = true
			l.add(&out, s, false)
		case ch == '$':
			l.next()
			s, err := l.dollar()
			if err != nil {
				return "", err
			}
			l.add(&out, s, split)
		case ch == l.escape:
			l.next()
			if l.eof() {
				return out.String(), nil
			}
			l.add(&out, string(l.next()), false)
		default:
			l.next()
			l.add(&out, string(ch), split)
		}
	}
	if stop != 0 {
		return "", fmt.Errorf("unexpected end of input, missing %q: %w", stop, ErrSyntax)
	}
	return out.String(), nil
}

func (l *lexer) singleQuoted() (string, error) {
	var out strings.Builder
	for !l.eof() {
		ch := l.next()
		if ch == '\'' {
			return out.String(), nil
		}
		out.WriteRune(ch)
	}
	return "", fmt.Errorf("unexpected end of input, missing ': %w", ErrSyntax)
}

func (l *lexer) doubleQuoted() (string, error) {
	var out strings.Builder
	for !l.eof() {
		ch := l.next()
		switch {
		case ch == '"':
			return out.String(), nil
		case ch == '$':
			s, err := l.dollar()
			if err != nil {
				return "", err
			}
			out.WriteString(s)
		case ch == l.escape:
			switch n := l.peek(); n {
			case '"', '$', l.escape:
				out.WriteRune(l.next())
			default:
				out.WriteRune(ch)
			}
		default:
			out.WriteRune(ch)
		}
	}
	return "", fmt.Errorf("unexpected end of input, missing \": %w", ErrSyntax)
}

func isNameChar(ch rune, first bool) bool {
	return ch == '_' || unicode.IsLetter(ch) || (!first && unicode.IsDigit(ch))
}

func (l *lexer) name() string {
	var b strings.Builder
	if unicode.IsDigit(l.peek()) { // positional parameters: $1 is one digit, as in sh
		b.WriteRune(l.next())
		return b.String()
	}
	for !l.eof() && isNameChar(l.peek(), b.Len() == 0) {
		b.WriteRune(l.next())
	}
	return b.String()
}

// dollar handles what follows a '$'.
func (l *lexer) dollar() (string, error) {
	if l.peek() != '{' {
		name := l.name()
		if name == "" {
			return "$", nil
		}
		v, _ := l.lookup(name)
		return v, nil
	}
	l.next()
	name := l.name()
	if name == "" {
		return "", fmt.Errorf("bad substitution: missing variable name in ${: %w", ErrSyntax)
	}
	value, set := l.lookup(name)
	ch := l.next()
	switch ch {
	case '}':
		return value, nil
	case ':', '-', '+', '?':
		colon := ch == ':'
		if colon {
			ch = l.next()
		}
		word, err := l.sub()
		if err != nil {
			return "", err
		}
		unset := !set || (colon && value == "")
		switch ch {
		case '-':
			if unset {
				return word, nil
			}
			return value, nil
		case '+':
			if unset {
				return "", nil
			}
			return word, nil
		case '?':
			if unset {
				if word == "" {
					word = "is not allowed to be unset"
				}
				return "", fmt.Errorf("%s: %s: %w", name, word, ErrBadVariable)
			}
			return value, nil
		}
		return "", fmt.Errorf("unsupported modifier (%c) in substitution of %s: %w", ch, name, ErrSyntax)
	case '#', '%':
		longest := l.peek() == ch
		if longest {
			l.next()
		}
		pat, err := l.sub()
		if err != nil {
			return "", err
		}
		return trimPattern(value, pat, ch == '#', longest), nil
	case '/':
		all := l.peek() == '/'
		if all {
			l.next()
		}
		pat, err := l.until('/', false)
		if err != nil {
			return "", err
		}
		repl, err := l.sub()
		if err != nil {
			return "", err
		}
		return replacePattern(value, pat, repl, all), nil
	}
	return "", fmt.Errorf("unsupported modifier (%c) in substitution of %s: %w", ch, name, ErrSyntax)
}

// sub reads a substitution's word up to the closing brace, itself substituted.
func (l *lexer) sub() (string, error) {
	saved, savedIn := l.cur.String(), l.inWord
	s, err := l.until('}', false)
	l.cur.Reset()
	l.cur.WriteString(saved)
	l.inWord = savedIn
	return s, err
}

// trimPattern removes the shortest or longest prefix or suffix of v matching the glob pat.
func trimPattern(v, pat string, prefix, longest bool) string {
	n := len(v)
	for i := 0; i <= n; i++ {
		k := i
		if longest {
			k = n - i
		}
		if prefix {
			if ok, _ := path.Match(pat, v[:k]); ok {
				return v[k:]
			}
		} else if ok, _ := path.Match(pat, v[n-k:]); ok {
			return v[:n-k]
		}
	}
	return v
}

// replacePattern replaces the first (or every) longest match of the glob pat in v.
func replacePattern(v, pat, repl string, all bool) string {
	var out strings.Builder
	i := 0
	replaced := false
	for i < len(v) {
		if replaced && !all {
			break
		}
		matched := -1
		for j := len(v); j > i; j-- {
			if ok, _ := path.Match(pat, v[i:j]); ok {
				matched = j
				break
			}
		}
		if matched < 0 {
			out.WriteByte(v[i])
			i++
			continue
		}
		out.WriteString(repl)
		i = matched
		replaced = true
	}
	out.WriteString(v[i:])
	return out.String()
}
