package spec

import (
	"os"
	"reflect"
	"slices"
	"testing"
)

func TestParseVolumeSpec(t *testing.T) {
	p := paths{workDir: "/proj", home: "/home/u"}
	tests := []struct {
		in      string
		want    Mount
		ignored []string
		err     string
	}{
		{in: "/data", want: Mount{Type: MountVolume, Target: "/data"}},
		{in: "db:/var/lib/db", want: Mount{Type: MountVolume, Source: "db", Target: "/var/lib/db"}},
		{in: "db:/var/lib/db:ro", want: Mount{Type: MountVolume, Source: "db", Target: "/var/lib/db", ReadOnly: true}},
		{in: "./www:/www:ro", want: Mount{Type: MountBind, Source: "/proj/www", Target: "/www", ReadOnly: true, CreateHostPath: true}},
		{in: "../up:/x", want: Mount{Type: MountBind, Source: "/up", Target: "/x", CreateHostPath: true}},
		{in: "/abs//dir/:/x:rw", want: Mount{Type: MountBind, Source: "/abs/dir", Target: "/x", CreateHostPath: true}},
		{in: "~/conf:/x", want: Mount{Type: MountBind, Source: "/home/u/conf", Target: "/x", CreateHostPath: true}},
		{in: ".:/src:cached", want: Mount{Type: MountBind, Source: "/proj", Target: "/src", CreateHostPath: true}},
		{in: "./a:/a:ro,z", want: Mount{Type: MountBind, Source: "/proj/a", Target: "/a", ReadOnly: true, CreateHostPath: true}, ignored: []string{"z"}},
		{in: "v:/a:nocopy", want: Mount{Type: MountVolume, Source: "v", Target: "/a"}, ignored: []string{"nocopy"}},
		{in: "a:b:c:d", err: `invalid volume "a:b:c:d": want [SOURCE:]TARGET[:MODE]`},
		{in: ":/x", err: `invalid volume ":/x": empty source`},
		{in: "v:/x:bad", err: `invalid volume "v:/x:bad": unknown option "bad" (ro, rw)`},
	}
	for _, tt := range tests {
		got, ignored, err := parseVolumeSpec(tt.in, p)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("parseVolumeSpec(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) || !slices.Equal(ignored, tt.ignored) {
			t.Errorf("parseVolumeSpec(%q) = %+v, %q, %v; want %+v, %q", tt.in, got, ignored, err, tt.want, tt.ignored)
		}
	}
}

func TestParseTmpfsSpec(t *testing.T) {
	tests := []struct {
		in      string
		want    Mount
		ignored []string
		err     string
	}{
		{in: "/run", want: Mount{Type: MountTmpfs, Target: "/run"}},
		{in: "/run:size=64m,mode=1777", want: Mount{Type: MountTmpfs, Target: "/run", TmpfsSize: 64 << 20, TmpfsMode: 0o777 | os.ModeSticky}},
		{in: "/ro:ro,size=1024", want: Mount{Type: MountTmpfs, Target: "/ro", ReadOnly: true, TmpfsSize: 1024}},
		{in: "/x:rw,noexec,nosuid", want: Mount{Type: MountTmpfs, Target: "/x"}, ignored: []string{"noexec", "nosuid"}},
		{in: "/x:size=lots", err: `invalid tmpfs "/x:size=lots": invalid size "lots": want a number of bytes with an optional unit (b, k, m, g, t), e.g. 512m`},
		{in: "/x:weird", err: `invalid tmpfs "/x:weird": unknown option "weird" (size, mode, ro)`},
	}
	for _, tt := range tests {
		got, ignored, err := parseTmpfsSpec(tt.in)
		if tt.err != "" {
			if err == nil || err.Error() != tt.err {
				t.Errorf("parseTmpfsSpec(%q) error = %v, want %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, tt.want) || !slices.Equal(ignored, tt.ignored) {
			t.Errorf("parseTmpfsSpec(%q) = %+v, %q, %v; want %+v, %q", tt.in, got, ignored, err, tt.want, tt.ignored)
		}
	}
}
