// Package schemas embeds the board JSON Schema, so the dtheap binary validates with exactly the
// schema that editors use through yaml-language-server.
package schemas

import _ "embed"

// Board is the JSON Schema (draft-07) of a board file.
//
//go:embed board.schema.json
var Board []byte

// BoardURL is the schema's $id.
const BoardURL = "https://dtheap.dev/schemas/board.schema.json"
