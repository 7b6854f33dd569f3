package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/natsmux/natsmux/microtest"
)

// browser returns a headless Chromium: $CHROMIUM, else chromium on the
// PATH. Without one the test skips, unless NATSMUX_BROWSER_TESTS=required
// (as CI sets it, having installed Debian's chromium package) makes that a
// failure.
func browser(t *testing.T) string {
	t.Helper()
	path := os.Getenv("CHROMIUM")
	if path == "" {
		for _, name := range []string{"chromium", "chromium-browser"} {
			if p, err := exec.LookPath(name); err == nil {
				path = p
				break
			}
		}
	}
	if path == "" {
		msg := "no Chromium: install it (apt-get install -y chromium) or set CHROMIUM to run the browser test"
		if os.Getenv("NATSMUX_BROWSER_TESTS") == "required" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// chromium runs the browser headless on a fresh profile, with nothing that
// reaches the network on its own.
func chromium(t *testing.T, bin string, args ...string) []byte {
	t.Helper()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir()}
	cmd := exec.CommandContext(t.Context(), bin, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %s: %v\n%s", strings.Join(args, " "), err, &stderr)
	}
	return out
}

// TestDocsPageInBrowser: Chromium loads the page that micro docs --html
// writes; the DOM it builds holds every endpoint and every field, and a
// screenshot is kept in the test's artifact directory (go test -artifacts
// keeps it; see docs/contracts.md).
func TestDocsPageInBrowser(t *testing.T) {
	bin := browser(t)
	f := newFixture(t)
	startShop[shopBasket](t, f.srv, "1.0.0")
	microtest.Request(t, f.nc, "shop.total", []byte(`{"email":"ann@example.com","lines":[{"sku":"tea","qty":2}]}`))

	dir := t.ArtifactDir()
	page := filepath.Join(dir, "services.html")
	invocation{}.run(t, "docs", "--html", "--stats", "-o", page, "-s", f.srv.URL).check(t, 0, "", "")
	url := "file://" + page

	dom := string(chromium(t, bin, "--dump-dom", url))
	endpoints := regexp.MustCompile(`data-endpoint="([^"]+)"`).FindAllStringSubmatch(dom, -1)
	var names []string
	for _, m := range endpoints {
		names = append(names, m[1])
	}
	if got, want := strings.Join(names, " "), "echo get headers silent total open"; got != want {
		t.Errorf("endpoints in the DOM: %s, want %s", got, want)
	}
	for _, field := range []string{"email", "lines", "lines[].sku", "lines[].qty"} {
		if !strings.Contains(dom, `<td class="path">`+field+`</td>`) {
			t.Errorf("the DOM lacks field %s", field)
		}
	}

	shot := filepath.Join(dir, "services.png")
	chromium(t, bin, "--hide-scrollbars", "--window-size=1280,4200", "--screenshot="+shot, url)
	png, err := os.ReadFile(shot)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 20_000 {
		t.Fatalf("screenshot %s: %d bytes, %v", shot, len(png), err)
	}
	t.Logf("screenshot: %s", shot)
}
