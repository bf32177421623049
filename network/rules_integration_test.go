//go:build integration

package network

import (
	"context"
	"testing"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"

	"github.com/stackhq/stack/internal/testutil"
)

// markForward appends a rule with a comment to the store's forward chain, which survives
// only as long as the table is not rebuilt.
func markForward(t *testing.T, m *Manager) {
	t.Helper()
	c, err := nftables.New()
	must(t, err)
	tab := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: m.tableName()}
	c.AddRule(&nftables.Rule{Table: tab, Chain: &nftables.Chain{Name: "forward", Table: tab},
		Exprs: []expr.Any{&expr.Counter{}}, UserData: comment("test-marker")})
	must(t, c.Flush())
}

// marked reports whether the marker rule of markForward is still there.
func marked(t *testing.T, m *Manager) bool {
	t.Helper()
	c, err := nftables.New()
	must(t, err)
	tab := &nftables.Table{Family: nftables.TableFamilyIPv4, Name: m.tableName()}
	rules, err := c.GetRules(tab, &nftables.Chain{Name: "forward", Table: tab})
	must(t, err)
	for _, r := range rules {
		if got, _ := userdata.GetString(r.UserData, userdata.TypeComment); got == "test-marker" {
			return true
		}
	}
	return false
}

// TestRulesRebuiltOnlyOnChange: syncing an unchanged state keeps the table; a changed
// state, or a table deleted behind the store's back, is rebuilt.
func TestRulesRebuiltOnlyOnChange(t *testing.T) {
	ctx := context.Background()
	m := newManager(t)
	_, err := m.Ensure(ctx, Config{Name: "rules"})
	must(t, err)
	markForward(t, m)
	must(t, m.syncAll())
	if !marked(t, m) {
		t.Error("an unchanged state rebuilt the table")
	}

	ns := testutil.NewNetns(t)
	e, err := m.Connect(ctx, "rules", "c1", ns, ConnectOptions{})
	must(t, err)
	if !marked(t, m) {
		t.Error("connecting a container (no ports) rebuilt the table")
	}
	_, err = m.Publish(ctx, "c1", e.IP, []Port{{ContainerPort: 80}})
	must(t, err)
	if marked(t, m) {
		t.Error("publishing a port left the old table in place")
	}

	c, err := nftables.New()
	must(t, err)
	c.DelTable(&nftables.Table{Family: nftables.TableFamilyIPv4, Name: m.tableName()})
	must(t, c.Flush())
	must(t, m.Sweep(ctx, func(id string) bool { return id == "c1" }))
	if _, err := c.ListTableOfFamily(m.tableName(), nftables.TableFamilyIPv4); err != nil {
		t.Errorf("Sweep did not rebuild a table deleted behind its back: %v", err)
	}
	must(t, m.Unpublish(ctx, "c1"))
	must(t, m.Disconnect(ctx, "rules", "c1"))
}
