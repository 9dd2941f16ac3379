// Command danmaku is the danmaku server, load generator and CLI client.
// Run "danmaku help" for the subcommands.
package main

import (
	"os"

	"github.com/danmaku/danmaku/internal/cli"
)

func main() { os.Exit(cli.Main(os.Args[1:], os.Stdout, os.Stderr)) }
