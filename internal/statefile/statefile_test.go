package statefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
)

func TestWriteReplacesAtomicallyAndLeavesNoTemp(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := WriteJSON(path, map[string]int{"a": 1}, 0o600, false); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(path, map[string]int{"a": 2}, 0o644, true); err != nil {
		t.Fatal(err)
	}
	var got map[string]int
	if err := ReadJSON(path, &got); err != nil || got["a"] != 2 {
		t.Fatalf("read back %v, %v", got, err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v, want 0644", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("left in the directory: %v", entries)
	}
	if err := ReadJSON(filepath.Join(dir, "missing"), &got); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	if err := Write(filepath.Join(dir, "nodir", "x"), nil, 0o600); err == nil {
		t.Error("write into a missing directory succeeded")
	}
}

func TestTryLockSeesAHeldLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "lock")
	unlock, err := Lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok, err := TryLock(path); ok || err != nil {
		t.Fatalf("TryLock of a held lock: ok %v, err %v", ok, err)
	}
	unlock()
	unlock2, ok, err := TryLock(path)
	if !ok || err != nil {
		t.Fatalf("TryLock of a free lock: ok %v, err %v", ok, err)
	}
	unlock2()
}
