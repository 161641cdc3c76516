// The window's security decisions: CSP, navigation, new windows, permissions, IPC senders.
import { describe, expect, it } from 'vitest';
import {
  buildCsp,
  connectSourcesKey,
  CONSOLE_START_URL,
  decideNavigation,
  decideWindowOpen,
  isConsoleUrl,
  isExternalWebUrl,
  isPermissionAllowed,
  isTrustedSender,
} from '../../src-main/windows/security.js';

function directives(csp: string): Record<string, string[]> {
  return Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).map(([k, ...v]) => [k, v]));
}

describe('content security policy', () => {
  it('allows scripts from the bundle only, and connections to itself and the attached AMS only', () => {
    const csp = directives(buildCsp({ amsUrl: 'https://ams.example.com:8443/opmas', hostMode: false }));
    expect(csp['default-src']).toEqual(["'none'"]);
    expect(csp['script-src']).toEqual(["'self'"]);
    expect(csp['style-src']).toEqual(["'self'"]);
    expect(csp['connect-src']).toEqual(["'self'", 'https://ams.example.com:8443', 'wss://ams.example.com:8443']);
    for (const d of ['object-src', 'frame-src', 'base-uri', 'form-action', 'frame-ancestors']) expect(csp[d], d).toEqual(["'none'"]);
    const all = Object.values(csp).flat();
    expect(all).not.toContain("'unsafe-inline'");
    expect(all).not.toContain("'unsafe-eval'");
    expect(all).not.toContain('*');
  });

  it('uses ws:// for a plain-http AMS, loopback for host mode, and nothing extra before a connection exists', () => {
    expect(directives(buildCsp({ amsUrl: 'http://10.0.0.5:8470', hostMode: false }))['connect-src']).toEqual(["'self'", 'http://10.0.0.5:8470', 'ws://10.0.0.5:8470']);
    expect(directives(buildCsp({ amsUrl: 'http://127.0.0.1:41234', hostMode: true }))['connect-src']).toEqual(["'self'", 'http://127.0.0.1:*', 'ws://127.0.0.1:*']);
    expect(directives(buildCsp({ amsUrl: null, hostMode: false }))['connect-src']).toEqual(["'self'"]);
    // An attach profile of several URLs: the page may reach each (its stream follows a failover), each once.
    expect(directives(buildCsp({ amsUrl: 'https://b.example', amsUrls: ['https://a.example:8443/opmas', 'https://b.example', 'http://10.0.0.7:8470'], hostMode: false }))['connect-src']).toEqual([
      "'self'",
      'https://b.example',
      'wss://b.example',
      'https://a.example:8443',
      'wss://a.example:8443',
      'http://10.0.0.7:8470',
      'ws://10.0.0.7:8470',
    ]);
  });
});

describe('loading the page again for another AMS', () => {
  it('keeps the page across a failover within a profile, and loads it again when another AMS becomes the active one', () => {
    const urls = ['https://a.example', 'https://b.example'];
    const onA = connectSourcesKey({ amsUrl: 'https://a.example', amsUrls: urls, hostMode: false });
    expect(connectSourcesKey({ amsUrl: 'https://b.example', amsUrls: urls, hostMode: false })).toBe(onA);
    expect(connectSourcesKey({ amsUrl: 'https://c.example', amsUrls: ['https://c.example'], hostMode: false })).not.toBe(onA);
    expect(connectSourcesKey({ amsUrl: 'http://127.0.0.1:4000', hostMode: true })).not.toBe(onA);
    // Host mode's port moves across restarts; its policy does not.
    expect(connectSourcesKey({ amsUrl: 'http://127.0.0.1:4000', hostMode: true })).toBe(connectSourcesKey({ amsUrl: 'http://127.0.0.1:5000', hostMode: true }));
    // No AMS yet (first run) to the first one: loaded again.
    expect(connectSourcesKey({ amsUrl: null, hostMode: false })).not.toBe(onA);
  });
});

describe('navigation and new windows', () => {
  it('keeps the window on the console', () => {
    expect(isConsoleUrl(CONSOLE_START_URL)).toBe(true);
    expect(decideNavigation('opmas://console/agents/security-1')).toEqual({ action: 'allow' });
    for (const url of ['https://evil.example/', 'http://127.0.0.1:8470/', 'file:///etc/passwd', 'opmas://other/', 'opmas://user:pw@console/', 'javascript:alert(1)', 'not a url']) {
      expect(decideNavigation(url), url).toEqual({ action: 'deny' });
    }
  });

  it('never opens an Electron window; sends http(s) links the user opens to the system browser', () => {
    expect(decideWindowOpen({ url: 'https://docs.opmas.example/agents', disposition: 'foreground-tab' })).toEqual({ action: 'deny', openExternal: 'https://docs.opmas.example/agents' });
    expect(decideWindowOpen({ url: 'http://intranet.example/', disposition: 'background-tab' }).openExternal).toBe('http://intranet.example/');
    for (const url of ['file:///etc/passwd', 'smb://host/share', 'javascript:alert(1)', 'ms-settings:', 'https://user:pw@example.com/', 'opmas://console/']) {
      expect(decideWindowOpen({ url, disposition: 'foreground-tab' }), url).toEqual({ action: 'deny', openExternal: null });
    }
    expect(decideWindowOpen({ url: 'https://example.com/', disposition: 'other' }).openExternal).toBeNull();
    expect(isExternalWebUrl('https://example.com/a?b#c')).toBe(true);
  });
});

describe('permissions', () => {
  it('grants notifications to the console only and nothing else to anyone', () => {
    expect(isPermissionAllowed('notifications', 'opmas://console')).toBe(true);
    expect(isPermissionAllowed('notifications', 'opmas://console/')).toBe(true);
    expect(isPermissionAllowed('notifications', 'https://ams.example.com')).toBe(false);
    for (const p of ['media', 'geolocation', 'clipboard-read', 'openExternal', 'fullscreen', 'midiSysex', 'unknown']) {
      expect(isPermissionAllowed(p, 'opmas://console'), p).toBe(false);
    }
  });
});

describe('IPC sender validation', () => {
  const top = { url: 'opmas://console/agents', parent: null };
  it('accepts the main window top frame on the console and nothing else', () => {
    expect(isTrustedSender({ sender: { id: 7 }, senderFrame: top }, 7)).toBe(true);
    expect(isTrustedSender({ sender: { id: 8 }, senderFrame: top }, 7)).toBe(false);
    expect(isTrustedSender({ sender: { id: 7 }, senderFrame: { url: 'opmas://console/x', parent: top } }, 7)).toBe(false);
    expect(isTrustedSender({ sender: { id: 7 }, senderFrame: { url: 'https://ams.example.com/', parent: null } }, 7)).toBe(false);
    expect(isTrustedSender({ sender: { id: 7 }, senderFrame: null }, 7)).toBe(false);
    expect(isTrustedSender({ sender: { id: 7 }, senderFrame: top }, null)).toBe(false);
  });
});
