import { describe, expect, it } from 'vitest';
import { canonicalJson, signTaskRequest, verifyTaskRequest, type TaskRequest } from '../../src/index.js';

const ID = '6f1c2a4e-2b7d-4c1a-9e3f-0a1b2c3d4e5f';
const REQUEST: TaskRequest = {
  executor: 'local',
  payload: { type: 'shell_command', command: 'make', args: [], env: { B: '2', A: '1' } },
  labels: [],
  retries: 0,
  createdAt: 1_700_000_000_000,
};

describe('task signing', () => {
  it('serializes with keys sorted at every depth and undefined members dropped', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, 'x'], c: undefined, b: null } })).toBe(
      '{"a":{"b":null,"d":[1,"x"]},"b":1}',
    );
  });

  it('verifies its own signature whatever the key order, and ignores the signature field itself', () => {
    const signature = signTaskRequest('k'.repeat(32), ID, REQUEST);
    const reversed = Object.fromEntries(Object.entries({ ...REQUEST, signature }).reverse());
    const reordered = JSON.parse(JSON.stringify(reversed)) as TaskRequest;
    expect(verifyTaskRequest('k'.repeat(32), ID, reordered, reordered.signature)).toBe(true);
  });

  it('refuses another key, another id, an altered request, a missing or malformed signature', () => {
    const key = 'k'.repeat(32);
    const signature = signTaskRequest(key, ID, REQUEST);
    expect(verifyTaskRequest('x'.repeat(32), ID, REQUEST, signature)).toBe(false);
    expect(verifyTaskRequest(key, ID.replace('6f', '7f'), REQUEST, signature)).toBe(false);
    expect(
      verifyTaskRequest(
        key,
        ID,
        { ...REQUEST, payload: { ...REQUEST.payload, command: 'rm -rf /' } as TaskRequest['payload'] },
        signature,
      ),
    ).toBe(false);
    expect(verifyTaskRequest(key, ID, REQUEST, undefined)).toBe(false);
    expect(verifyTaskRequest(key, ID, REQUEST, 'not-hex')).toBe(false);
  });
});
