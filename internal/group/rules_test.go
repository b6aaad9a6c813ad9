package group

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// A recorder makes runs for a queue of ints that, for the first batch,
// closes started and waits for release; every batch runs each item's
// callback through Call (cb may be nil) and records the items it ran.
type recorder struct {
	mu      sync.Mutex
	ran     []int
	started chan struct{}
	release chan struct{}
	batches int
}

func newRecorder() *recorder {
	return &recorder{started: make(chan struct{}), release: make(chan struct{})}
}

func (r *recorder) run(cb func(int)) func(*Batch[int]) error {
	return func(b *Batch[int]) error {
		r.mu.Lock()
		r.batches++
		first := r.batches == 1
		r.mu.Unlock()
		if first {
			close(r.started)
			<-r.release
		}
		for i, v := range b.Items() {
			if !b.Claim(i) {
				continue
			}
			b.Call(i, func() {
				if cb != nil {
					cb(v)
				}
				r.mu.Lock()
				r.ran = append(r.ran, v)
				r.mu.Unlock()
			})
		}
		return nil
	}
}

// holdFirst runs item 0 on q with run, in a goroutine of its own, and
// returns once its batch has started: the batch then holds the queue
// until r.release is closed. done is closed when item 0's caller returns.
func (r *recorder) holdFirst(q *Queue[int], run func(*Batch[int]) error) (done <-chan struct{}) {
	ch := make(chan struct{})
	go func() { defer close(ch); q.Do(bg, 0, nil, run) }()
	<-r.started
	return ch
}

func (r *recorder) has(v int) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, x := range r.ran {
		if x == v {
			return true
		}
	}
	return false
}

