package runtime

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	goruntime "runtime"

	"golang.org/x/sys/unix"
)

// CreateNetNS makes a new network namespace and pins it at path (a bind mount of the
// namespace file), with the loopback interface up. The namespace exists before the container's
// first process, so the network package can plug veths into it, and it outlives restarts of
// that process: the monitor joins it and clones init without CLONE_NEWNET.
//
// Order and why: the namespace is made by unshare(CLONE_NEWNET) on a goroutine locked to its
// OS thread; only that thread moves into it. The thread binds /proc/thread-self/ns/net onto
// path (the pin keeps the namespace alive with no process in it), brings lo up from inside,
// and then ends without UnlockOSThread, so Go retires the thread instead of reusing a thread
// that sits in the wrong namespace.
func CreateNetNS(path string) (retErr error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("create netns dir: %w", err)
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("create netns pin %s: %w", path, err)
	}
	f.Close()
	defer func() {
		if retErr != nil {
			os.Remove(path)
		}
	}()
	errc := make(chan error, 1)
	go func() {
		goruntime.LockOSThread() // never unlocked: the thread ends with the goroutine
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			errc <- fmt.Errorf("unshare(CLONE_NEWNET): %w", err)
			return
		}
		if err := unix.Mount("/proc/thread-self/ns/net", path, "", unix.MS_BIND, ""); err != nil {
			errc <- &MountError{Source: "/proc/thread-self/ns/net", Target: path, Flags: unix.MS_BIND, Err: err}
			return
		}
		if err := loopbackUp(); err != nil {
			unix.Unmount(path, unix.MNT_DETACH)
			errc <- err
			return
		}
		errc <- nil
	}()
	return <-errc
}

// loopbackUp sets IFF_UP on lo in the calling thread's network namespace.
func loopbackUp() error {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("bring lo up: socket: %w", err)
	}
	defer unix.Close(fd)
	ifr, err := unix.NewIfreq("lo")
	if err != nil {
		return fmt.Errorf("bring lo up: %w", err)
	}
	if err := unix.IoctlIfreq(fd, unix.SIOCGIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: SIOCGIFFLAGS: %w", err)
	}
	ifr.SetUint16(ifr.Uint16() | unix.IFF_UP)
	if err := unix.IoctlIfreq(fd, unix.SIOCSIFFLAGS, ifr); err != nil {
		return fmt.Errorf("bring lo up: SIOCSIFFLAGS: %w", err)
	}
	return nil
}

// RemoveNetNS unpins a namespace made by CreateNetNS: unmount, then remove the file. The
// namespace itself goes away when nothing else holds it. A missing pin is not an error.
func RemoveNetNS(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return &MountError{Op: "umount", Target: path, Flags: unix.MNT_DETACH, Err: err}
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("remove netns pin: %w", err)
	}
	return nil
}
