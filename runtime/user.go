package runtime

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"
	"strings"

	securejoin "github.com/cyphar/filepath-securejoin"
)

// execUser is who the container's process runs as.
type execUser struct {
	UID, GID int
	Groups   []int  // supplementary groups
	Home     string // for $HOME when the environment has none
}

// resolveUser resolves docker's user forms against the image's /etc/passwd and /etc/group
// (resolved inside root, "/" for the caller's own view): "" (root), uid, name, uid:gid, name:group, uid:group. A numeric
// uid needs no passwd entry; a name that is not there is ErrUnknownUser. Supplementary
// groups are the groups that list the user by name, as with initgroups(3).
func resolveUser(root, spec string) (execUser, error) {
	u := execUser{Home: "/"}
	userPart, groupPart, hasGroup := strings.Cut(spec, ":")
	if userPart == "" {
		userPart = "0"
	}
	passwd, err := readColonFile(root, "/etc/passwd")
	if err != nil {
		return u, err
	}
	name := ""
	uid, numeric := atoiNonNeg(userPart)
	found := false
	for _, f := range passwd {
		if len(f) < 7 {
			continue
		}
		if (numeric && f[2] == userPart) || (!numeric && f[0] == userPart) {
			u.UID, _ = strconv.Atoi(f[2])
			u.GID, _ = strconv.Atoi(f[3])
			u.Home, name, found = f[5], f[0], true
			break
		}
	}
	switch {
	case !found && !numeric:
		return u, fmt.Errorf("%w %q: no matching entries in passwd file", ErrUnknownUser, userPart)
	case !found:
		u.UID, u.GID = uid, uid
		if hasGroup {
			u.GID = 0
		}
	}
	groups, err := readColonFile(root, "/etc/group")
	if err != nil {
		return u, err
	}
	if hasGroup {
		gid, gnum := atoiNonNeg(groupPart)
		gfound := gnum
		if gnum {
			u.GID = gid
		} else {
			for _, f := range groups {
				if len(f) >= 3 && f[0] == groupPart {
					u.GID, _ = strconv.Atoi(f[2])
					gfound = true
					break
				}
			}
		}
		if !gfound {
			return u, fmt.Errorf("%w: group %q: no matching entries in group file", ErrUnknownUser, groupPart)
		}
	}
	u.Groups = []int{u.GID}
	if name != "" && !hasGroup {
		for _, f := range groups {
			if len(f) < 4 {
				continue
			}
			for _, member := range strings.Split(f[3], ",") {
				if member == name {
					if g, err := strconv.Atoi(f[2]); err == nil && g != u.GID {
						u.Groups = append(u.Groups, g)
					}
				}
			}
		}
	}
	return u, nil
}

func atoiNonNeg(s string) (int, bool) {
	n, err := strconv.Atoi(s)
	return n, err == nil && n >= 0
}

// readColonFile reads a passwd/group style file at path inside root (symlinks resolved
// inside it); a missing file is empty (numeric users still work in images without
// /etc/passwd).
func readColonFile(root, path string) ([][]string, error) {
	p, err := securejoin.SecureJoin(root, path)
	if err != nil {
		return nil, fmt.Errorf("resolve %s: %w", path, err)
	}
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	var out [][]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		out = append(out, strings.Split(line, ":"))
	}
	return out, sc.Err()
}
