package main

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/natsmux/natsmux"
	"github.com/natsmux/natsmux/asyncapi"
	"github.com/natsmux/natsmux/internal/schema"
	"github.com/natsmux/natsmux/micro"
)

// The HTML page's view of the services.
type (
	pageView struct {
		Services []serviceView
		Stats    bool
	}
	serviceView struct {
		ID, Name, Version, Description string
		Instances                      int
		Metadata                       []keyValue
		Endpoints                      []endpointView
	}
	endpointView struct {
		ID, Name, Template, Subject, QueueGroup string
		Params                                  []paramView
		Request, Reply                          *payloadView
		Errors                                  []keyValue
		Command                                 string
		Metadata                                []keyValue
		Stats                                   *micro.EndpointStats
	}
	paramView struct {
		Name, Description, Example string
	}
	payloadView struct {
		Fields  []schema.Field
		Example string
		Problem string // why the schema could not be shown
	}
	keyValue struct{ Key, Value string }
)

// renderPage writes the HTML page of the services, with the endpoints'
// counters summed over the instances of each version when stats are given.
func renderPage(w io.Writer, services []*service, stats []micro.Stats) error {
	page := pageView{Stats: stats != nil}
	for _, s := range services {
		page.Services = append(page.Services, serviceOf(s, stats))
	}
	return pageTemplate.Execute(w, page)
}

func serviceOf(s *service, stats []micro.Stats) serviceView {
	in := s.info
	view := serviceView{ID: anchor(in.Name + "-" + in.Version), Name: in.Name, Version: in.Version,
		Description: in.Description, Instances: len(s.instances), Metadata: sortedPairs(in.Metadata)}
	counters := sumStats(stats, s.instances)
	for _, ep := range in.Endpoints {
		e := endpointOf(ep)
		e.ID = view.ID + "-" + anchor(ep.Name+"-"+ep.Subject)
		if stats != nil {
			e.Stats = cmp.Or(counters[ep.Name+" "+ep.Subject], &micro.EndpointStats{})
		}
		view.Endpoints = append(view.Endpoints, e)
	}
	return view
}

func endpointOf(ep micro.EndpointInfo) endpointView {
	template := cmp.Or(ep.Metadata[natsmux.TemplateMetadataKey], ep.Subject)
	declared := natsmux.DeclaredParams(ep.Metadata)
	view := endpointView{Name: ep.Name, Template: template, Subject: ep.Subject, QueueGroup: ep.QueueGroup}
	for _, name := range schema.TemplateParams(template) {
		view.Params = append(view.Params, paramView{name, declared[name].Description, declared[name].Example})
	}
	view.Request = payloadOf(ep.Metadata[schema.RequestKey])
	view.Reply = payloadOf(ep.Metadata[schema.ResponseKey])
	errs := asyncapi.ErrorCodes(ep.Metadata)
	for _, code := range slices.Sorted(maps.Keys(errs)) {
		view.Errors = append(view.Errors, keyValue{strconv.Itoa(code), errs[code]})
	}
	subject := schema.FillTemplate(template, func(name string) string { return declared[name].Example })
	view.Command = "micro request " + subject
	if view.Request != nil && view.Request.Example != "" {
		view.Command += " " + shellQuote(compactJSON(view.Request.Example))
	}
	view.Metadata = sortedPairs(asyncapi.UserMetadata(ep.Metadata))
	return view
}

// payloadOf makes a published schema readable: its fields and an example.
func payloadOf(published string) *payloadView {
	if published == "" {
		return nil
	}
	s, err := schema.Parse([]byte(published))
	if err != nil {
		return &payloadView{Problem: "The published schema cannot be read: " + err.Error()}
	}
	view := &payloadView{Fields: schema.Fields(s)}
	if v, err := schema.Example(s, schema.Full); err == nil {
		if data, err := schema.Marshal(v); err == nil {
			var pretty bytes.Buffer
			if json.Indent(&pretty, data, "", "  ") == nil {
				view.Example = pretty.String()
			}
		}
	}
	return view
}

