package activities

import (
	"context"
	"time"

	"go.temporal.io/sdk/activity"
)

// PollHeartbeatInterval is how often PollBatch reports it is alive; the
// workflow's heartbeat timeout for it must be a few times longer. Most polls
// end before the first beat: only long ones (B2B's sequential calls, a slow
// store) send any.
const PollHeartbeatInterval = 5 * time.Second

// keepHeartbeating records a heartbeat every interval until the returned func
// is called. With a heartbeat timeout on the activity, a worker that dies
// mid-attempt is noticed within that timeout instead of the whole
// start-to-close timeout: `make chaos` showed a SIGKILLed worker holding a
// webhook delivery back for two minutes.
func keepHeartbeating(ctx context.Context, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				activity.RecordHeartbeat(ctx)
			}
		}
	}()
	return func() { close(done) }
}
