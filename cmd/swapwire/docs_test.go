package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The command blocks of the docs run as shown; docs/contributing.md
// describes the convention this file implements:
//
//   - A command block is a fenced block whose info string is sh, shell,
//     bash or console, or an unlabelled one with a line starting "$ ". In a
//     console block only the "$ " lines (and their "\" continuations) are
//     commands; the rest is output.
//   - The line before the fence may hold a marker:
//     <!-- doctest: skip: REASON --> leaves the block out (a reason is
//     required), <!-- doctest: setup: COMMANDS --> runs hidden COMMANDS
//     first (such as starting the server the text talks about).
//   - The blocks of one file run in order in one bash script (set -e), so
//     a later block sees what an earlier one started or exported; every
//     process the script started is stopped at the end.
//   - Addresses 127.0.0.1:PORT become free ports (the same documented port
//     gives the same free port within a file), /tmp/ becomes a temporary
//     directory, bin/swapwire and swapwire are the binary under test, and
//     python3 is /usr/bin/python3. Blocks run from the repository root.

// docFiles are the files whose command blocks run.
func docFiles(t *testing.T, root string) []string {
	t.Helper()
	var files []string
	for _, pat := range []string{"README.md", "docs/*.md", "docs/*/*.md", "sdk/*/README.md", "examples/*/README.md"} {
		m, err := filepath.Glob(filepath.Join(root, pat))
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, m...)
	}
	sort.Strings(files)
	return files
}

// docBlock is one command block.
type docBlock struct {
	file     string
	line     int    // of the opening fence
	commands string // the shell text to run
	setup    string // hidden commands from the marker
	skip     string // the reason it does not run, or ""
}

var markerRE = regexp.MustCompile(`(?s)^<!--\s*doctest:\s*(skip|setup):(.*?)-->$`)

// parseDoc returns the command blocks of a Markdown file.
func parseDoc(name string, text string) ([]docBlock, error) {
	var blocks []docBlock
	lines := strings.Split(text, "\n")
	marker := "" // the last marker seen, for the next fence
	for i := 0; i < len(lines); i++ {
		line := strings.TrimSpace(lines[i])
		if strings.HasPrefix(line, "<!--") && strings.Contains(line, "doctest") {
			// A marker may span lines up to its "-->".
			j := i
			for !strings.Contains(lines[j], "-->") && j+1 < len(lines) {
				j++
			}
			marker = strings.TrimSpace(strings.Join(lines[i:j+1], "\n"))
			if !markerRE.MatchString(marker) {
				return nil, fmt.Errorf("%s:%d: malformed marker %q; want <!-- doctest: skip: REASON --> or <!-- doctest: setup: COMMANDS -->", name, i+1, marker)
			}
			i = j
			continue
		}
		if !strings.HasPrefix(line, "```") {
			if line != "" {
				marker = ""
			}
			continue
		}
		info := strings.TrimSpace(strings.TrimPrefix(line, "```"))
		start := i
		var body []string
		for i++; i < len(lines) && !strings.HasPrefix(strings.TrimSpace(lines[i]), "```"); i++ {
			body = append(body, lines[i])
		}
		console := info == "console"
		if info == "" {
			for _, b := range body {
				if strings.HasPrefix(b, "$ ") {
					console = true
				}
			}
		}
		if !console && info != "sh" && info != "shell" && info != "bash" {
			if marker != "" {
				return nil, fmt.Errorf("%s:%d: a doctest marker before a block that is not a command block", name, start+1)
			}
			continue
		}
		b := docBlock{file: name, line: start + 1}
		if console {
			b.commands = consoleCommands(body)
		} else {
			b.commands = strings.Join(body, "\n")
		}
		if m := markerRE.FindStringSubmatch(marker); m != nil {
			arg := strings.TrimSpace(m[2])
			switch m[1] {
			case "skip":
				if arg == "" {
					return nil, fmt.Errorf("%s:%d: doctest skip without a reason", name, start+1)
				}
				b.skip = arg
			case "setup":
				b.setup = arg
			}
		}
		marker = ""
		blocks = append(blocks, b)
	}
	return blocks, nil
}

