package codec

import (
	"context"

	commonpb "go.temporal.io/api/common/v1"
	"go.temporal.io/sdk/converter"
	"go.temporal.io/sdk/temporal"
)

// DataConverter is the SDK's default data converter with c applied to every
// payload (converter.NewCodecDataConverter). Inside workflow code a payload
// that cannot be decrypted panics instead of returning an error: workflow
// code would take the error for an activity's or a child's failure and might
// end the workflow, while a panic fails only the workflow task, which
// Temporal retries (the worker's default panic policy blocks the workflow)
// until the key is listed again.
func DataConverter(c *Codec) converter.DataConverter {
	return contextAware{converter.NewCodecDataConverter(converter.GetDefaultDataConverter(), c)}
}

// FailureConverter is the SDK's default failure converter with each
// failure's message and stack trace moved into an encoded (so encrypted)
// payload when c encrypts: an error quoting an order leaks nothing into the
// history. Failures written unencoded still read as they were.
func FailureConverter(c *Codec, dc converter.DataConverter) converter.FailureConverter {
	return temporal.NewDefaultFailureConverter(temporal.DefaultFailureConverterOptions{
		DataConverter:          dc,
		EncodeCommonAttributes: c.Encrypts(),
	})
}

// contextAware hands workflow code the panicking converter and everything
// else (clients, activities) the plain one.
type contextAware struct{ converter.DataConverter }

func (c contextAware) WithWorkflowContext(converter.WorkflowContext) converter.DataConverter {
	return panicOnDecodeError{c.DataConverter}
}

func (c contextAware) WithContext(context.Context) converter.DataConverter {
	return c.DataConverter
}

type panicOnDecodeError struct{ converter.DataConverter }

func (p panicOnDecodeError) FromPayload(payload *commonpb.Payload, valuePtr any) error {
	return mustDecode(p.DataConverter.FromPayload(payload, valuePtr))
}

func (p panicOnDecodeError) FromPayloads(payloads *commonpb.Payloads, valuePtrs ...any) error {
	return mustDecode(p.DataConverter.FromPayloads(payloads, valuePtrs...))
}

func mustDecode(err error) error {
	if IsDecodeError(err) {
		panic(err)
	}
	return err
}

var _ converter.ContextAware = contextAware{}
