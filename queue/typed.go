package queue

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Typed is a queue of values of type T, encoded as JSON.
type Typed[T any] struct{ Q *Queue }

// TypedMsg is a delivered value.
type TypedMsg[T any] struct {
	Msg
	Value T
}

// NewTyped wraps q.
func NewTyped[T any](q *Queue) *Typed[T] { return &Typed[T]{Q: q} }

// Push encodes v and pushes it.
func (t *Typed[T]) Push(ctx context.Context, v T) (ID, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return 0, fmt.Errorf("queue: encode: %w", err)
	}
	return t.Q.Push(ctx, b)
}

// Pop pops a message and decodes it. A message that does not decode is
// returned with the error, still leased: Ack, Nack or leave it.
func (t *Typed[T]) Pop(ctx context.Context, lease time.Duration) (TypedMsg[T], error) {
	m, err := t.Q.Pop(ctx, lease)
	if err != nil {
		return TypedMsg[T]{}, err
	}
	tm := TypedMsg[T]{Msg: m}
	if err := json.Unmarshal(m.Payload, &tm.Value); err != nil {
		return tm, fmt.Errorf("queue: message %v does not decode: %w", m.ID, err)
	}
	return tm, nil
}

// Ack acknowledges a message (see Queue.Ack).
func (t *Typed[T]) Ack(ctx context.Context, r Receipt) error { return t.Q.Ack(ctx, r) }

// Nack returns a message (see Queue.Nack).
func (t *Typed[T]) Nack(ctx context.Context, r Receipt, delay time.Duration) error {
	return t.Q.Nack(ctx, r, delay)
}

// Extend extends a message's lease (see Queue.Extend).
func (t *Typed[T]) Extend(ctx context.Context, r Receipt, lease time.Duration) error {
	return t.Q.Extend(ctx, r, lease)
}
