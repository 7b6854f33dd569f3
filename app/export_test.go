package app

import (
	"context"
	"io"
	"log/slog"
)

// MainCode runs Program.main for the external tests, with setDefault
// recording the logger Main would make slog's default.
func (p Program) MainCode(ctx context.Context, args []string, stderr io.Writer, services []Service, setDefault func(*slog.Logger)) int {
	return p.main(ctx, args, stderr, services, setDefault)
}
