package token

import (
	"bytes"
	"encoding/json"
)

// payloadFields is Payload without its methods, so that MarshalJSON can
// encode the fields with encoding/json without calling itself.
type payloadFields Payload

// MarshalJSON writes the payload's claims and then its Extra claims, in one
// object. The caller keeps Extra's names apart from the fields' names, so
// no name is written twice.
func (p *Payload) MarshalJSON() ([]byte, error) {
	base, err := json.Marshal((*payloadFields)(p))
	if err != nil || len(p.Extra) == 0 {
		return base, err
	}
	extra, err := json.Marshal(p.Extra)
	if err != nil {
		return nil, err
	}
	// base and extra are both JSON objects: join their members.
	out := bytes.TrimSuffix(base, []byte("}"))
	if len(out) > 1 {
		out = append(out, ',')
	}
	return append(out, extra[1:]...), nil
}
