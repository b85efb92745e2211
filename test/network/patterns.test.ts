import { describe, expect, test } from 'vitest';
import {
  formatHostPattern,
  parseHostPattern,
  patternAllows,
  patternCovers,
  type HostPattern,
} from '../../src/network/host-patterns.js';
import { targetOfAuthority, targetOfUrl } from '../../src/network/target.js';

function pattern(text: string): HostPattern {
  const parsed = parseHostPattern(text);
  if ('problem' in parsed) throw new Error(`${text} ${parsed.problem}`);
  return parsed;
}

function target(authority: string) {
  const parsed = targetOfAuthority(authority);
  if ('problem' in parsed) throw new Error(`${authority}: ${parsed.problem}`);
  return parsed.target;
}

describe('parseHostPattern', () => {
  test.each([
    ['api.example.com', 'api.example.com'],
    ['API.Example.COM.', 'api.example.com'],
    ['api.example.com:8443', 'api.example.com:8443'],
    ['*.example.com', '*.example.com'],
    ['*.cdn.example:443', '*.cdn.example:443'],
    ['allowed.test', 'allowed.test'],
    ['localhost', 'localhost'],
    ['203.0.113.7', '203.0.113.7'],
    ['203.0.113.7:80', '203.0.113.7:80'],
    ['203.0.113.0/24', '203.0.113.0/24'],
    ['2001:db8::1', '2001:db8::1'],
    ['2001:DB8:0:0::1', '2001:db8::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['[2001:db8::1]:443', '[2001:db8::1]:443'],
    ['2001:db8::/32', '2001:db8::/32'],
    ['_service.example.com', '_service.example.com'],
  ])('%s → %s', (text, canonical) => {
    expect(formatHostPattern(pattern(text))).toBe(canonical);
  });

  test.each([
    ['', /empty/],
    ['http://api.example.com', /URL/],
    ['api.example.com/path', /path/],
    ['api example.com', /white space/],
    ['api.example.com:0', /port/],
    ['api.example.com:65536', /port/],
    ['api.example.com:08', /port/],
    ['api.example.com:', /port/],
    ['*', /no host name|wildcard|\*/],
    ['*.com', /top-level/],
    ['a.*.example.com', /leading/],
    ['ex*ample.com', /leading/],
    ['-bad.example.com', /invalid label/],
    ['a..b', /empty label/],
    ['bücher.example', /xn--/],
    ['1.2.3', /numeric/],
    ['0x7f.1', /numeric/],
    ['2130706433', /numeric/],
    ['10.0.0.1/33', /prefix length/],
    ['10.0.0.1/8', /bits set after its prefix .*10\.0\.0\.0\/8/],
    ['0.0.0.0/0', /net: true/],
    ['[2001:db8::1', /without/],
    ['[example.com]:80', /IPv6/],
    ['2001:db8::1:443x', /IPv6/],
    ['fe80::1%eth0', /zone/],
  ])('%s is refused', (text, problem) => {
    const parsed = parseHostPattern(text);
    expect('problem' in parsed ? parsed.problem : 'accepted').toMatch(problem);
  });
});

describe('patternAllows', () => {
  test.each([
    ['api.example.com', 'api.example.com:443', true],
    ['api.example.com', 'API.EXAMPLE.COM.:80', true],
    ['api.example.com', 'example.com:443', false],
    ['api.example.com', 'xapi.example.com:443', false],
    ['api.example.com:8443', 'api.example.com:8443', true],
    ['api.example.com:8443', 'api.example.com:443', false],
    ['*.example.com', 'a.example.com:443', true],
    ['*.example.com', 'a.b.example.com:443', true],
    ['*.example.com', 'example.com:443', false],
    ['*.example.com', 'badexample.com:443', false],
    ['203.0.113.0/24', '203.0.113.9:443', true],
    ['203.0.113.0/24', '203.0.114.9:443', false],
    ['203.0.113.7', '203.0.113.7:1', true],
    // A name is never allowed by an address pattern, nor an address by a name pattern.
    ['127.0.0.1', 'localhost:80', false],
    ['localhost', '127.0.0.1:80', false],
    // WHATWG URL reads these as IPv4 addresses, so they match (and are checked) as such.
    ['127.0.0.1', '2130706433:80', true],
    ['127.0.0.1', '0x7f.1:80', true],
    ['2001:db8::/32', '[2001:db8::5]:443', true],
    ['[2001:db8::1]:443', '[2001:DB8::1]:443', true],
    ['2001:db8::1', '[2001:db8::2]:443', false],
    ['10.0.0.0/8', '[::ffff:10.0.0.1]:80', false],
  ])('%s allows %s: %s', (p, t, expected) => {
    expect(patternAllows(pattern(p), target(t))).toBe(expected);
  });
});

describe('patternCovers', () => {
  test.each([
    ['api.example.com', 'api.example.com', true],
    ['api.example.com', 'api.example.com:443', true],
    ['api.example.com:443', 'api.example.com', false],
    ['api.example.com:443', 'api.example.com:443', true],
    ['*.example.com', 'api.example.com', true],
    ['*.example.com', '*.api.example.com', true],
    ['*.example.com', '*.example.com:443', true],
    ['*.example.com', 'example.com', false],
    ['api.example.com', '*.api.example.com', false],
    ['10.0.0.0/8', '10.1.0.0/16', true],
    ['10.0.0.0/8', '10.1.2.3', true],
    ['10.1.0.0/16', '10.0.0.0/8', false],
    ['10.0.0.0/8', '11.0.0.1', false],
    ['10.0.0.1', 'example.com', false],
    ['2001:db8::/32', '2001:db8:1::/48', true],
    ['2001:db8::/32', '10.0.0.1', false],
  ])('%s covers %s: %s', (outer, inner, expected) => {
    expect(patternCovers(pattern(outer), pattern(inner))).toBe(expected);
  });
});

describe('targets', () => {
  test('an absolute URL gives the target and the path', () => {
    expect(targetOfUrl('http://Allowed.Test:8080/a/b?c=1')).toMatchObject({
      target: { host: 'allowed.test', port: 8080, address: undefined },
      path: '/a/b?c=1',
    });
    expect(targetOfUrl('http://allowed.test/')).toMatchObject({ target: { port: 80 } });
  });

  test.each([
    ['/relative', /absolute URLs only/],
    ['https://allowed.test/', /CONNECT/],
    ['ftp://allowed.test/', /CONNECT/],
    ['http://a..b/', /empty label/],
  ])('the URL %s is refused', (url, problem) => {
    const parsed = targetOfUrl(url);
    expect('problem' in parsed ? parsed.problem : 'accepted').toMatch(problem);
  });

  test.each(['allowed.test', 'user@allowed.test:443', 'allowed.test:443/x', 'allowed.test:99999'])(
    'the authority %s is refused',
    (authority) => {
      expect('problem' in targetOfAuthority(authority)).toBe(true);
    },
  );
});
