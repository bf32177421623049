package image

import (
	"bytes"
	"context"
	"errors"
	"reflect"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// buildChain makes what a Dockerfile build leaves: a tagged base, then one image per step,
// each made from the previous; only the last is tagged (tag). It returns base, the steps.
func buildChain(t *testing.T, s *Store, tag string, steps ...string) (*Image, []*Image) {
	t.Helper()
	ctx := context.Background()
	base, err := s.Get("base:1")
	if err != nil {
		base, err = s.Import(ctx, bytes.NewReader(makeTar(t, file("base", "b"))), "base:1", nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	var out []*Image
	parent := base
	for i, step := range steps {
		opts := CreateOptions{Parent: parent, History: []v1.History{{CreatedBy: step}}, Layers: []string{writeTemp(t, makeTar(t, file(step, step)))}}
		if i == len(steps)-1 {
			opts.Tags = []string{tag}
		}
		img, err := s.Create(ctx, opts)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, img)
		parent = img
	}
	return base, out
}

func ids(imgs ...*Image) []string {
	var out []string
	for _, img := range imgs {
		out = append(out, img.ID)
	}
	return out
}

func TestCreateRecordsParent(t *testing.T) {
	s := openStore(t)
	base, steps := buildChain(t, s, "app:1", "RUN a", "RUN b")
	if base.Parent != "" || steps[0].Parent != base.ID || steps[1].Parent != steps[0].ID {
		t.Fatalf("parents: base %q, step0 %q, step1 %q", base.Parent, steps[0].Parent, steps[1].Parent)
	}
	got, err := s.Get("app:1")
	if err != nil || got.Parent != steps[0].ID {
		t.Fatalf("Get: parent %q, %v", got.Parent, err)
	}
	all, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	if got := Intermediates(all); !reflect.DeepEqual(got, map[string]bool{steps[0].ID: true}) {
		t.Errorf("Intermediates = %v, want only the untagged step %s (the tagged base is not one)", got, steps[0].ID)
	}
}

func TestHistoryNamesTheChain(t *testing.T) {
	s := openStore(t)
	base, steps := buildChain(t, s, "app:1", "RUN a", "RUN b", "RUN c")
	h, err := s.History(steps[2])
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range h {
		got = append(got, e.ID)
	}
	if want := []string{steps[2].ID, steps[1].ID, steps[0].ID, base.ID}; !reflect.DeepEqual(got, want) {
		t.Errorf("history IDs = %v, want %v", got, want)
	}
	if !reflect.DeepEqual(h[3].Tags, []string{"docker.io/library/base:1"}) || h[1].Tags != nil {
		t.Errorf("tags: %v, %v", h[3].Tags, h[1].Tags)
	}
}

func TestRemoveWithChildren(t *testing.T) {
	s := openStore(t)
	base, steps := buildChain(t, s, "app:1", "RUN a", "RUN b", "RUN c")

	// The parent of other images cannot go by ID, even forced.
	for _, force := range []bool{false, true} {
		if _, err := s.Remove(steps[1].ID, RemoveOptions{Force: force}); !errors.Is(err, ErrHasChildren) {
			t.Errorf("Remove of a parent (force %v) = %v, want ErrHasChildren", force, err)
		}
		if _, err := s.Remove("base:1", RemoveOptions{Force: force}); err != nil {
			t.Fatalf("Remove of the base's tag: %v", err)
		}
		if err := s.Tag(base.ID, "base:1"); err != nil {
			t.Fatal(err)
		}
	}
	// Named by its last tag, a parent is untagged and stays.
	if err := s.Tag(steps[0].ID, "mid:1"); err != nil {
		t.Fatal(err)
	}
	rep, err := s.Remove("mid:1", RemoveOptions{})
	if err != nil || !reflect.DeepEqual(rep.Untagged, []string{"docker.io/library/mid:1"}) || len(rep.Deleted) != 0 {
		t.Errorf("Remove mid:1 = %+v, %v", rep, err)
	}
	// Removing the result removes the untagged steps under it, child first, and stops at the
	// tagged base.
	rep, err = s.Remove("app:1", RemoveOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if want := ids(steps[2], steps[1], steps[0]); !reflect.DeepEqual(rep.Deleted[:3], want) {
		t.Errorf("Deleted = %v, want %v first", rep.Deleted, want)
	}
	if len(rep.Deleted) != 6 { // three images, three layers
		t.Errorf("Deleted = %v, want 3 images and 3 layers", rep.Deleted)
	}
	if _, err := s.Get("base:1"); err != nil {
		t.Errorf("the tagged base went: %v", err)
	}
}

func TestRemoveStopsAtImageInUseOrNoPrune(t *testing.T) {
	s := openStore(t)
	_, steps := buildChain(t, s, "app:1", "RUN a", "RUN b", "RUN c")
	used := steps[0].ID
	inUse := func(id string) bool { return id == used }
	rep, err := s.Remove("app:1", RemoveOptions{InUse: inUse})
	if err != nil || !reflect.DeepEqual(rep.Deleted[:2], ids(steps[2], steps[1])) {
		t.Fatalf("Remove = %+v, %v", rep, err)
	}
	if _, err := s.Get(steps[0].ID); err != nil {
		t.Errorf("the step a container uses went: %v", err)
	}

	_, steps = buildChain(t, s, "app:2", "RUN x", "RUN y")
	rep, err = s.Remove("app:2", RemoveOptions{NoPrune: true})
	if err != nil || rep.Deleted[0] != steps[1].ID {
		t.Fatalf("Remove --no-prune = %+v, %v", rep, err)
	}
	if _, err := s.Get(steps[0].ID); err != nil {
		t.Errorf("NoPrune removed the parent: %v", err)
	}
	// The parent is now dangling: prune takes it.
	pr, err := s.Prune(PruneOptions{InUse: inUse})
	if err != nil || pr.Deleted[0] != steps[0].ID {
		t.Errorf("Prune = %+v, %v", pr, err)
	}
}

func TestPruneKeepsParents(t *testing.T) {
	s := openStore(t)
	base, steps := buildChain(t, s, "app:1", "RUN a", "RUN b", "RUN c")
	// The build steps are parents, not dangling: nothing goes.
	if pr, err := s.Prune(PruneOptions{}); err != nil || len(pr.Deleted) != 0 {
		t.Fatalf("Prune of a build's steps = %+v, %v", pr, err)
	}
	// A rebuild with the last step changed moves the tag: the old result is dangling and
	// goes alone; its parent stays, the new result's parent too.
	ctx := context.Background()
	rebuilt, err := s.Create(ctx, CreateOptions{Parent: steps[1], History: []v1.History{{CreatedBy: "RUN c2"}},
		Layers: []string{writeTemp(t, makeTar(t, file("c2", "c2")))}, Tags: []string{"app:1"}})
	if err != nil {
		t.Fatal(err)
	}
	pr, err := s.Prune(PruneOptions{})
	if err != nil || pr.Deleted[0] != steps[2].ID {
		t.Fatalf("Prune after a rebuild = %+v, %v", pr, err)
	}
	for _, img := range []*Image{base, steps[0], steps[1], rebuilt} {
		if _, err := s.Get(img.ID); err != nil {
			t.Errorf("prune removed %s: %v", img.ID, err)
		}
	}
	// All: an image in use stays, so do its parents; the rest goes.
	buildChain(t, s, "other:1", "RUN o")
	inUse := func(id string) bool { return id == rebuilt.ID }
	pr, err = s.Prune(PruneOptions{All: true, InUse: inUse})
	if err != nil {
		t.Fatal(err)
	}
	left, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, img := range left {
		got = append(got, img.ID)
	}
	want := map[string]bool{base.ID: true, steps[0].ID: true, steps[1].ID: true, rebuilt.ID: true}
	if len(got) != len(want) {
		t.Errorf("after prune -a: %v, want the image in use and its parents %v", got, want)
	}
	for _, id := range got {
		if !want[id] {
			t.Errorf("after prune -a: %s left", id)
		}
	}
	if !reflect.DeepEqual(pr.Untagged, []string{"docker.io/library/other:1"}) {
		t.Errorf("untagged %v", pr.Untagged)
	}
}

// TestHoldBlocksCollection: while a build holds the store, garbage collection cannot take
// the gc lock (collect waits on it); after release it can.
func TestHoldBlocksCollection(t *testing.T) {
	s := openStore(t)
	release, err := s.Hold()
	if err != nil {
		t.Fatal(err)
	}
	if l, err := s.tryLock("gc"); err != nil || l != nil {
		l.unlock()
		t.Fatalf("gc lock taken while held: %v", err)
	}
	release()
	l, err := s.tryLock("gc")
	if err != nil || l == nil {
		t.Fatalf("gc lock not free after release: %v", err)
	}
	l.unlock()
}
