package store_test

import (
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/durable-go/durable/internal/bench"
)

func TestZZSizes(t *testing.T) {
	keys, _ := strconv.Atoi(os.Getenv("ZZKEYS"))
	if keys == 0 {
		t.Skip()
	}
	dir, _ := os.MkdirTemp("/var/tmp", "h17sz")
	defer os.RemoveAll(dir)
	rows, err := bench.Store(dir, keys, 40, 16, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	bench.PrintStore(os.Stdout, rows)
}
