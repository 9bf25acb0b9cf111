package deploy

import _ "embed"

// OpenAPI is the OpenAPI 3 description of Aftershock's HTTP API.
//
//go:embed openapi.yaml
var OpenAPI []byte
