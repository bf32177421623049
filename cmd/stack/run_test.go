package main

import (
	"regexp"
	"testing"
)

func TestOneOffName(t *testing.T) {
	got := oneOffName("demo", "web", [6]byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab})
	if got != "demo-web-run-0123456789ab" {
		t.Fatalf("oneOffName = %q", got)
	}
	if !regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]+$`).MatchString(got) {
		t.Fatalf("%q is not a valid container name", got)
	}
}