func compactJSON(s string) string {
	var buf bytes.Buffer
	if json.Compact(&buf, []byte(s)) != nil {
		return s
	}
	return buf.String()
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// sumStats sums the counters of the given instances by endpoint name and
// subject.
func sumStats(all []micro.Stats, instances []string) map[string]*micro.EndpointStats {
	out := map[string]*micro.EndpointStats{}
	for _, s := range all {
		if !slices.Contains(instances, s.ID) {
			continue
		}
		for _, ep := range s.Endpoints {
			key := ep.Name + " " + ep.Subject
			sum := out[key]
			if sum == nil {
				sum = &micro.EndpointStats{}
				out[key] = sum
			}
			sum.NumRequests += ep.NumRequests
			sum.NumErrors += ep.NumErrors
			sum.ProcessingTime += ep.ProcessingTime
			sum.LastError = cmp.Or(ep.LastError, sum.LastError)
			if sum.NumRequests > 0 {
				sum.AverageProcessingTime = sum.ProcessingTime / time.Duration(sum.NumRequests)
			}
		}
	}
	return out
}

func sortedPairs(md map[string]string) []keyValue {
	var out []keyValue
	for _, k := range slices.Sorted(maps.Keys(md)) {
		out = append(out, keyValue{k, md[k]})
	}
	return out
}

// anchor makes s an HTML id: letters, digits and '-'.
func anchor(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

var pageTemplate = template.Must(template.New("page").Funcs(template.FuncMap{
	"duration": formatDuration,
	"count":    func(n int) string { return fmt.Sprint(n) },
}).Parse(pageHTML))

const pageHTML = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{range $i, $s := .Services}}{{if $i}}, {{end}}{{$s.Name}}{{end}} · NATS services</title>
<style>
:root { --fg: #1d2430; --muted: #5b6677; --line: #d9dee7; --bg: #f6f8fb; --accent: #1f6feb; --code: #eef1f6; --warn: #9a3412; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
header { background: #0f1b2d; color: #fff; padding: 20px 32px; }
header h1 { margin: 0; font-size: 22px; }
header p { margin: 4px 0 0; color: #b8c4d6; }
header code { background: #24344d; color: #e6edf7; white-space: nowrap; }
main { max-width: 1100px; margin: 0 auto; padding: 24px 32px 64px; }
nav { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 20px; margin-bottom: 24px; }
nav ul { margin: 4px 0; padding-left: 20px; }
a { color: var(--accent); text-decoration: none; }
a:hover { text-decoration: underline; }
section.service > h2 { font-size: 20px; margin: 32px 0 4px; }
.meta { color: var(--muted); margin: 0 0 12px; }
article { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 16px 0; }
article h3 { margin: 0 0 4px; font-size: 17px; }
h4 { margin: 16px 0 6px; font-size: 14px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted); }
code, pre { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; }
code { background: var(--code); padding: 1px 5px; border-radius: 4px; }
pre { background: var(--code); padding: 10px 12px; border-radius: 6px; overflow-x: auto; margin: 6px 0; }
table { border-collapse: collapse; width: 100%; margin: 4px 0; }
th, td { text-align: left; vertical-align: top; padding: 5px 10px; border-bottom: 1px solid var(--line); }
th { font-size: 12px; color: var(--muted); font-weight: 600; }
td.path { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px; white-space: nowrap; }
.req { color: var(--warn); font-weight: 600; }
.subject { font-size: 15px; }
.pill { display: inline-block; background: var(--code); border-radius: 10px; padding: 0 8px; font-size: 12px; color: var(--muted); margin-left: 6px; }
.stats td { font-variant-numeric: tabular-nums; }
.note { color: var(--muted); font-style: italic; }
</style>
</head>
<body>
<header>
<h1>NATS services</h1>
<p>Request/reply endpoints (ADR-32), as their services describe them over INFO. Errors come back with the headers <code>Nats-Service-Error</code> and <code>Nats-Service-Error-Code</code>.</p>
</header>
<main>
<nav aria-label="Contents">
<ul>{{range .Services}}
<li><a href="#{{.ID}}">{{.Name}} {{.Version}}</a><ul>{{range .Endpoints}}<li><a href="#{{.ID}}">{{.Name}}</a> <code>{{.Template}}</code></li>{{end}}</ul></li>{{end}}
</ul>
</nav>
{{range .Services}}
<section class="service" id="{{.ID}}">
<h2>{{.Name}} <span class="pill">version {{.Version}}</span> <span class="pill">{{.Instances}} instance{{if ne .Instances 1}}s{{end}}</span></h2>
{{with .Description}}<p class="meta">{{.}}</p>{{end}}
{{with .Metadata}}<p class="meta">Metadata: {{range $i, $kv := .}}{{if $i}}, {{end}}<code>{{$kv.Key}}={{$kv.Value}}</code>{{end}}</p>{{end}}
{{range .Endpoints}}
<article class="endpoint" id="{{.ID}}" data-endpoint="{{.Name}}">
<h3>{{.Name}}</h3>
<p class="subject"><code>{{.Template}}</code>{{if ne .Template .Subject}} <span class="pill">subscribes to {{.Subject}}</span>{{end}}
{{if .QueueGroup}}<span class="pill">queue group {{.QueueGroup}}</span>{{else}}<span class="pill">no queue group: every instance answers</span>{{end}}</p>
{{with .Params}}<h4>Subject parameters</h4>
<table><tr><th>Parameter</th><th>Description</th><th>Example</th></tr>
{{range .}}<tr><td class="path">{{"{"}}{{.Name}}{{"}"}}</td><td>{{.Description}}</td><td>{{with .Example}}<code>{{.}}</code>{{end}}</td></tr>
{{end}}</table>{{end}}
<h4>Request</h4>
{{template "payload" .Request}}
<h4>Reply</h4>
{{template "payload" .Reply}}
{{with .Errors}}<h4>Errors</h4>
<table><tr><th>Code</th><th>Meaning</th></tr>
{{range .}}<tr><td class="path">{{.Key}}</td><td>{{.Value}}</td></tr>
{{end}}</table>{{end}}
<h4>Try it</h4>
<pre class="command">{{.Command}}</pre>
{{with .Metadata}}<h4>Metadata</h4>
<table>{{range .}}<tr><td class="path">{{.Key}}</td><td>{{.Value}}</td></tr>{{end}}</table>{{end}}
{{with .Stats}}<h4>Live counters</h4>
<table class="stats"><tr><th>Requests</th><th>Errors</th><th>Average time</th><th>Last error</th></tr>
<tr><td>{{count .NumRequests}}</td><td>{{count .NumErrors}}</td><td>{{duration .AverageProcessingTime}}</td><td>{{.LastError}}</td></tr></table>{{end}}
</article>
{{end}}
</section>
{{end}}
</main>
</body>
</html>
{{define "payload"}}{{if not .}}<p class="note">No schema published: the endpoint takes and returns any bytes.</p>
{{else if .Problem}}<p class="note">{{.Problem}}</p>
{{else}}<table class="fields"><tr><th>Field</th><th>Type</th><th>Required</th><th>Rules</th><th>Description</th></tr>
{{range .Fields}}<tr><td class="path">{{if .Path}}{{.Path}}{{else}}(payload){{end}}</td><td>{{.Type}}</td><td>{{if .Required}}<span class="req">required</span>{{end}}</td><td>{{.Rules}}</td><td>{{.Description}}</td></tr>
{{end}}</table>
{{with .Example}}<p class="note">Example</p><pre class="example">{{.}}</pre>{{end}}{{end}}{{end}}`