var heredocRE = regexp.MustCompile(`<<-?\s*'?"?([A-Za-z_]+)'?"?\s*$`)

// consoleCommands returns the commands of a console transcript: the "$ "
// lines with their "\" continuations and here-documents. A command whose
// output shows a line "ERROR:" (grpcurl's form) or "Error:" must fail; the
// others must succeed (set -e).
func consoleCommands(body []string) string {
	type command struct {
		lines []string
		fails bool
	}
	var cmds []command
	for i := 0; i < len(body); i++ {
		l := body[i]
		if !strings.HasPrefix(l, "$ ") {
			if len(cmds) > 0 && (strings.HasPrefix(l, "ERROR:") || strings.HasPrefix(l, "Error:")) {
				cmds[len(cmds)-1].fails = true
			}
			continue
		}
		c := command{lines: []string{strings.TrimPrefix(l, "$ ")}}
		for strings.HasSuffix(l, "\\") && i+1 < len(body) {
			i++
			l = body[i]
			c.lines = append(c.lines, l)
		}
		if m := heredocRE.FindStringSubmatch(l); m != nil {
			for i+1 < len(body) {
				i++
				c.lines = append(c.lines, body[i])
				if strings.TrimSpace(body[i]) == m[1] {
					break
				}
			}
		}
		cmds = append(cmds, c)
	}
	var out []string
	for _, c := range cmds {
		text := strings.Join(c.lines, "\n")
		if c.fails {
			text = "if " + text + "\nthen echo '::doctest this command was shown failing but succeeded' >&2; exit 1; fi"
		}
		out = append(out, text)
	}
	return strings.Join(out, "\n")
}

func TestParseDoc(t *testing.T) {
	doc := "text\n\n```sh\nswapwire models\n```\n\n<!-- doctest: skip: needs a cluster -->\n```sh\nkubectl get pods\n```\n\n" +
		"<!-- doctest: setup:\n  swapwire serve &\n-->\n```console\n$ swapwire health \\\n    --wait 1s\nSERVING\n$ echo hi\nhi\n```\n\n```go\nx := 1\n```\n\n```\n$ ls\nfile\n```\n" +
		"\n```console\n$ cat <<EOM\n$ not a command\nEOM\n$ false\nERROR:\n  Code: NotFound\n```\n"
	blocks, err := parseDoc("doc.md", doc)
	if err != nil {
		t.Fatal(err)
	}
	want := []docBlock{
		{file: "doc.md", line: 3, commands: "swapwire models"},
		{file: "doc.md", line: 8, commands: "kubectl get pods", skip: "needs a cluster"},
		{file: "doc.md", line: 15, commands: "swapwire health \\\n    --wait 1s\necho hi", setup: "swapwire serve &"},
		{file: "doc.md", line: 27, commands: "ls"},
		{file: "doc.md", line: 32, commands: "cat <<EOM\n$ not a command\nEOM\nif false\nthen echo '::doctest this command was shown failing but succeeded' >&2; exit 1; fi"},
	}
	if len(blocks) != len(want) {
		t.Fatalf("parsed %d blocks: %+v", len(blocks), blocks)
	}
	for i := range want {
		if blocks[i] != want[i] {
			t.Errorf("block %d: %+v, want %+v", i, blocks[i], want[i])
		}
	}
	for _, bad := range []string{"<!-- doctest: skip: -->\n```sh\nx\n```\n", "<!-- doctest: run -->\n```sh\nx\n```\n", "<!-- doctest: skip: why -->\n```go\nx\n```\n"} {
		if _, err := parseDoc("bad.md", bad); err == nil {
			t.Errorf("parseDoc(%q) succeeded", bad)
		}
	}
}

var addrRE = regexp.MustCompile(`127\.0\.0\.1:([0-9]{4,5})`)

// freePort returns a port on 127.0.0.1 that was free a moment ago.
func freePort(t *testing.T) string {
	t.Helper()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer lis.Close()
	return lis.Addr().String()
}

