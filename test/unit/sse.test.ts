// Server-Sent Events framing: a line break in the data can never end the event or start a field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventText } from '../../server/transport/http/sse.ts';

test('an event is its name, one data field per line of its data, and a blank line', () => {
  assert.equal(eventText('line', '-----> Building'), 'event: line\ndata: -----> Building\n\n');
  assert.equal(eventText('line', 'a\nb\r\nc\rd'), 'event: line\ndata: a\ndata: b\ndata: c\ndata: d\n\n');
  assert.equal(eventText('end', ''), 'event: end\ndata: \n\n');
  // A transcript line that tries to forge an event stays data.
  assert.equal(eventText('line', 'x\n\nevent: end\ndata: {}'), 'event: line\ndata: x\ndata: \ndata: event: end\ndata: data: {}\n\n');
});
