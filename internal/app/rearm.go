package app

import (
	"context"
	"fmt"

	"github.com/aftershock/aftershock/deploy"
	"github.com/aftershock/aftershock/deploy/dispatch"
)

// rearm is resume-store's re-arm: after a person resumed a paused store
// rollout, the next halt of the release's current ring is sent again.
func (a *App) rearm(ctx context.Context, r deploy.Release, by string) (string, error) {
	if r.Ring == "" || a.halts == nil {
		return "", nil
	}
	gen, err := dispatch.Rearm(ctx, a.halts, r.ID, r.Ring, by, a.opt.Clock())
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("ring %s: its next halt is sent again (resume %d)", r.Ring, gen), nil
}
