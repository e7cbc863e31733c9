// Tests of src/hooks/k8s-names.ts: a name goes into an API path only if Kubernetes would accept it for that object
// (apimachinery IsDNS1123Subdomain / IsDNS1123Label, client-go IsValidPathSegmentName), case by case.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkName, invalidNameReason } from '../src/hooks/k8s-names.ts';

test('pod and StatefulSet names: RFC 1123 subdomains', () => {
  const cases: [unknown, RegExp | undefined][] = [
    ['rollcall-0', undefined],
    ['a', undefined],
    ['web.v2-1', undefined],
    ['x'.repeat(253), undefined],
    ['', /is empty/],
    ['.', /may not be '\.'/],
    ['..', /may not be '\.\.'/],
    ['a/b', /may not contain '\/' or '%'/],
    ['a%2Fb', /may not contain/],
    ['Rollcall-0', /RFC 1123 subdomain/],
    ['-rollcall', /RFC 1123 subdomain/],
    ['rollcall-', /RFC 1123 subdomain/],
    ['a..b', /RFC 1123 subdomain/],
    ['a_b', /RFC 1123 subdomain/],
    ['x'.repeat(254), /longer than 253/],
    [undefined, /not a string/],
    [7, /not a string/],
  ];
  for (const [name, want] of cases) {
    const got = invalidNameReason(name, 'subdomain');
    if (want === undefined) assert.equal(got, undefined, JSON.stringify(name));
    else assert.match(got ?? '', want, JSON.stringify(name));
  }
});

test('namespaces: RFC 1123 labels (no dots, at most 63)', () => {
  assert.equal(invalidNameReason('rollcall-recreate', 'label'), undefined);
  assert.match(invalidNameReason('a.b', 'label') ?? '', /RFC 1123 label/);
  assert.match(invalidNameReason('x'.repeat(64), 'label') ?? '', /longer than 63/);
  assert.equal(invalidNameReason('x'.repeat(63), 'label'), undefined);
});

test('checkName returns a valid name and throws a sentence naming the setting otherwise', () => {
  assert.equal(checkName('rollcall', 'subdomain', 'RECREATE_STATEFULSET'), 'rollcall');
  assert.throws(() => checkName('..', 'label', 'RECREATE_NAMESPACE'), /^Error: RECREATE_NAMESPACE "\.\." may not be '\.\.'; refusing to use it in an API path$/);
});
