package main

import "testing"

func TestSplitImageRef(t *testing.T) {
	for _, tt := range []struct{ ref, repo, tag string }{
		{"busybox", "busybox", "latest"},
		{"busybox:1.36", "busybox", "1.36"},
		{"localhost:5000/app", "localhost:5000/app", "latest"},
		{"localhost:5000/app:v2", "localhost:5000/app", "v2"},
		{"docker.io/library/nginx@sha256:abc", "docker.io/library/nginx", "<none>"},
	} {
		if repo, tag := splitImageRef(tt.ref); repo != tt.repo || tag != tt.tag {
			t.Errorf("splitImageRef(%q) = %q, %q; want %q, %q", tt.ref, repo, tag, tt.repo, tt.tag)
		}
	}
}
