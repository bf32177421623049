package image

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

func layerCount(t *testing.T, s *Store) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(s.Root(), "layers"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestTagRemovePrune(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	base, err := s.Import(ctx, bytes.NewReader(makeTar(t, file("base", "b"))), "base:1", nil)
	if err != nil {
		t.Fatal(err)
	}
	layer := writeTemp(t, makeTar(t, file("top", "t")))
	child, err := s.Create(ctx, CreateOptions{Parent: base, Layers: []string{layer}, Tags: []string{"child:1"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Tag("child:1", "localhost:5000/child:2"); err != nil {
		t.Fatal(err)
	}
	got, _ := s.Get(child.ID)
	if want := []string{"docker.io/library/child:1", "localhost:5000/child:2"}; !reflect.DeepEqual(got.RepoTags, want) {
		t.Errorf("RepoTags = %v, want %v", got.RepoTags, want)
	}
	if err := s.Tag("child:1", "x@sha256:"+sixtyFourA()); !errors.Is(err, ErrInvalidReference) {
		t.Errorf("Tag to a digest = %v", err)
	}

	// By ID with two tags: refused without force.
	if _, err := s.Remove(child.ID, RemoveOptions{}); !errors.Is(err, ErrMultipleReferences) {
		t.Errorf("Remove by ID = %v, want ErrMultipleReferences", err)
	}
	// One of two tags: untag only.
	rep, err := s.Remove("child:1", RemoveOptions{})
	if err != nil || !reflect.DeepEqual(rep.Untagged, []string{"docker.io/library/child:1"}) || len(rep.Deleted) != 0 {
		t.Errorf("Remove child:1 = %+v, %v", rep, err)
	}
	// In use: refused; forced, untagged but kept.
	inUse := func(id string) bool { return id == child.ID }
	if _, err := s.Remove("localhost:5000/child:2", RemoveOptions{InUse: inUse}); !errors.Is(err, ErrInUse) {
		t.Errorf("Remove in use = %v, want ErrInUse", err)
	}
	rep, err = s.Remove("localhost:5000/child:2", RemoveOptions{InUse: inUse, Force: true})
	if err != nil || len(rep.Untagged) != 1 || len(rep.Deleted) != 0 {
		t.Errorf("forced Remove in use = %+v, %v", rep, err)
	}
	if _, err := s.Get(child.ID); err != nil {
		t.Errorf("image used by a container was deleted: %v", err)
	}
	// Prune keeps the dangling image while it is used, then removes it and its top layer.
	if pr, err := s.Prune(PruneOptions{InUse: inUse}); err != nil || len(pr.Deleted) != 0 {
		t.Errorf("Prune with the image in use = %+v, %v", pr, err)
	}
	if n := layerCount(t, s); n != 2 {
		t.Fatalf("%d layers, want 2", n)
	}
	pr, err := s.Prune(PruneOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(pr.Deleted) != 2 || pr.Deleted[0] != child.ID || pr.Reclaimed <= 0 {
		t.Errorf("Prune = %+v", pr)
	}
	if n := layerCount(t, s); n != 1 {
		t.Errorf("%d layers after prune, want 1 (the base's)", n)
	}
	if _, err := s.Get("base:1"); err != nil {
		t.Errorf("base removed by prune: %v", err)
	}
	// Last tag: the image, its layer and its blobs go.
	rep, err = s.Remove("base:1", RemoveOptions{})
	if err != nil || len(rep.Deleted) != 2 {
		t.Errorf("Remove base = %+v, %v", rep, err)
	}
	if n := layerCount(t, s); n != 0 {
		t.Errorf("%d layers left", n)
	}
	if blobs, _ := os.ReadDir(filepath.Join(s.Root(), "blobs/sha256")); len(blobs) != 0 {
		t.Errorf("%d blobs left", len(blobs))
	}
	if _, err := s.Remove("base:1", RemoveOptions{}); !errors.Is(err, ErrNotFound) {
		t.Errorf("second Remove = %v", err)
	}
}

func TestPruneAll(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	if _, err := s.Import(ctx, bytes.NewReader(makeTar(t, file("a", "a"))), "a", nil); err != nil {
		t.Fatal(err)
	}
	if pr, err := s.Prune(PruneOptions{}); err != nil || len(pr.Deleted) != 0 {
		t.Errorf("Prune removed a tagged image: %+v %v", pr, err)
	}
	if pr, err := s.Prune(PruneOptions{All: true}); err != nil || len(pr.Deleted) != 2 {
		t.Errorf("Prune all = %+v %v", pr, err)
	}
}

func TestHistory(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	base, err := s.Import(ctx, bytes.NewReader(makeTar(t, file("a", "12345"))), "h", nil)
	if err != nil {
		t.Fatal(err)
	}
	img, err := s.Create(ctx, CreateOptions{
		Parent: base,
		Layers: []string{writeTemp(t, makeTar(t, file("b", "123")))},
		Config: v1.Config{Cmd: []string{"x"}},
		History: []v1.History{
			{CreatedBy: "ENV X=1", EmptyLayer: true},
			{CreatedBy: "RUN make"},
			{CreatedBy: "CMD x", EmptyLayer: true},
		},
		Tags: []string{"h:2"},
	})
	if err != nil {
		t.Fatal(err)
	}
	h, err := s.History(img)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	var sizes []int64
	for _, e := range h {
		got = append(got, e.CreatedBy)
		sizes = append(sizes, e.Size)
	}
	if want := []string{"CMD x", "RUN make", "ENV X=1", "stack image import"}; !reflect.DeepEqual(got, want) {
		t.Errorf("history = %v, want %v", got, want)
	}
	if want := []int64{0, 3, 0, 5}; !reflect.DeepEqual(sizes, want) {
		t.Errorf("sizes = %v, want %v", sizes, want)
	}
	if h[0].ID != img.ID || h[1].ID != "<missing>" || h[3].ID != base.ID || !h[0].EmptyLayer {
		t.Errorf("IDs: %q %q %q", h[0].ID, h[1].ID, h[3].ID)
	}
}
