// Command convis explains CLIP image embeddings with WordNet concepts (ConVis).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := interruptContext()
	code := Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// interruptContext is cancelled by the first Ctrl-C or SIGTERM, which lets
// the run finish the files it is writing and say where it stopped; after
// it the signals have their default action again, so a second one ends
// the process at once, whatever it is waiting for.
func interruptContext() (context.Context, context.CancelFunc) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		<-ctx.Done()
		stop()
	}()
	return ctx, stop
}
