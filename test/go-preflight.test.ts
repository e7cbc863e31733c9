// The pre-flight of a build from cluster/go.mod (cluster/preflight.ts): what `go mod download -json` prints when
// the proxy does not serve a module, read into a list naming each module@version. The samples are go 1.26's output
// for a module the proxy refuses (403 "not available") and for a failure while loading the module graph.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFailures, moduleFailures, parseJsonStream } from '../cluster/preflight.ts';

const stdout = `{
	"Path": "k8s.io/sample-controller",
	"Version": "v0.37.2",
	"Error": "k8s.io/sample-controller@v0.37.2: reading https://proxy.golang.org/k8s.io/sample-controller/@v/v0.37.2.info: 403 Forbidden\\n\\tserver response: This module version is not available."
}
{
	"Path": "github.com/google/uuid",
	"Version": "v1.6.0",
	"Info": "/root/go/pkg/mod/cache/download/github.com/google/uuid/@v/v1.6.0.info",
	"Sum": "h1:NIvaJDMOsjHA8n1jAhLSgzrAzy1Hgr+hNrb57e+94F0=",
	"Note": "braces } { and \\" inside strings"
}
{
	"Path": "github.com/nonexistent/zz",
	"Version": "v1.0.0",
	"Error": "github.com/nonexistent/zz@v1.0.0: reading https://proxy.golang.org/github.com/nonexistent/zz/@v/v1.0.0.info: 404 Not Found"
}
`;

describe('go mod download -json output', () => {
  test('concatenated objects are read one by one, braces inside strings ignored', () => {
    const values = parseJsonStream(stdout) as { Path: string }[];
    assert.deepEqual(values.map((v) => v.Path), ['k8s.io/sample-controller', 'github.com/google/uuid', 'github.com/nonexistent/zz']);
  });

  test('truncated output is an error', () => {
    assert.throws(() => parseJsonStream('{"Path": "a"}\n{"Path": '), /truncated/);
  });

  test('every module with an Error is named by module@version with the proxy answer', () => {
    const failures = moduleFailures(stdout, '');
    assert.deepEqual(failures.map((f) => `${f.module}@${f.version}`), ['k8s.io/sample-controller@v0.37.2', 'github.com/nonexistent/zz@v1.0.0']);
    assert.match(failures[0]!.error, /403 Forbidden/);
    const text = describeFailures(failures);
    assert.match(text, /does not serve 2 module\(s\)/);
    assert.match(text, /\n {2}k8s\.io\/sample-controller@v0\.37\.2: .*403 Forbidden/);
  });

  test('a failure while loading the module graph (stderr only, no JSON) is named too', () => {
    const stderr = 'go: github.com/nonexistent/zz@v1.0.0: reading https://proxy.golang.org/github.com/nonexistent/zz/@v/v1.0.0.mod: 403 Forbidden\n\tserver response: This module version is not available.\n';
    assert.deepEqual(moduleFailures('', stderr), [
      { module: 'github.com/nonexistent/zz', version: 'v1.0.0', error: 'reading https://proxy.golang.org/github.com/nonexistent/zz/@v/v1.0.0.mod: 403 Forbidden' },
    ]);
  });

  test('a module named on stdout and stderr alike is listed once; a clean download lists none', () => {
    const stderr = 'go: k8s.io/sample-controller@v0.37.2: reading https://proxy.golang.org/x: 403 Forbidden\n';
    assert.equal(moduleFailures(stdout, stderr).length, 2);
    assert.deepEqual(moduleFailures('{"Path": "a", "Version": "v1.0.0", "Sum": "h1:x"}', ''), []);
  });
});
