package workflows

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/mock"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/testsuite"
	"go.temporal.io/sdk/workflow"

	"orderflow/activities"
)

// fakeRecords serves sorted record ids page by page and scripts each send's
// outcome; it records what was sent and when (in workflow time).
type fakeRecords struct {
	mu       sync.Mutex
	ids      []string
	outcome  map[string]string
	sent     []string
	sentAt   []time.Time
	opened   int
	closed   map[string]int
	pageAsks []string
}

func newFakeRecords(n int) *fakeRecords {
	f := &fakeRecords{outcome: map[string]string{}}
	for i := range n {
		f.ids = append(f.ids, fmt.Sprintf("rec-%04d", i))
	}
	sort.Strings(f.ids)
	return f
}

func (f *fakeRecords) register(env *testsuite.TestWorkflowEnvironment) {
	env.RegisterActivity(&activities.Redrive{})
	env.OnActivity(rd.OpenRedriveAudit, mock.Anything, mock.Anything).Return(func(context.Context, activities.OpenRedriveAuditInput) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.opened++
		return nil
	})
	env.OnActivity(rd.ListRedrivePage, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RedrivePageInput) ([]string, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.pageAsks = append(f.pageAsks, in.After)
		i := sort.SearchStrings(f.ids, in.After)
		if i < len(f.ids) && f.ids[i] == in.After {
			i++
		}
		return append([]string(nil), f.ids[i:min(len(f.ids), i+in.Limit)]...), nil
	})
	env.OnActivity(rd.RedriveDelivery, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.RedriveDeliveryInput) (activities.RedriveDeliveryResult, error) {
		f.mu.Lock()
		defer f.mu.Unlock()
		out := f.outcome[in.RecordID]
		if out == "" {
			out = activities.RedriveDelivered
		}
		if out != activities.RedriveRefused {
			f.sent = append(f.sent, in.RecordID)
			f.sentAt = append(f.sentAt, env.Now())
		}
		return activities.RedriveDeliveryResult{Outcome: out}, nil
	})
	env.OnActivity(rd.CloseRedriveAudit, mock.Anything, mock.Anything).Return(func(_ context.Context, in activities.CloseRedriveAuditInput) error {
		f.mu.Lock()
		defer f.mu.Unlock()
		f.closed = in.Totals
		return nil
	})
}

func redriveInput() RedriveInput {
	return RedriveInput{RedriveID: RedriveWorkflowID("t1"), ActorKind: "api_key", ActorID: "key_x", Reason: "URL fixed",
		Filter: activities.RedriveFilter{Kind: "crm_webhook", DestinationID: "wh1"}, RatePerSecond: 2}
}

func TestRedriveSendsEveryRecordOnceAtTheRateAndAuditsTotals(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f := newFakeRecords(5)
	f.outcome["rec-0001"] = activities.RedriveRefused
	f.outcome["rec-0003"] = activities.RedriveRejected
	f.register(env)

	env.ExecuteWorkflow(Redrive, redriveInput())
	if err := env.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	var st RedriveState
	if err := env.GetWorkflowResult(&st); err != nil {
		t.Fatal(err)
	}
	if !st.Done || st.Cursor != "rec-0004" || st.Sent() != 4 || st.Totals[activities.RedriveRefused] != 1 {
		t.Errorf("state %+v", st)
	}
	if f.opened != 1 || f.closed[activities.RedriveDelivered] != 3 || f.closed[activities.RedriveRejected] != 1 {
		t.Errorf("audit opened %d, closed with %v", f.opened, f.closed)
	}
	if len(f.sent) != 4 {
		t.Fatalf("sent %v", f.sent)
	}
	// 2 a second: consecutive sends at least half a second apart.
	for i := 1; i < len(f.sentAt); i++ {
		if gap := f.sentAt[i].Sub(f.sentAt[i-1]); gap < 500*time.Millisecond {
			t.Errorf("send %d came %v after the previous one, want ≥ 500ms", i, gap)
		}
	}
}

func TestRedriveContinuesAsNewWithItsCursor(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestWorkflowEnvironment()
	f := newFakeRecords(redrivePerRun + 150)
	f.register(env)
	in := redriveInput()
	in.RatePerSecond = 100
	env.ExecuteWorkflow(Redrive, in)

	var can *workflow.ContinueAsNewError
	if err := env.GetWorkflowError(); !errors.As(err, &can) {
		t.Fatalf("error %v, want continue-as-new", err)
	}
	var next RedriveInput
	if err := converter.GetDefaultDataConverter().FromPayloads(can.Input, &next); err != nil {
		t.Fatal(err)
	}
	handled := redrivePerRun + (RedriveBatchSize-redrivePerRun%RedriveBatchSize)%RedriveBatchSize
	if !next.Opened || next.Cursor != f.ids[handled-1] || next.Totals[activities.RedriveDelivered] != handled {
		t.Errorf("next run %+v, want the cursor at %s after %d deliveries", next, f.ids[handled-1], handled)
	}
	if f.closed != nil {
		t.Error("the audit was closed before the last record")
	}

	// The next run resumes after the cursor and opens no second audit.
	env2 := s.NewTestWorkflowEnvironment()
	f.register(env2)
	env2.ExecuteWorkflow(Redrive, next)
	if err := env2.GetWorkflowError(); err != nil {
		t.Fatal(err)
	}
	if f.opened != 1 || len(f.sent) != len(f.ids) || f.closed[activities.RedriveDelivered] != len(f.ids) {
		t.Errorf("opened %d, sent %d of %d, closed %v", f.opened, len(f.sent), len(f.ids), f.closed)
	}
	seen := map[string]bool{}
	for _, id := range f.sent {
		if seen[id] {
			t.Errorf("%s sent twice", id)
		}
		seen[id] = true
	}
}

func TestRedriveRefusesInputWithoutReasonOrRate(t *testing.T) {
	for name, mutate := range map[string]func(*RedriveInput){
		"no reason": func(in *RedriveInput) { in.Reason = "" },
		"zero rate": func(in *RedriveInput) { in.RatePerSecond = 0 },
		"no id":     func(in *RedriveInput) { in.RedriveID = "" },
	} {
		t.Run(name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			env := s.NewTestWorkflowEnvironment()
			env.RegisterActivity(&activities.Redrive{})
			in := redriveInput()
			mutate(&in)
			env.ExecuteWorkflow(Redrive, in)
			if env.GetWorkflowError() == nil {
				t.Error("accepted")
			}
		})
	}
}
