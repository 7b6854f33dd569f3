package schema

// The metadata keys under which typed endpoints publish their schemas, the
// values of binding.RequestSchemaKey and binding.ResponseSchemaKey (a test
// keeps them equal). Readers of INFO use these, so that a program that
// documents services, such as the micro CLI, need not link the validator
// and the schema reflector that binding brings.
const (
	RequestKey  = "natsmux.request_schema"
	ResponseKey = "natsmux.response_schema"
)
