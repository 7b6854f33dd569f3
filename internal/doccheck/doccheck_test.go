// Package doccheck keeps the documentation honest: every Go code block in
// README.md and docs/*.md must appear, line for line, in a Go file of the
// repository (an Example function, a test, an example program), where the
// compiler and the tests check it. Comment lines and blank lines are left
// out on both sides, and a declaration quoted without its body matches the
// source line that opens the body ("func F() error" matches
// "func F() error {").
package doccheck

import (
	"bufio"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const repo = "../.."

func TestDocCodeBlocksAreReal(t *testing.T) {
	sources := goSources(t)
	docs, err := filepath.Glob(filepath.Join(repo, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	docs = append(docs, filepath.Join(repo, "README.md"))
	checked := 0
	for _, doc := range docs {
		for _, block := range goBlocks(t, doc) {
			checked++
			if !slices.ContainsFunc(sources, func(src []string) bool { return containsRun(src, block.lines) }) {
				t.Errorf("%s:%d: this Go block is not in any .go file of the repository; copy it from, or into, tested code:\n%s",
					rel(doc), block.line, strings.Join(block.lines, "\n"))
			}
		}
	}
	t.Logf("%d Go blocks checked in %d documents", checked, len(docs))
}

type block struct {
	line  int
	lines []string
}

// goBlocks returns the ```go fenced blocks of a Markdown file, as trimmed
// non-blank lines.
func goBlocks(t *testing.T, path string) []block {
	t.Helper()
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var blocks []block
	var cur *block
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case cur == nil && line == "```go":
			cur = &block{line: n + 1}
		case cur != nil && line == "```":
			blocks = append(blocks, *cur)
			cur = nil
		case cur != nil && isCode(line):
			cur.lines = append(cur.lines, line)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return blocks
}

// goSources returns every .go file of the repository as trimmed non-blank
// lines.
func goSources(t *testing.T) [][]string {
	t.Helper()
	var out [][]string
	err := filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "bin") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var lines []string
		for _, l := range strings.Split(string(data), "\n") {
			if l = strings.TrimSpace(l); isCode(l) {
				lines = append(lines, l)
			}
		}
		out = append(out, lines)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func isCode(line string) bool {
	return line != "" && !strings.HasPrefix(line, "//")
}

func containsRun(haystack, needle []string) bool {
	if len(needle) == 0 {
		return true
	}
	for i := 0; i+len(needle) <= len(haystack); i++ {
		if slices.EqualFunc(haystack[i:i+len(needle)], needle, sameLine) {
			return true
		}
	}
	return false
}

func sameLine(src, doc string) bool {
	return src == doc || src == doc+" {"
}

func rel(path string) string {
	if r, err := filepath.Rel(repo, path); err == nil {
		return r
	}
	return path
}

func TestContainsRun(t *testing.T) {
	hay := []string{"a", "b", "c", "d {"}
	tests := []struct {
		needle []string
		want   bool
	}{
		{[]string{"b", "c"}, true},
		{[]string{"a", "b", "c", "d"}, true},
		{[]string{"b", "d"}, false},
		{[]string{"d", "e"}, false},
		{[]string{"c", "d"}, true},
		{nil, true},
	}
	for _, tt := range tests {
		if got := containsRun(hay, tt.needle); got != tt.want {
			t.Errorf("containsRun(%v) = %v", tt.needle, got)
		}
	}
}
