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
		// What an earlier run (go test -count) cached of these types.
		for _, t := range []reflect.Type{reflect.TypeFor[*cachedTree](), reflect.TypeFor[cachedTree](), reflect.TypeFor[cachedLeaf]()} {
			c.Delete(t)
		}
		before[i] = count(c)
	}
	accept := func(context.Context, *cachedTree) (*struct{}, error) { return nil, nil }
	// The fast path's plan and the measure's of the validator's path.
	handlers := []natsmux.Handler{JSON(accept), JSON(accept, WithValidator(NewValidator()))}
	payload := []byte(`{"leaves":[{"values":[1,2]},{"values":[3]}],"next":{"next":{"leaves":[{"values":[]}]}}}`)
	for range 1000 {
		for _, h := range handlers {
			if _, err := h.ServeNATS(context.Background(), natsmux.NewRequest("cached", payload)); err != nil {
				t.Fatal(err)
			}
		}
	}
	// inputs: *cachedTree, with its fast plan; plans: cachedTree and
	// cachedLeaf; unbounds: the struct types asked about as a whole,
	// cachedTree and (by the fast plan, as an element) cachedLeaf.
	for i, want := range []int{1, 2, 2} {
		if got := count(caches[i]) - before[i]; got != want {
			t.Errorf("cache %d grew by %d entries, want %d", i, got, want)
		}
	}
	if in, ok := inputs.Load(reflect.TypeFor[*cachedTree]()); !ok || in.(*input).fast == nil {
		t.Error("the input type is not cached with its fast plan")
	}
}

type schemaFirst struct {
	Name string `json:"name" validate:"required"`
}

// TestSchemaMetadataCompilesTheInput: a hand-written handler's input type
// is compiled with its schema, so that the first Decode finds it ready.
func TestSchemaMetadataCompilesTheInput(t *testing.T) {
	SchemaMetadata[schemaFirst, struct{}]()
	if in, ok := inputs.Load(reflect.TypeFor[*schemaFirst]()); !ok || in.(*input).fast == nil {
		t.Error("SchemaMetadata left the input type to the first Decode")
	}
}