// TestDocCommands runs every command block of the docs (see the
// convention above) against real servers and the built binary.
func TestDocCommands(t *testing.T) {
	needPython(t)
	if _, err := exec.LookPath("grpcurl"); err != nil && os.Getenv("SWAPWIRE_SKIP_GRPCURL") == "" {
		t.Fatal("grpcurl is not installed: make tools installs it, or set SWAPWIRE_SKIP_GRPCURL=1 to skip")
	}
	bin := buildBinary(t)
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	pathDir := t.TempDir()
	for name, target := range map[string]string{"swapwire": bin, "python3": pythonBin} {
		if err := os.Symlink(target, filepath.Join(pathDir, name)); err != nil {
			t.Fatal(err)
		}
	}
	ran, skipped := 0, 0
	for _, file := range docFiles(t, root) {
		text, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		rel, _ := filepath.Rel(root, file)
		blocks, err := parseDoc(rel, string(text))
		if err != nil {
			t.Fatal(err)
		}
		var run []docBlock
		for _, b := range blocks {
			if b.skip != "" {
				t.Logf("%s:%d: not run: %s", b.file, b.line, b.skip)
				skipped++
				continue
			}
			run = append(run, b)
		}
		if len(run) == 0 {
			continue
		}
		ran += len(run)
		t.Run(strings.ReplaceAll(rel, "/", "_"), func(t *testing.T) { runDocBlocks(t, root, pathDir, run) })
	}
	t.Logf("%d command blocks run, %d marked not to run", ran, skipped)
	if ran == 0 {
		t.Fatal("no command block ran")
	}
}

// runDocBlocks runs the blocks of one file as one bash script.
func runDocBlocks(t *testing.T, root, pathDir string, blocks []docBlock) {
	tmp := t.TempDir()
	ports := map[string]string{}
	rewrite := func(s string) string {
		s = addrRE.ReplaceAllStringFunc(s, func(a string) string {
			if _, ok := ports[a]; !ok {
				ports[a] = freePort(t)
			}
			return ports[a]
		})
		s = strings.ReplaceAll(s, "/tmp/", tmp+"/")
		s = strings.ReplaceAll(s, "bin/swapwire", "swapwire")
		return s
	}
	var script strings.Builder
	script.WriteString("set -euo pipefail\n")
	for _, b := range blocks {
		fmt.Fprintf(&script, "echo '::doctest %s:%d' >&2\n", b.file, b.line)
		if b.setup != "" {
			script.WriteString(rewrite(b.setup) + "\n")
		}
		script.WriteString(rewrite(b.commands) + "\n")
	}
	script.WriteString("echo '::doctest done' >&2\n")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "PATH="+pathDir+string(os.PathListSeparator)+os.Getenv("PATH"), "TMPDIR="+tmp)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// Stop every process the script left running (servers started with &),
	// by its process group, which the script leads.
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	outF, _ := os.Create(filepath.Join(tmp, "doctest.out"))
	defer outF.Close()
	cmd.Stdout, cmd.Stderr = outF, outF
	err := cmd.Run()
	if cmd.Process != nil {
		stopGroup(cmd.Process.Pid)
	}
	out, _ := os.ReadFile(outF.Name())
	if err != nil {
		last := "(before the first block)"
		sc := bufio.NewScanner(strings.NewReader(string(out)))
		for sc.Scan() {
			if l := sc.Text(); strings.HasPrefix(l, "::doctest ") {
				last = strings.TrimPrefix(l, "::doctest ")
			}
		}
		t.Fatalf("the block at %s failed: %v\noutput:\n%s\nscript:\n%s", last, err, out, script.String())
	}
	if testing.Verbose() {
		t.Logf("output:\n%s", out)
	}
}

// stopGroup ends the processes of a process group the test started: SIGTERM,
// then SIGKILL if any is left after 10 seconds.
func stopGroup(pgid int) {
	if syscall.Kill(-pgid, syscall.SIGTERM) != nil {
		return // none left
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
		if syscall.Kill(-pgid, 0) != nil {
			return
		}
		time.Sleep(50 * time.Millisecond) // another process's exit: no signal to wait on
	}
	syscall.Kill(-pgid, syscall.SIGKILL)
}
