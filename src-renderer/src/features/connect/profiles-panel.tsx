// Desktop connection profiles: list, switch, add (host or attach), remove. Only in the desktop
// app, through the preload bridge.
import { useState } from 'react';
import type { FormEvent } from 'react';
import type { ConnectionMode, NewProfile, OpmasApi, ProfileList } from '../../desktop-bridge';
import { parseUrlList } from './attach-state';
import { unwrapBridge } from '../../api/session';
import { useResource } from '../common/use-resource';
import { AsyncView, InlineError } from '../common/states';

export function ProfilesPanel({ bridge, activeId, firstRun }: { bridge: OpmasApi; activeId: string | null; firstRun?: boolean }) {
  const profiles = useResource<ProfileList>(() => unwrapBridge(bridge.profiles.list()), [bridge, activeId]);
  const [error, setError] = useState<unknown>(null);
  const act = async (fn: () => Promise<unknown>) => {
    setError(null);
    try {
      await fn();
      await profiles.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <section className="panel" aria-labelledby="profiles-title">
      <h2 id="profiles-title">{firstRun ? 'Choose how to connect' : 'Connection profiles'}</h2>
      {error !== null && <InlineError what="change the profiles" error={error} />}
      <AsyncView state={profiles.state} what="the profiles" retry={() => void profiles.reload()}>
        {(list) => (
          <>
            {list.profiles.length > 0 && (
              <ul className="profile-list">
                {list.profiles.map((p) => (
                  <li key={p.id} className={p.id === activeId ? 'active' : undefined}>
                    <span className="profile-title">{p.name}</span>
                    <span className="muted">{p.mode === 'host' ? 'Host mode: the AMS bundled with this app' : `Attach: ${(p.urls ?? [p.url]).join(', then ')}`}</span>
                    {p.id === activeId ? (
                      <span className="badge">Active</span>
                    ) : (
                      <button type="button" onClick={() => void act(() => unwrapBridge(bridge.profiles.switchTo(p.id)))}>
                        Switch to
                      </button>
                    )}
                    <button type="button" className="link-button" onClick={() => void act(() => unwrapBridge(bridge.profiles.remove(p.id)))}>
                      Remove
                    </button>
                  </li>
                ))}
              </ul>
            )}
            <NewProfileForm hasHost={list.profiles.some((p) => p.mode === 'host')} onCreate={(p) => act(async () => {
              const created = await unwrapBridge(bridge.profiles.create(p));
              await unwrapBridge(bridge.profiles.switchTo(created.id));
            })} />
          </>
        )}
      </AsyncView>
    </section>
  );
}

function NewProfileForm({ hasHost, onCreate }: { hasHost: boolean; onCreate(p: NewProfile): Promise<void> }) {
  const [mode, setMode] = useState<ConnectionMode>(hasHost ? 'attach' : 'host');
  const [name, setName] = useState('');
  const [text, setText] = useState('https://');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    // One URL stays `url`, as profiles always were; several become `urls`. The main process says what is wrong with them.
    const urls = parseUrlList(text);
    const where = urls.length > 1 ? { urls } : { url: urls[0] ?? text };
    void onCreate({ name: name || (mode === 'host' ? 'This computer' : (urls[0] ?? text)), mode, ...(mode === 'attach' ? where : {}) });
  };
  return (
    <form className="form" onSubmit={submit}>
      <fieldset>
        <legend>New profile</legend>
        <label className="radio">
          <input type="radio" name="mode" value="host" checked={mode === 'host'} disabled={hasHost} onChange={() => setMode('host')} />
          Host mode — run the AMS bundled with this app on this computer (offline, one machine)
        </label>
        <label className="radio">
          <input type="radio" name="mode" value="attach" checked={mode === 'attach'} onChange={() => setMode('attach')} />
          Attach mode — connect to a remote AMS and sign in
        </label>
        <label className="field">
          <span>Name</span>
          <input value={name} onChange={(e) => setName(e.target.value)} placeholder={mode === 'host' ? 'This computer' : 'Production'} />
        </label>
        {mode === 'attach' && (
          <label className="field">
            <span>AMS URLs</span>
            <textarea required rows={2} value={text} onChange={(e) => setText(e.target.value)} aria-describedby="ams-urls-hint" spellCheck={false} />
            <span className="hint" id="ams-urls-hint">
              One per line, in order: replicas of one AMS cluster. When the one in use stops answering, the console moves to the next.
            </span>
          </label>
        )}
        <button type="submit" className="primary">
          Create and connect
        </button>
      </fieldset>
    </form>
  );
}
