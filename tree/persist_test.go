package tree_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/omadm-agent/omadm-agent/tree"
	"github.com/omadm-agent/omadm-agent/tree/store"
	"github.com/omadm-agent/omadm-agent/tree/treetest"
)

func TestPersistRoundTrip(t *testing.T) {
	st := store.NewMem()
	tr, err := tree.Open(ctx, st, tree.WithClock(func() time.Time { return clock }))
	must(t, err)
	must(t, tr.Flush(ctx))
	if st.Writes != 1 {
		t.Fatalf("first Flush wrote %d times", st.Writes)
	}
	must(t, tr.Flush(ctx))
	if st.Writes != 1 {
		t.Errorf("clean Flush wrote")
	}
	m := treetest.NewMem("./P")
	m.Set("./P/K", false, "k", "", "", "")
	must(t, tr.Mount("./P", m))
	must(t, tr.Add(ctx, local, "./A/é/L", typed("bin", "\x00\x01")))
	must(t, tr.Replace(ctx, local, "./A?prop=ACL", chr("Get=s1")))
	must(t, tr.Replace(ctx, local, "./A/%C3%A9/L?prop=Title", chr("t")))
	must(t, tr.Replace(ctx, local, "./A/%C3%A9/L", typed("bin", "\x02")))
	must(t, tr.Replace(ctx, local, "./P/K?prop=ACL", chr("Get=s2")))
	must(t, tr.Flush(ctx))
	before := snap(tr)

	tr2, err := tree.Open(ctx, st)
	must(t, err)
	if got := snap(tr2); !bytes.Equal(got, before) {
		t.Errorf("reloaded snapshot differs")
	}
	must(t, tr2.Mount("./P", m))
	for uri, want := range map[string]string{
		"./A/%C3%A9/L":             "\x02",
		"./A/%C3%A9/L?prop=VerNo":  "1",
		"./A/%C3%A9/L?prop=Title":  "t",
		"./A/%C3%A9/L?prop=TStamp": "20240506T070809Z",
		"./A/%C3%A9/L?prop=Format": "bin",
		"./A?prop=ACL":             "Get=s1",
		"./P/K?prop=ACL":           "Get=s2",
	} {
		if got := getData(t, tr2, local, uri); got != want {
			t.Errorf("%s: got %q, want %q", uri, got, want)
		}
	}
	run(t, tr2, step{p: s1, op: "Get", uri: "./P/K", status: 425})
	if st.Writes != 2 {
		t.Errorf("Writes %d, want 2", st.Writes)
	}
	must(t, tr2.Flush(ctx)) // Open of an existing snapshot is clean
	if st.Writes != 2 {
		t.Errorf("Flush after Open wrote")
	}
}

func TestOpenCorrupt(t *testing.T) {
	path := filepath.Join(t.TempDir(), "tree.db")
	os.WriteFile(path, []byte("OMADMTREEjunk"), 0o600)
	if _, err := tree.Open(ctx, store.NewFile(path)); err == nil {
		t.Errorf("Open of a corrupt file succeeded")
	}
}

const crashEnv = "TREE_CRASH_HELPER_DIR"
const crashItems = 100

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

// crashChild is the child process of TestCrash (the test binary re-executed
// with crashEnv set): it commits forever, printing the counter after each
// acknowledged (flushed) commit.
func crashChild(dir string) {
	ctx := context.Background()
	tr, err := tree.Open(ctx, store.NewFile(filepath.Join(dir, "tree.db")))
	if err != nil {
		fmt.Println("open:", err)
		os.Exit(3)
	}
	k := 0
	if r, err := tr.Get(ctx, local, "./Counter"); err == nil {
		k, _ = strconv.Atoi(string(r.Items[0].Data))
	}
	out := bufio.NewWriter(os.Stdout)
	for {
		k++
		v := tree.Value{Data: []byte(strconv.Itoa(k)), Format: "int"}
		err := tr.Atomic(ctx, func(ctx context.Context, tx *tree.Txn) error {
			if err := tx.Replace(ctx, local, "./Counter", v); err != nil {
				if err := tx.Add(ctx, local, "./Counter", v); err != nil {
					return err
				}
			}
			for i := range crashItems {
				u := fmt.Sprintf("./Items/i%d", i)
				if err := tx.Replace(ctx, local, u, v); err != nil {
					if err := tx.Add(ctx, local, u, v); err != nil {
						return err
					}
				}
			}
			return nil
		})
		if err == nil {
			err = tr.Flush(ctx)
		}
		if err != nil {
			fmt.Println("commit:", err)
			os.Exit(4)
		}
		fmt.Fprintln(out, k)
		out.Flush()
	}
}

// TestCrash kills a committing child process with SIGKILL at random moments,
// 200 times, and checks after each kill that the tree loads, is one of the
// committed states (counter and every item agree) and has lost no
// acknowledged commit.
func TestCrash(t *testing.T) {
	dir := t.TempDir()
	rng := rand.New(rand.NewPCG(1, 2))
	acked := 0
	deadline := time.Now().Add(50 * time.Second)
	kills := 0
	for kills < 200 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d kills within the time budget", kills)
		}
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), crashEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		must(t, err)
		must(t, cmd.Start())
		lines := make(chan string, 1024)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				lines <- sc.Text()
			}
			close(lines)
		}()
		time.Sleep(time.Duration(5+rng.IntN(40)) * time.Millisecond)
		must(t, cmd.Process.Signal(syscall.SIGKILL))
		for l := range lines {
			n, err := strconv.Atoi(l)
			if err != nil {
				t.Fatalf("child said %q", l)
			}
			if n <= acked {
				t.Fatalf("child acknowledged %d after %d", n, acked)
			}
			acked = n
		}
		cmd.Wait()
		kills++

		tr, err := tree.Open(ctx, store.NewFile(filepath.Join(dir, "tree.db")))
		if err != nil {
			t.Fatalf("kill %d: load: %v", kills, err)
		}
		got := 0
		if r, err := tr.Get(ctx, local, "./Counter"); err == nil {
			got, _ = strconv.Atoi(string(r.Items[0].Data))
		}
		if got < acked || got > acked+1 {
			t.Fatalf("kill %d: persisted counter %d, acknowledged %d", kills, got, acked)
		}
		if got > 0 {
			r, err := tr.Get(ctx, local, "./Items?list=StructData")
			must(t, err)
			if len(r.Items) != crashItems+1 {
				t.Fatalf("kill %d: %d items, want %d", kills, len(r.Items)-1, crashItems)
			}
			for _, it := range r.Items[1:] {
				if string(it.Data) != strconv.Itoa(got) {
					t.Fatalf("kill %d: %s = %s, counter %d: not a committed state", kills, it.URI, it.Data, got)
				}
			}
		}
		acked = got
	}
	t.Logf("%d kills, final counter %d", kills, acked)
}
