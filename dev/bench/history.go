package bench

import (
	"context"
	"fmt"
	"time"

	"go.temporal.io/api/enums/v1"
	historypb "go.temporal.io/api/history/v1"
	workflowpb "go.temporal.io/api/workflow/v1"
	"go.temporal.io/api/workflowservice/v1"
	"go.temporal.io/sdk/client"
)

// HistoryCost is what a set of workflows cost Temporal.
type HistoryCost struct {
	Workflows int
	Events    int64
	// Actions approximates Temporal Cloud's billable actions from the
	// histories: workflow starts (children included, counted once), activity
	// attempts, timers, signals, search-attribute upserts and markers.
	Actions      int64
	ByType       map[string]int // workflows per type
	EventsByType map[string]int64
	// QueueWaitByType sums, per workflow type, the time its workflow and
	// activity tasks waited between scheduled and started: time spent in
	// task queues rather than running.
	QueueWaitByType map[string]time.Duration
	// RunTimeByType sums, per workflow type, start → close of its workflows.
	RunTimeByType map[string]time.Duration
}

// historyCost reads the history of every workflow that ran on queue.
func historyCost(ctx context.Context, tc client.Client, queue string) (HistoryCost, error) {
	cost := HistoryCost{ByType: map[string]int{}, EventsByType: map[string]int64{},
		QueueWaitByType: map[string]time.Duration{}, RunTimeByType: map[string]time.Duration{}}
	err := forEachWorkflow(ctx, tc, queue, func(ex *workflowpb.WorkflowExecutionInfo) error {
		events, actions, wait, err := historyOf(ctx, tc, ex.Execution.WorkflowId, ex.Execution.RunId)
		if err != nil {
			return err
		}
		cost.QueueWaitByType[ex.Type.Name] += wait
		if ex.CloseTime != nil && ex.StartTime != nil {
			cost.RunTimeByType[ex.Type.Name] += ex.CloseTime.AsTime().Sub(ex.StartTime.AsTime())
		}
		cost.Workflows++
		cost.Events += events
		cost.Actions += actions
		cost.ByType[ex.Type.Name]++
		cost.EventsByType[ex.Type.Name] += events
		return nil
	})
	return cost, err
}

// forEachWorkflow calls fn with every workflow run that ran on queue, page by page.
func forEachWorkflow(ctx context.Context, tc client.Client, queue string, fn func(*workflowpb.WorkflowExecutionInfo) error) error {
	req := &workflowservice.ListWorkflowExecutionsRequest{Query: fmt.Sprintf("TaskQueue = %q", queue), PageSize: 1000}
	for {
		page, err := tc.ListWorkflow(ctx, req)
		if err != nil {
			return err
		}
		for _, ex := range page.Executions {
			if err := fn(ex); err != nil {
				return err
			}
		}
		if len(page.NextPageToken) == 0 {
			return nil
		}
		req.NextPageToken = page.NextPageToken
	}
}

func historyOf(ctx context.Context, tc client.Client, id, run string) (events, actions int64, queueWait time.Duration, err error) {
	scheduled := map[int64]time.Time{}
	it := tc.GetWorkflowHistory(ctx, id, run, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
	for it.HasNext() {
		ev, err := it.Next()
		if err != nil {
			return 0, 0, 0, err
		}
		events++
		actions += actionsOf(ev)
		switch ev.EventType {
		case enums.EVENT_TYPE_WORKFLOW_TASK_SCHEDULED, enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
			scheduled[ev.EventId] = ev.EventTime.AsTime()
		case enums.EVENT_TYPE_WORKFLOW_TASK_STARTED:
			queueWait += ev.EventTime.AsTime().Sub(scheduled[ev.GetWorkflowTaskStartedEventAttributes().GetScheduledEventId()])
		case enums.EVENT_TYPE_ACTIVITY_TASK_STARTED:
			// Retries are not in the history: this is the last attempt's wait only.
			queueWait += ev.EventTime.AsTime().Sub(scheduled[ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId()])
		}
	}
	return events, actions, queueWait, nil
}

// actionsOf counts the billable actions one history event stands for.
func actionsOf(ev *historypb.HistoryEvent) int64 {
	switch ev.EventType {
	case enums.EVENT_TYPE_WORKFLOW_EXECUTION_STARTED,
		enums.EVENT_TYPE_TIMER_STARTED,
		enums.EVENT_TYPE_WORKFLOW_EXECUTION_SIGNALED,
		enums.EVENT_TYPE_UPSERT_WORKFLOW_SEARCH_ATTRIBUTES,
		enums.EVENT_TYPE_MARKER_RECORDED:
		return 1
	case enums.EVENT_TYPE_ACTIVITY_TASK_STARTED:
		// Only the last attempt's started event is in the history; it carries the attempt number.
		return int64(max(ev.GetActivityTaskStartedEventAttributes().GetAttempt(), 1))
	}
	return 0
}

// countWorkflows counts the workflows on queue matching an extra visibility clause.
func countWorkflows(ctx context.Context, tc client.Client, queue, clause string) (int64, error) {
	q := fmt.Sprintf("TaskQueue = %q", queue)
	if clause != "" {
		q += " AND " + clause
	}
	resp, err := tc.CountWorkflow(ctx, &workflowservice.CountWorkflowExecutionsRequest{Query: q})
	if err != nil {
		return 0, err
	}
	return resp.Count, nil
}

// ActivityTimes sums, over every completed attempt of one activity type in
// the workflows that ran on a queue, the wait in its task queue (scheduled →
// started) and its run (started → completed).
type ActivityTimes struct {
	Count     int
	QueueWait time.Duration
	Run       time.Duration
}

// MeanWait is the mean scheduled → started of the activity.
func (a ActivityTimes) MeanWait() time.Duration { return a.QueueWait / time.Duration(max(a.Count, 1)) }

// MeanRun is the mean started → completed of the activity.
func (a ActivityTimes) MeanRun() time.Duration { return a.Run / time.Duration(max(a.Count, 1)) }

func activityTimes(ctx context.Context, tc client.Client, queue, activityType string) (ActivityTimes, error) {
	var out ActivityTimes
	err := forEachWorkflow(ctx, tc, queue, func(ex *workflowpb.WorkflowExecutionInfo) error {
		scheduled, started := map[int64]time.Time{}, map[int64]time.Time{}
		it := tc.GetWorkflowHistory(ctx, ex.Execution.WorkflowId, ex.Execution.RunId, false, enums.HISTORY_EVENT_FILTER_TYPE_ALL_EVENT)
		for it.HasNext() {
			ev, err := it.Next()
			if err != nil {
				return err
			}
			switch ev.EventType {
			case enums.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
				if ev.GetActivityTaskScheduledEventAttributes().GetActivityType().GetName() == activityType {
					scheduled[ev.EventId] = ev.EventTime.AsTime()
				}
			case enums.EVENT_TYPE_ACTIVITY_TASK_STARTED:
				id := ev.GetActivityTaskStartedEventAttributes().GetScheduledEventId()
				if at, ok := scheduled[id]; ok {
					started[id] = ev.EventTime.AsTime()
					out.QueueWait += ev.EventTime.AsTime().Sub(at)
				}
			case enums.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
				id := ev.GetActivityTaskCompletedEventAttributes().GetScheduledEventId()
				if at, ok := started[id]; ok {
					out.Count++
					out.Run += ev.EventTime.AsTime().Sub(at)
				}
			}
		}
		return nil
	})
	return out, err
}
