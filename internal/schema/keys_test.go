package schema_test

import (
	"testing"

	"github.com/natsmux/natsmux/binding"
	"github.com/natsmux/natsmux/internal/schema"
)

func TestKeysMatchBinding(t *testing.T) {
	if schema.RequestKey != binding.RequestSchemaKey || schema.ResponseKey != binding.ResponseSchemaKey {
		t.Errorf("keys %q and %q, binding publishes under %q and %q",
			schema.RequestKey, schema.ResponseKey, binding.RequestSchemaKey, binding.ResponseSchemaKey)
	}
}
