package diag

import (
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
)

// SARIFRule describes one rule of the catalog for a SARIF log.
type SARIFRule struct {
	ID       string
	Severity Severity
	Doc      string
}

// sarifLevel maps a severity to SARIF's result levels.
func sarifLevel(s Severity) string {
	switch s {
	case Info:
		return "note"
	case Warning:
		return "warning"
	}
	return "error"
}

type sarifMessage struct {
	Text string `json:"text"`
}

type sarifRegion struct {
	StartLine   int `json:"startLine"`
	StartColumn int `json:"startColumn,omitempty"`
}

type sarifLocation struct {
	PhysicalLocation *sarifPhysical `json:"physicalLocation,omitempty"`
	LogicalLocations []sarifLogical `json:"logicalLocations,omitempty"`
	Message          *sarifMessage  `json:"message,omitempty"`
}

type sarifPhysical struct {
	ArtifactLocation struct {
		URI string `json:"uri"`
	} `json:"artifactLocation"`
	Region *sarifRegion `json:"region,omitempty"`
}

type sarifLogical struct {
	FullyQualifiedName string `json:"fullyQualifiedName"`
	Kind               string `json:"kind"`
}

func sarifLoc(p Pos) sarifLocation {
	var l sarifLocation
	if p.File != "" {
		ph := &sarifPhysical{}
		ph.ArtifactLocation.URI = filepath.ToSlash(p.File)
		if p.Line > 0 {
			ph.Region = &sarifRegion{StartLine: p.Line, StartColumn: p.Col}
		}
		l.PhysicalLocation = ph
	}
	if p.Node != "" {
		l.LogicalLocations = []sarifLogical{{FullyQualifiedName: p.Node, Kind: "element"}}
	}
	return l
}

// WriteSARIF writes the findings as a SARIF 2.1.0 log (one run, the rules of the catalog in
// the tool's driver), the format code-scanning services read. Node paths become logical
// locations, so a finding about a compiled .dtb still says where in the tree it is.
func (l List) WriteSARIF(w io.Writer, tool, version, uri string, rules []SARIFRule) error {
	type rule struct {
		ID                   string       `json:"id"`
		ShortDescription     sarifMessage `json:"shortDescription"`
		DefaultConfiguration struct {
			Level string `json:"level"`
		} `json:"defaultConfiguration"`
	}
	type result struct {
		RuleID           string          `json:"ruleId"`
		RuleIndex        int             `json:"ruleIndex"`
		Level            string          `json:"level"`
		Message          sarifMessage    `json:"message"`
		Locations        []sarifLocation `json:"locations,omitempty"`
		RelatedLocations []sarifLocation `json:"relatedLocations,omitempty"`
	}
	index := map[string]int{}
	rs := make([]rule, 0, len(rules))
	for i, r := range rules {
		x := rule{ID: r.ID, ShortDescription: sarifMessage{r.Doc}}
		x.DefaultConfiguration.Level = sarifLevel(r.Severity)
		rs = append(rs, x)
		index[r.ID] = i
	}
	results := make([]result, 0, len(l))
	for _, f := range l {
		i, ok := index[f.Rule]
		if !ok {
			i = -1
		}
		text := f.Message
		if f.Hint != "" {
			text += " (hint: " + strings.TrimSuffix(f.Hint, ":") + ")"
		}
		res := result{RuleID: f.Rule, RuleIndex: i, Level: sarifLevel(f.Severity), Message: sarifMessage{text}}
		if f.Pos.File != "" || f.Pos.Node != "" {
			res.Locations = []sarifLocation{sarifLoc(f.Pos)}
		}
		for _, r := range f.Related {
			res.RelatedLocations = append(res.RelatedLocations, sarifLoc(r))
		}
		results = append(results, res)
	}
	type driver struct {
		Name           string `json:"name"`
		Version        string `json:"version,omitempty"`
		InformationURI string `json:"informationUri,omitempty"`
		Rules          []rule `json:"rules"`
	}
	log := map[string]any{
		"$schema": "https://json.schemastore.org/sarif-2.1.0.json",
		"version": "2.1.0",
		"runs": []any{map[string]any{
			"tool":    map[string]any{"driver": driver{Name: tool, Version: version, InformationURI: uri, Rules: rs}},
			"results": results,
		}},
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(log)
}
