// The connection limit derived from the memory limit: where the limit comes from and what it gives.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cgroupMemoryLimit, connectionLimitFor, DEFAULT_MEMORY_LIMIT_BYTES, memoryLimit, MIN_CONNECTIONS } from '../src/service/connection-limit.ts';

const MIB = 1024 * 1024;

describe('connectionLimitFor', () => {
  test("the StatefulSet's 256 MiB gives 3072 connections: (256 - 160) MiB / 32 KiB", () => {
    assert.equal(connectionLimitFor(256 * MIB), 3072);
  });
  test('more memory, more connections; never below the minimum', () => {
    assert.equal(connectionLimitFor(512 * MIB), 11264);
    assert.equal(connectionLimitFor(128 * MIB), MIN_CONNECTIONS);
  });
});

describe('memoryLimit', () => {
  test('MEMORY_LIMIT_BYTES first, then the cgroup, then 256 MiB', () => {
    assert.deepEqual(memoryLimit(300 * MIB, 200 * MIB), { bytes: 300 * MIB, source: 'MEMORY_LIMIT_BYTES' });
    assert.deepEqual(memoryLimit(undefined, 200 * MIB), { bytes: 200 * MIB, source: 'cgroup' });
    assert.deepEqual(memoryLimit(undefined, undefined), { bytes: DEFAULT_MEMORY_LIMIT_BYTES, source: 'default' });
  });
});

describe('cgroupMemoryLimit', () => {
  const files = (entries: Record<string, string>) => (file: string) => {
    if (file in entries) return entries[file]!;
    throw Object.assign(new Error(`ENOENT: ${file}`), { code: 'ENOENT' });
  };
  test('cgroup v2: memory.max of our own cgroup', () => {
    assert.equal(cgroupMemoryLimit(files({ '/proc/self/cgroup': '0::/kubepods/pod1/c1\n', '/sys/fs/cgroup/kubepods/pod1/c1/memory.max': '268435456\n' })), 268435456);
  });
  test('cgroup v2 inside a container: the namespace root', () => {
    assert.equal(cgroupMemoryLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/memory.max': '268435456\n' })), 268435456);
  });
  test('cgroup v2 "max" is no limit', () => {
    assert.equal(cgroupMemoryLimit(files({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/memory.max': 'max\n' })), undefined);
  });
  test('cgroup v1: memory.limit_in_bytes of the memory hierarchy; its "unlimited" value is no limit', () => {
    const proc = '12:pids:/\n4:memory:/process_api/abc\n0::/\n';
    assert.equal(cgroupMemoryLimit(files({ '/proc/self/cgroup': proc, '/sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes': '268435456' })), 268435456);
    assert.equal(cgroupMemoryLimit(files({ '/proc/self/cgroup': proc, '/sys/fs/cgroup/memory/process_api/abc/memory.limit_in_bytes': '9223372036854771712' })), undefined);
  });
  test('nothing readable: no limit', () => {
    assert.equal(cgroupMemoryLimit(files({})), undefined);
  });
});
