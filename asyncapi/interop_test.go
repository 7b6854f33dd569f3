//go:build interop

package asyncapi_test

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/asyncapi"
	"github.com/natsmux/natsmux/binding"
)

// parserVersion is the version of @asyncapi/parser the interop test reads
// documents with.
const parserVersion = "3.6.3"

// parserModules returns a node_modules directory holding @asyncapi/parser:
// $ASYNCAPI_PARSER_DIR (make interop installs it there), else a copy that
// the test installs with npm into the user's cache directory once.
func parserModules(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("ASYNCAPI_PARSER_DIR")
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			t.Fatal(err)
		}
		dir = filepath.Join(cache, "natsmux", "asyncapi-parser-"+parserVersion)
	}
	modules := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "@asyncapi", "parser", "package.json")); err == nil {
		return modules
	}
	npm, err := exec.LookPath("npm")
	if err != nil {
		t.Fatal("npm not found: the interop test installs @asyncapi/parser with it (node 20 or later)")
	}
	cmd := exec.CommandContext(t.Context(), npm, "install", "--no-audit", "--no-fund", "--prefix", dir, "@asyncapi/parser@"+parserVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("installing @asyncapi/parser: %v\n%s", err, out)
	}
	return modules
}

// parsed is what testdata/parse.cjs reports of one document.
type parsed struct {
	File        string
	Parsed      bool
	Diagnostics []struct {
		Severity      int
		Code, Message string
		Path          string
	}
	Operations map[string]struct {
		Action, Address string
		RequestType     *string
		Replies         []string
		Queue           *string
	}
}

// TestInteropParser: the reference parser reads every document without an
// error or a warning, and understands the operations as we mean them.
func TestInteropParser(t *testing.T) {
	modules := parserModules(t)
	dir := t.TempDir()

	clash := natsmux.NewRouter()
	clash.HandleFunc("a", ok, natsmux.WithMetadata(map[string]string{binding.RequestSchemaKey: `{"type":"object","properties":{"next":{"$ref":"#"}}}`}))
	clash.HandleFunc("b", ok, natsmux.WithMetadata(map[string]string{binding.RequestSchemaKey: `true`, binding.ResponseSchemaKey: `false`}))
	var files []string
	for name, r := range map[string]*natsmux.Router{"orders": ordersRouter(), "clash": clash, "empty": natsmux.NewRouter()} {
		doc := build(t, r, ordersConfig, asyncapi.WithServer("nats://127.0.0.1:4222"))
		for ext, encode := range map[string]func() ([]byte, error){"json": doc.JSON, "yaml": doc.YAML} {
			data, err := encode()
			if err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, name+"."+ext)
			if err := os.WriteFile(file, data, 0o644); err != nil {
				t.Fatal(err)
			}
			files = append(files, file)
		}
	}

	cmd := exec.CommandContext(t.Context(), "node", append([]string{"testdata/parse.cjs"}, files...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, &stderr)
	}
	seen := 0
	for line := range bytes.Lines(out) {
		var p parsed
		if err := json.Unmarshal(line, &p); err != nil {
			t.Fatalf("%v: %s", err, line)
		}
		seen++
		name := filepath.Base(p.File)
		if !p.Parsed {
			t.Errorf("%s: the parser made no document: %+v", name, p.Diagnostics)
		}
		for _, d := range p.Diagnostics {
			if d.Severity <= 1 { // 0 error, 1 warning; 2 information, 3 hint
				t.Errorf("%s: %s at %s: %s", name, d.Code, d.Path, d.Message)
			}
		}
		if !strings.HasPrefix(name, "orders.") {
			continue
		}
		create := p.Operations["create"]
		if create.Action != "receive" || create.Address != "orders.create" || create.RequestType == nil || *create.RequestType != "object" ||
			len(create.Replies) != 4 || create.Queue == nil || *create.Queue != "q" {
			t.Errorf("%s: the parser reads create as %+v", name, create)
		}
		if item := p.Operations["item"]; item.Address != "orders.{id}.items.{item}" {
			t.Errorf("%s: the parser reads item as %+v", name, item)
		}
	}
	if seen != len(files) {
		t.Errorf("the parser reported on %d of %d documents:\n%s", seen, len(files), &stderr)
	}
}