// waitWaiting waits until n callers wait in pending batches.
func waitWaiting[T any](t *testing.T, q *Queue[T], n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for q.Waiting() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers waiting, want %d", q.Waiting(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

// A panic in one member's callback is raised in that member's goroutine,
// with its value; the other members of the batch get their own outcome,
// and the queue goes on.
func TestPanicInCallbackIsRaisedInItsCaller(t *testing.T) {
	var q Queue[int]
	rec := newRecorder()
	run := rec.run(func(v int) {
		if v == 2 {
			panic("two")
		}
	})
	var wg sync.WaitGroup
	errs := make([]error, 4)
	panics := make([]any, 4)
	do := func(v int) {
		defer wg.Done()
		defer func() { panics[v] = recover() }()
		errs[v] = q.Do(bg, v, nil, run)
	}
	wg.Add(1)
	go do(0)
	<-rec.started
	for v := 1; v <= 3; v++ {
		wg.Add(1)
		go do(v)
		waitWaiting(t, &q, v)
	}
	close(rec.release)
	wg.Wait()
	for v := range 4 {
		if v == 2 {
			if panics[v] != "two" {
				t.Fatalf("caller 2 recovered %v, want its own panic", panics[v])
			}
			continue
		}
		if panics[v] != nil || errs[v] != nil {
			t.Fatalf("caller %d: panic %v, err %v", v, panics[v], errs[v])
		}
		if !rec.has(v) {
			t.Fatalf("caller %d's callback did not run", v)
		}
	}
	if !idleSoon(&q) {
		t.Fatal("queue wedged after a panic")
	}
	if err := q.Do(bg, 9, nil, rec.run(nil)); err != nil || !rec.has(9) {
		t.Fatalf("a later caller: %v", err)
	}
}

// A panic in the run's own code is raised in the goroutine that ran it;
// every other member is answered with ErrPanicked, and later callers
// proceed.
func TestPanicInRunAnswersEveryone(t *testing.T) {
	var q Queue[int]
	started, release := make(chan struct{}), make(chan struct{})
	var batches atomic.Int32
	run := func(b *Batch[int]) error {
		switch batches.Add(1) {
		case 1:
			close(started)
			<-release
			return nil
		case 2:
			panic("run")
		}
		return nil
	}
	done := make(chan struct{})
	go func() { defer close(done); q.Do(bg, 0, nil, run) }()
	<-started
	results := make(chan any, 3)
	for v := 1; v <= 3; v++ {
		go func() {
			defer func() {
				if p := recover(); p != nil {
					results <- p
				}
			}()
			results <- q.Do(bg, v, nil, run)
		}()
		waitWaiting(t, &q, v)
	}
	close(release)
	<-done
	var panicked, failed int
	for range 3 {
		switch r := (<-results).(type) {
		case string:
			panicked++
		case error:
			if errors.Is(r, ErrPanicked) {
				failed++
			}
		}
	}
	if panicked != 1 || failed != 2 {
		t.Fatalf("%d callers panicked and %d got ErrPanicked, want 1 and 2", panicked, failed)
	}
	if err := q.Do(bg, 4, nil, func(*Batch[int]) error { return nil }); err != nil || !idleSoon(&q) {
		t.Fatalf("after the panic: %v", err)
	}
}

// A caller queued behind a slow batch returns at its own deadline, and
// its item is never run.
func TestWaiterHonoursItsOwnDeadline(t *testing.T) {
	var q Queue[int]
	rec := newRecorder()
	run := rec.run(nil)
	done := rec.holdFirst(&q, run)
	ctx, cancel := context.WithTimeout(bg, 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := q.Do(ctx, 1, nil, run)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want the deadline", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("returned after %v, its deadline was 100ms", d)
	}
	close(rec.release)
	<-done
	if rec.has(1) || !idleSoon(&q) {
		t.Fatalf("the item of a caller that left ran (%v), or the queue is not idle", rec.ran)
	}
}

// The caller that leads a waiting batch may leave: another member runs
// it, and only the one that left fails.
func TestLeaderThatLeavesFailsNobodyElse(t *testing.T) {
	var q Queue[int]
	rec := newRecorder()
	run := rec.run(nil)
	done := rec.holdFirst(&q, run)
	ctx, cancel := context.WithCancel(bg)
	leader := make(chan error, 1)
	go func() { leader <- q.Do(ctx, 1, nil, run) }()
	waitWaiting(t, &q, 1)
	others := make(chan error, 2)
	for v := 2; v <= 3; v++ {
		go func() { others <- q.Do(bg, v, nil, run) }()
		waitWaiting(t, &q, v)
	}
	cancel()
	if err := <-leader; !errors.Is(err, context.Canceled) {
		t.Fatalf("the leader got %v", err)
	}
	close(rec.release)
	for range 2 {
		if err := <-others; err != nil {
			t.Fatalf("a member whose context was fine got %v", err)
		}
	}
	<-done
	if rec.has(1) || !rec.has(2) || !rec.has(3) {
		t.Fatalf("ran %v, want 2 and 3 and not 1", rec.ran)
	}
	if !idleSoon(&q) {
		t.Fatal("not idle")
	}
}

// A batch whose members all leave before its turn is dropped, and the
// queue moves on to the next.
func TestBatchEveryoneLeftIsDropped(t *testing.T) {
	var q Queue[int]
	rec := newRecorder()
	run := rec.run(nil)
	done := rec.holdFirst(&q, run)
	ctx, cancel := context.WithCancel(bg)
	left := make(chan error, 2)
	for v := 1; v <= 2; v++ {
		go func() { left <- q.Do(ctx, v, nil, run) }()
		waitWaiting(t, &q, v)
	}
	later := make(chan error, 1)
	go func() { later <- q.Do(bg, 3, func([]int, int) bool { return false }, run) }()
	waitWaiting(t, &q, 3)
	cancel()
	for range 2 {
		if err := <-left; !errors.Is(err, context.Canceled) {
			t.Fatal(err)
		}
	}
	close(rec.release)
	if err := <-later; err != nil {
		t.Fatal(err)
	}
	<-done
	if rec.has(1) || rec.has(2) || !rec.has(3) || !idleSoon(&q) {
		t.Fatalf("ran %v", rec.ran)
	}
}

// Batch.Context, for the batch's waits, ends only when every member's
// context has: the leader's cancelled context does not end it.
func TestBatchContextEndsWithTheLastMember(t *testing.T) {
	var q Queue[int]
	rec := newRecorder()
	done := rec.holdFirst(&q, rec.run(nil))
	ctx1, cancel1 := context.WithCancel(bg)
	ctx2, cancel2 := context.WithCancel(bg)
	inRun, check, finished := make(chan struct{}), make(chan struct{}), make(chan struct{})
	var ended1, ended2 bool
	run := func(b *Batch[int]) error {
		defer close(finished)
		ctx, stop := b.Context()
		defer stop()
		close(inRun)
		<-check
		cancel1()
		time.Sleep(20 * time.Millisecond)
		ended1 = ctx.Err() != nil
		cancel2()
		select {
		case <-ctx.Done():
			ended2 = true
		case <-time.After(5 * time.Second):
		}
		return nil
	}
	errs := make(chan error, 2)
	go func() { errs <- q.Do(ctx1, 1, nil, run) }()
	waitWaiting(t, &q, 1)
	go func() { errs <- q.Do(ctx2, 2, nil, run) }()
	waitWaiting(t, &q, 2)
	close(rec.release)
	<-inRun
	close(check)
	<-errs
	<-errs
	<-done
	<-finished
	if ended1 || !ended2 {
		t.Fatalf("batch context ended with the first member: %v, with the last: %v", ended1, ended2)
	}
}

// A member whose context cannot end (Done is nil) keeps Batch.Context
// going when every other member's context has ended, and the batch's
// context still carries the first member's values.
func TestBatchContextWithAnUncancellableMember(t *testing.T) {
	var q Queue[int]
	rec := newRecorder()
	done := make(chan struct{})
	go func() { defer close(done); q.Do(bg, 0, nil, rec.run(nil)) }()
	<-rec.started
	type key struct{}
	ctx1, cancel1 := context.WithCancel(context.WithValue(bg, key{}, "first"))
	var ended bool
	var value any
	run := func(b *Batch[int]) error {
		ctx, stop := b.Context()
		defer stop()
		cancel1()
		select {
		case <-ctx.Done():
			ended = true
		case <-time.After(50 * time.Millisecond):
		}
		value = ctx.Value(key{})
		return nil
	}
	errs := make(chan error, 2)
	go func() { errs <- q.Do(ctx1, 1, nil, run) }()
	waitWaiting(t, &q, 1)
	go func() { errs <- q.Do(bg, 2, nil, run) }()
	waitWaiting(t, &q, 2)
	close(rec.release)
	<-errs
	<-errs
	<-done
	if ended || value != "first" {
		t.Fatalf("batch context ended: %v; value %v", ended, value)
	}
}

// Once the run has claimed an item, its caller waits for the outcome even
// if its context ends.
func TestClaimedCallerGetsItsOutcome(t *testing.T) {
	var q Queue[int]
	ctx, cancel := context.WithCancel(bg)
	boom := errors.New("outcome")
	err := q.Do(ctx, 1, nil, func(b *Batch[int]) error {
		if !b.Claim(0) {
			t.Error("claim failed")
		}
		cancel()
		time.Sleep(10 * time.Millisecond)
		return boom
	})
	if err != boom {
		t.Fatalf("got %v, want the run's outcome", err)
	}
	// And a caller whose context ended before the claim is told so.
	ctx, cancel = context.WithCancel(bg)
	err = q.Do(ctx, 1, nil, func(b *Batch[int]) error {
		cancel()
		if b.Claim(0) {
			t.Error("claimed a caller whose context had ended")
		}
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}

// A Do from inside a callback of the running batch would wait for itself:
// it is refused at once, from Call and from User, also when the batch is
// led by another caller's goroutine.
func TestReentryIsRefused(t *testing.T) {
	var q Queue[int]
	var inner error
	run := func(b *Batch[int]) error {
		for i := range b.Items() {
			b.Call(i, func() {
				ctx, cancel := context.WithTimeout(bg, 5*time.Second)
				defer cancel()
				inner = q.Do(ctx, 99, nil, func(*Batch[int]) error { return nil })
			})
		}
		return nil
	}
	start := time.Now()
	if err := q.Do(bg, 1, nil, run); err != nil {
		t.Fatal(err)
	}
	if !errors.Is(inner, ErrReentrant) || time.Since(start) > 8*time.Second {
		t.Fatalf("inner Do: %v after %v", inner, time.Since(start))
	}
	inner = nil
	q.Do(bg, 1, nil, func(b *Batch[int]) error {
		b.User(func() { inner = q.Do(bg, 2, nil, func(*Batch[int]) error { return nil }) })
		return nil
	})
	if !errors.Is(inner, ErrReentrant) {
		t.Fatalf("inner Do from User: %v", inner)
	}
	// Another goroutine calling Do while a callback runs just waits.
	var other error
	done := make(chan struct{})
	q.Do(bg, 1, nil, func(b *Batch[int]) error {
		b.User(func() {
			go func() { defer close(done); other = q.Do(bg, 3, nil, func(*Batch[int]) error { return nil }) }()
			waitWaiting(t, &q, 1)
		})
		return nil
	})
	<-done
	if other != nil {
		t.Fatalf("a concurrent caller was refused: %v", other)
	}
}

// Steal takes over the next waiting batch; its members are answered by
// Finish, or with the stealing batch's outcome.
func TestStealAnswersTheBatchTakenOver(t *testing.T) {
	var q Queue[int]
	started, release := make(chan struct{}), make(chan struct{})
	var took [][]int
	stolenErr := errors.New("stolen")
	run := func(b *Batch[int]) error {
		if b.Items()[0] == 0 {
			close(started)
			<-release
			for {
				s := b.Steal(func([]int) bool { return true })
				if s == nil {
					break
				}
				took = append(took, s.Items())
				if s.Items()[0] == 1 {
					s.Finish(stolenErr)
				}
			}
		}
		return nil
	}
	done := make(chan error, 1)
	go func() { done <- q.Do(bg, 0, nil, run) }()
	<-started
	no := func([]int, int) bool { return false }
	res := make(chan [2]any, 2)
	for v := 1; v <= 2; v++ {
		go func() { res <- [2]any{v, q.Do(bg, v, no, run)} }()
		waitWaiting(t, &q, v)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	for range 2 {
		r := <-res
		want := error(nil)
		if r[0] == 1 {
			want = stolenErr
		}
		if r[1] != want && !(r[1] == nil && want == nil) {
			t.Fatalf("caller %v got %v, want %v", r[0], r[1], want)
		}
	}
	if len(took) != 2 || !idleSoon(&q) {
		t.Fatalf("took %v", took)
	}
}

// Under a storm of callers that cancel, panic, join or not, and batches
// that steal: runs never overlap, every caller returns with the outcome
// that matches what happened to its item, and an item whose caller left
// never runs.
func TestStormOfCallers(t *testing.T) {
	var q Queue[int]
	var active atomic.Int32
	var ranItem [2000]atomic.Int32
	run := func(b *Batch[int]) error {
		if active.Add(1) != 1 {
			t.Error("two batches ran at once")
		}
		defer active.Add(-1)
		handle := func(b *Batch[int]) {
			for i, v := range b.Items() {
				if !b.Claim(i) {
					continue
				}
				b.Call(i, func() {
					ranItem[v].Add(1)
					time.Sleep(time.Duration(v%3) * 10 * time.Microsecond)
					if v%17 == 0 {
						panic(v)
					}
				})
			}
		}
		handle(b)
		if b.Items()[0]%2 == 0 {
			if s := b.Steal(func([]int) bool { return true }); s != nil {
				handle(s)
			}
		}
		return nil
	}
	var wg sync.WaitGroup
	for v := range 2000 {
		wg.Go(func() {
			ctx, cancel := context.WithCancel(bg)
			defer cancel()
			if v%5 == 0 {
				time.AfterFunc(time.Duration(v%7)*50*time.Microsecond, cancel)
			}
			var p any
			var err error
			func() {
				defer func() { p = recover() }()
				err = q.Do(ctx, v, func(b []int, i int) bool { return len(b) < 8 }, run)
			}()
			n := ranItem[v].Load()
			switch {
			case p != nil:
				if p != v || v%17 != 0 || n != 1 {
					t.Errorf("caller %d: panic %v, ran %d times", v, p, n)
				}
			case err != nil:
				if !errors.Is(err, context.Canceled) || n != 0 {
					t.Errorf("caller %d: %v, ran %d times", v, err, n)
				}
			default:
				if n != 1 || v%17 == 0 {
					t.Errorf("caller %d: nil, ran %d times", v, n)
				}
			}
		})
	}
	wg.Wait()
	if !idleSoon(&q) {
		t.Fatal("not idle")
	}
}

// idleSoon reports whether q becomes idle within 5 s: a batch run in a
// goroutine of its own hands the queue on just after its callers return.
func idleSoon[T any](q *Queue[T]) bool {
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(time.Millisecond) {
		if q.Idle() {
			return true
		}
	}
	return false
}
