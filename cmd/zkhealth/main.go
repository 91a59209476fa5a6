// Command zkhealth is the zkhealth command line (CLI.md); package cli implements it.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/zkhealth/zkhealth/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
