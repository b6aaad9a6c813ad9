package queue_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/durable-go/durable/queue"
)

func Example() {
	tmp, _ := os.MkdirTemp("", "queue-example")
	defer os.RemoveAll(tmp)
	ctx := context.Background()

	q, err := queue.Open(filepath.Join(tmp, "jobs"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()

	// Durable when Push returns.
	if _, err := q.Push(ctx, []byte("resize photo 42")); err != nil {
		log.Fatal(err)
	}

	// Invisible to other consumers for a minute; delivered again if this
	// process dies before the Ack.
	m, err := q.Pop(ctx, time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("job %v, attempt %d: %s\n", m.ID, m.Attempt, m.Payload)

	// Never delivered again once Ack returns.
	if err := q.Ack(ctx, m.Receipt()); err != nil {
		log.Fatal(err)
	}
	st, _ := q.Stats()
	fmt.Printf("%+v\n", st)
	// Output:
	// job 0, attempt 1: resize photo 42
	// {Ready:0 Delayed:0 Leased:0 Dead:0}
}

func ExampleQueue_Nack() {
	tmp, _ := os.MkdirTemp("", "queue-example")
	defer os.RemoveAll(tmp)
	ctx := context.Background()

	q, err := queue.Open(filepath.Join(tmp, "jobs"), &queue.Options{MaxAttempts: 2})
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	q.Push(ctx, []byte("flaky job"))
	for {
		m, ok, err := q.TryPop(ctx, time.Minute)
		if err != nil {
			log.Fatal(err)
		}
		if !ok {
			break
		}
		fmt.Printf("attempt %d failed\n", m.Attempt)
		q.Nack(ctx, m.Receipt(), 0) // after the last attempt: a dead letter
	}
	dead, _ := q.Dead()
	for _, d := range dead {
		fmt.Printf("dead: %s after %d attempts\n", d.Payload, d.Attempts)
		q.Retry(ctx, d.ID) // or q.Purge(ctx, d.ID)
	}
	st, _ := q.Stats()
	fmt.Println("ready again:", st.Ready)
	// Output:
	// attempt 1 failed
	// attempt 2 failed
	// dead: flaky job after 2 attempts
	// ready again: 1
}

func ExampleTyped() {
	tmp, _ := os.MkdirTemp("", "queue-example")
	defer os.RemoveAll(tmp)
	ctx := context.Background()

	type Email struct {
		To, Subject string
	}
	q, err := queue.Open(filepath.Join(tmp, "mail"), nil)
	if err != nil {
		log.Fatal(err)
	}
	defer q.Close()
	mail := queue.NewTyped[Email](q)
	mail.Push(ctx, Email{To: "alice@example.com", Subject: "hello"})
	m, err := mail.Pop(ctx, time.Minute)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(m.Value.To, m.Value.Subject)
	mail.Ack(ctx, m.Receipt())
	// Output: alice@example.com hello
}
