import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Hono } from 'hono';
import { SECURITY_HEADERS, securityHeaders } from '../src/service/security-headers.ts';

describe('SECURITY_HEADERS', () => {
  // SECURITY_HEADERS is collected without a web Request or Response (they would load undici at start-up); this is
  // the check that the stand-in context gets exactly what the middleware gives a real response.
  test('equals the headers the middleware sets on a real Hono response', async () => {
    const app = new Hono();
    app.use(securityHeaders());
    app.get('/', (c) => c.body(null, 204));
    const response = await app.request('/');
    assert.deepEqual(SECURITY_HEADERS, Object.fromEntries(response.headers.entries()));
    assert.match(SECURITY_HEADERS['content-security-policy'] ?? '', /frame-ancestors 'none'/);
    assert.equal(SECURITY_HEADERS['x-frame-options'], undefined);
    assert.ok(Object.isFrozen(SECURITY_HEADERS));
  });
});
