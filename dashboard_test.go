package cloister_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloister-go/cloister"
	"github.com/cloister-go/cloister/cloistertest"
)

// dashboardState is the part of /dashboard/state the tests read.
type dashboardState struct {
	State   string `json:"state"`
	Term    uint64 `json:"term"`
	Members []struct {
		Name  string  `json:"name"`
		State string  `json:"state"`
		Share float64 `json:"share"`
	} `json:"members"`
	Ring *struct {
		Slots int   `json:"slots"`
		Cells []int `json:"cells"`
	} `json:"ring"`
	Timeline []struct {
		Kind string `json:"kind"`
	} `json:"timeline"`
	Handlers []struct {
		Name  string `json:"name"`
		Calls uint64 `json:"calls"`
	} `json:"handlers"`
}

func dashboardCluster(t *testing.T, n int) *cloistertest.Cluster {
	t.Helper()
	return cloistertest.New(t, n, cloistertest.WithConfig(func(i int, c *cloister.Config) {
		c.Dashboard = true
	}))
}

// The dashboard's page, files and state, without a browser.
func TestDashboardServes(t *testing.T) {
	c := dashboardCluster(t, 3)
	srv := httptest.NewServer(c.Node(0).Handler())
	defer srv.Close()

	// /dashboard redirects to /dashboard/ by a relative URL, so that the
	// page works under a prefix too.
	client := &http.Client{
		Timeout:       5 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Get(srv.URL + "/dashboard")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMovedPermanently || resp.Header.Get("Location") != "dashboard/" {
		t.Fatalf("GET /dashboard: %s to %q, want 301 to dashboard/", resp.Status, resp.Header.Get("Location"))
	}
	page := scrape(t, srv.URL+"/dashboard/")
	for _, ref := range []string{`src="app.js"`, `href="style.css"`} {
		if !strings.Contains(page, ref) {
			t.Errorf("page lacks %s", ref)
		}
	}
	if strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Errorf("page refers to another site: it must work offline")
	}
	if js := scrape(t, srv.URL+"/dashboard/app.js"); !strings.Contains(js, `fetch("state"`) {
		t.Errorf("app.js does not poll ./state")
	}
	scrape(t, srv.URL+"/dashboard/style.css")
	// The metrics stay off: Dashboard alone does not serve them.
	if code := status(t, srv.URL+"/metrics"); code != http.StatusNotFound {
		t.Errorf("GET /metrics with only the dashboard on: %d, want 404", code)
	}

	// Under a prefix, the relative redirect and links still work.
	mux := http.NewServeMux()
	mux.Handle("/ops/", http.StripPrefix("/ops", c.Node(0).Handler()))
	prefixed := httptest.NewServer(mux)
	defer prefixed.Close()
	resp, err = client.Get(prefixed.URL + "/ops/dashboard")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc, err := resp.Location(); err != nil || loc.Path != "/ops/dashboard/" {
		t.Fatalf("GET /ops/dashboard redirects to %v (%v), want /ops/dashboard/", loc, err)
	}
	scrape(t, prefixed.URL+"/ops/dashboard/app.js")
	scrape(t, prefixed.URL+"/ops/dashboard/state")

	var s dashboardState
	if err := json.Unmarshal([]byte(scrape(t, srv.URL+"/dashboard/state")), &s); err != nil {
		t.Fatal(err)
	}
	if s.State != "ready" || len(s.Members) != 3 || s.Term == 0 {
		t.Fatalf("state %s, term %d, %d members; want ready, a term, 3 members", s.State, s.Term, len(s.Members))
	}
	if s.Ring == nil || len(s.Ring.Cells) == 0 {
		t.Fatal("no ring picture on a ready node")
	}
	var sum float64
	owners := map[int]bool{}
	for _, m := range s.Members {
		if m.Share < 0.15 || m.Share > 0.55 {
			t.Errorf("member %s owns %.3f of the ring: not a plausible share of three", m.Name, m.Share)
		}
		sum += m.Share
	}
	for _, cell := range s.Ring.Cells {
		if cell < 0 || cell >= len(s.Members) {
			t.Fatalf("ring cell names member %d of %d", cell, len(s.Members))
		}
		owners[cell] = true
	}
	if math.Abs(sum-1) > 1e-9 || len(owners) != 3 {
		t.Errorf("shares sum to %v over %d owners drawn, want 1 over 3", sum, len(owners))
	}
	// The shares are the ring's: the owner of a sample of keys agrees.
	ring := c.Node(0).Ring(cloister.DefaultRing)
	counts := map[string]int{}
	const keys = 4096
	for i := range keys {
		m, err := ring.Whois("key-" + string(rune('a'+i%26)) + string(rune(i)))
		if err != nil {
			t.Fatal(err)
		}
		counts[m.Name]++
	}
	for _, m := range s.Members {
		if got := float64(counts[m.Name]) / keys; math.Abs(got-m.Share) > 0.05 {
			t.Errorf("member %s: %.3f of sampled keys, dashboard share %.3f", m.Name, got, m.Share)
		}
	}
}

