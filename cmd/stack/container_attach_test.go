package main

import (
	"bytes"
	"strings"
	"testing"
)

// --detach-keys takes Docker's notation; a bad sequence is refused before anything runs,
// naming the flag.
func TestAttachOptionsDetachKeys(t *testing.T) {
	for _, tc := range []struct {
		keys string
		want []byte
	}{
		{defaultDetachKeys, []byte{0x10, 0x11}},
		{"ctrl-x,d", []byte{0x18, 'd'}},
		{"ctrl-@,ctrl-\\,ctrl-_", []byte{0, 0x1c, 0x1f}},
		{"", nil},
	} {
		o := attachOptions{detachKeys: tc.keys}
		if err := o.check(); err != nil || !bytes.Equal(o.keys, tc.want) {
			t.Errorf("--detach-keys %q: %v %v, want %v", tc.keys, o.keys, err, tc.want)
		}
	}
	for _, bad := range []string{"ctrl-pq", "ctrl-p,,ctrl-q", "alt-x"} {
		o := attachOptions{detachKeys: bad}
		if err := o.check(); err == nil || !strings.Contains(err.Error(), "--detach-keys") {
			t.Errorf("--detach-keys %q: %v, want an error naming the flag", bad, err)
		}
	}
}
