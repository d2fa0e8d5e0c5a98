package push

import (
	"encoding/json"
	"fmt"
	"testing"
)

func TestLooseValuesReadEveryWayAFieldIsWritten(t *testing.T) {
	var v struct {
		S []LooseString `json:"s"`
		I []LooseInt    `json:"i"`
		B []LooseBool   `json:"b"`
	}
	body := `{"s":["a",19041424751540,null," b "],"i":[18,"18","",null],"b":[0,1,"0","1",true,false,"true","",null]}`
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(v.S) != "[a 19041424751540  b]" || fmt.Sprint(v.I) != "[18 18 0 0]" ||
		fmt.Sprint(v.B) != "[false true false true true false true false false]" {
		t.Errorf("read %v %v %v", v.S, v.I, v.B)
	}
	for _, bad := range []string{`{"s":[{}]}`, `{"i":["eighteen"]}`, `{"i":[1.5]}`, `{"b":["yes"]}`, `{"b":[2]}`, `{"s":[[1]]}`} {
		if err := json.Unmarshal([]byte(bad), &v); err == nil {
			t.Errorf("%s was accepted", bad)
		}
	}
}