// chromium returns the path of a Chromium binary, or skips the test.
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Skip("no chromium on PATH: install the Debian package chromium (apt-get install chromium) to test the dashboard in a browser")
	return ""
}

// headless runs Chromium headless on url with extra flags, bounded in time,
// and returns its standard output.
func headless(t *testing.T, bin, profile, url string, flags ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	args := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
		"--no-first-run", "--no-default-browser-check", "--disable-extensions",
		"--user-data-dir=" + profile,
		// Let the page load, fetch its state and draw it: virtual time
		// runs only while nothing is loading.
		"--virtual-time-budget=3000",
	}, flags...)
	cmd := exec.CommandContext(ctx, bin, append(args, url)...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.Env = append(os.Environ(), "HOME="+profile)
	if err := cmd.Run(); err != nil {
		return "", errors.New(err.Error() + ": " + lastLines(errOut.String(), 5))
	}
	return out.String(), nil
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

var memberCount = regexp.MustCompile(`<span id="member-count">(\d+)</span>`)

// What the page shows: the member count and the member rows' states.
func shown(dom string) (count string, rows int) {
	if m := memberCount.FindStringSubmatch(dom); m != nil {
		count = m[1]
	}
	return count, strings.Count(dom, `<tr data-state=`)
}

// The dashboard in headless Chromium: three members, then a killed node
// goes down on the page within the detection time.
func TestDashboardChromium(t *testing.T) {
	bin := chromium(t)
	c := dashboardCluster(t, 3)
	srv := httptest.NewServer(c.Node(0).Handler())
	defer srv.Close()
	url := srv.URL + "/dashboard/"
	profile := t.TempDir()

	// Some calls, for the call rates (and the screenshot).
	if err := c.Node(0).Handle("price", func(ctx context.Context, from cloister.Member, b []byte) ([]byte, error) {
		return b, nil
	}); err != nil {
		t.Fatal(err)
	}
	trafficCtx, stopTraffic := context.WithCancel(context.Background())
	var traffic sync.WaitGroup
	defer func() { stopTraffic(); traffic.Wait() }()
	for _, i := range []int{0, 1} {
		from, to := c.Node(i), c.Node(0).Self()
		traffic.Add(1)
		go func() {
			defer traffic.Done()
			tick := time.NewTicker(2 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-trafficCtx.Done():
					return
				case <-tick.C:
					ctx, cancel := context.WithTimeout(trafficCtx, time.Second)
					_, _ = from.Call(ctx, to, "price", []byte("BTCUSD"))
					cancel()
				}
			}
		}()
	}

	var dom string
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := cloistertest.Poll(ctx, func() bool {
		var err error
		if dom, err = headless(t, bin, profile, url, "--dump-dom"); err != nil {
			t.Fatalf("chromium --dump-dom: %v", err)
		}
		count, rows := shown(dom)
		return count == "3" && rows == 3 && strings.Count(dom, `data-state="ready"`) == 3
	}); err != nil {
		t.Fatalf("the page never showed 3 ready members: %v\n%s", err, dom)
	}
	for _, want := range []string{`<span id="state" class="badge s-ready">ready</span>`, `<td id="quorate">yes</td>`, `data-handler="price"`, `<path d=`} {
		if !strings.Contains(dom, want) {
			t.Errorf("page lacks %s", want)
		}
	}
	if strings.Contains(dom, "leader") {
		t.Errorf("page shows a leader, but there is no leader yet")
	}
	if path := os.Getenv("CLOISTER_DASHBOARD_SCREENSHOT"); path != "" {
		if _, err := headless(t, bin, profile, url, "--screenshot="+path, "--window-size=1200,1050", "--hide-scrollbars"); err != nil {
			t.Fatalf("chromium --screenshot: %v", err)
		}
		t.Logf("screenshot written to %s", path)
	}

	victim := c.Node(2).Self().Name
	c.Kill(2)
	start := time.Now()
	budget := cloister.LocalDetection().Budget(3) + 5*time.Second // detection, agreement, and Chromium's own start-ups
	ctx2, cancel2 := context.WithTimeout(context.Background(), budget)
	defer cancel2()
	if _, err := cloistertest.Poll(ctx2, func() bool {
		var err error
		if dom, err = headless(t, bin, profile, url, "--dump-dom"); err != nil {
			t.Fatalf("chromium --dump-dom: %v", err)
		}
		count, rows := shown(dom)
		return count == "2" && rows == 2 && !strings.Contains(dom, `data-name="`+victim+`"`) &&
			strings.Contains(dom, "member down: "+victim+" (failed)")
	}); err != nil {
		t.Fatalf("within %v the page did not show %s down: %v\n%s", budget, victim, err, dom)
	}
	t.Logf("the page showed %s down %v after the kill (budget %v)", victim, time.Since(start).Round(time.Millisecond), budget)
}
