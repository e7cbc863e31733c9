import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ConfigError, parseConfig } from '../src/service/config.ts';

describe('parseConfig', () => {
  test('uses the documented defaults for an empty environment', () => {
    const config = parseConfig({}, { hostname: 'host-1', packageVersion: '1.2.3' });
    assert.deepEqual(config, {
      port: 5000,
      host: '0.0.0.0',
      dataDir: './data',
      timeZone: 'Europe/Moscow',
      podName: 'host-1',
      version: '1.2.3',
      shutdownDrainMs: 3000,
      shutdownTimeoutMs: 10000,
      logLevel: 'info',
    });
  });

  test('reads every variable', () => {
    const config = parseConfig({
      PORT: '8080',
      HOST: '127.0.0.1',
      DATA_DIR: '/var/data',
      TIME_ZONE: 'UTC',
      POD_NAME: 'rollcall-2',
      APP_VERSION: 'v2',
      SHUTDOWN_DRAIN_MS: '0',
      SHUTDOWN_TIMEOUT_MS: '500',
      LOG_LEVEL: 'debug',
    });
    assert.equal(config.port, 8080);
    assert.equal(config.host, '127.0.0.1');
    assert.equal(config.dataDir, '/var/data');
    assert.equal(config.timeZone, 'UTC');
    assert.equal(config.podName, 'rollcall-2');
    assert.equal(config.version, 'v2');
    assert.equal(config.shutdownDrainMs, 0);
    assert.equal(config.shutdownTimeoutMs, 500);
    assert.equal(config.logLevel, 'debug');
  });

  test('treats empty strings as unset', () => {
    const config = parseConfig({ PORT: '', TIME_ZONE: '', POD_NAME: '' }, { hostname: 'h' });
    assert.equal(config.port, 5000);
    assert.equal(config.timeZone, 'Europe/Moscow');
    assert.equal(config.podName, 'h');
  });

  test('names every bad variable with the form it accepts', () => {
    assert.throws(
      () => parseConfig({ PORT: 'http', TIME_ZONE: 'Mars/Olympus', LOG_LEVEL: 'loud', SHUTDOWN_DRAIN_MS: '-1' }),
      (error: unknown) => {
        assert.ok(error instanceof ConfigError);
        assert.deepEqual(error.problems.map((p) => p.variable).sort(), ['LOG_LEVEL', 'PORT', 'SHUTDOWN_DRAIN_MS', 'TIME_ZONE']);
        assert.match(error.message, /PORT: .*expected a TCP port, 0-65535/);
        assert.match(error.message, /TIME_ZONE: not a known IANA time zone/);
        return true;
      },
    );
  });

  test('refuses a port out of range and a fractional port', () => {
    assert.throws(() => parseConfig({ PORT: '70000' }), /PORT/);
    assert.throws(() => parseConfig({ PORT: '80.5' }), /PORT/);
  });

  for (const value of [' ', '0x1f90', '1e4', '18090.0', '+80', '-0', ' 80', '80 ', '８０']) {
    test(`PORT=${JSON.stringify(value)} is refused: only plain decimal digits`, () => {
      assert.throws(() => parseConfig({ PORT: value }), (error: unknown) => error instanceof ConfigError && error.problems[0]?.variable === 'PORT');
    });
  }

  test('SHUTDOWN_DRAIN_MS=" " is refused, not read as 0', () => {
    assert.throws(() => parseConfig({ SHUTDOWN_DRAIN_MS: ' ' }), /SHUTDOWN_DRAIN_MS: not a plain decimal integer/);
  });

  test('HOST must be an IP address or a host name', () => {
    for (const host of ['0.0.0.0', '::', '127.0.0.1', '::1', 'localhost', 'rollcall-0.rollcall.default.svc']) assert.equal(parseConfig({ HOST: host }).host, host);
    for (const host of ['a b', 'x@y', '[::1', 'host:80', '-bad', 'bad-.x', 'a..b', ' ']) {
      assert.throws(() => parseConfig({ HOST: host }), /HOST: not an IP address or a host name/, host);
    }
  });
});
