package binding

import (
	"context"
	"reflect"
	"sync"
	"testing"

	"github.com/natsmux/natsmux"
)

type cachedLeaf struct {
	Values []int `json:"values" validate:"dive,gte=0"`
}

type cachedTree struct {
	Leaves []cachedLeaf `json:"leaves" validate:"dive"`
	Next   *cachedTree  `json:"next"`
}

// TestTypeCachesAreBounded: the caches of what binding learns about types
// hold an entry per type, however many requests are served.
func TestTypeCachesAreBounded(t *testing.T) {
	count := func(m *sync.Map) (n int) {
		m.Range(func(any, any) bool { n++; return true })
		return n
	}
	caches := []*sync.Map{&inputs, &plans, &unbounds}
	before := make([]int, len(caches))
	for i, c := range caches {
		before[i] = count(c)
	}
	h := JSON(func(context.Context, *cachedTree) (*struct{}, error) { return nil, nil })
	payload := []byte(`{"leaves":[{"values":[1,2]},{"values":[3]}],"next":{"next":{"leaves":[{"values":[]}]}}}`)
	for range 1000 {
		if _, err := h.ServeNATS(context.Background(), natsmux.NewRequest("cached", payload)); err != nil {
			t.Fatal(err)
		}
	}
	// inputs: *cachedTree; plans: cachedTree and cachedLeaf; unbounds:
	// cachedTree, the one struct type asked about as a whole.
	for i, want := range []int{1, 2, 1} {
		if got := count(caches[i]) - before[i]; got != want {
			t.Errorf("cache %d grew by %d entries, want %d", i, got, want)
		}
	}
	if _, ok := inputs.Load(reflect.TypeFor[*cachedTree]()); !ok {
		t.Error("the input type is not cached")
	}
}
