// What the Hosts views share: the hosts loaded once and kept live (events change a row's state at
// once; "last seen" moves with every lease renewal, which is no event, so a quiet reload runs while
// a Hosts view is open), and each host's agents counted from the live fleet.
import { useEffect, useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { useConsoleStore } from '../../store/context';
import { countsByHost } from './host-model';

/** How often an open Hosts view reloads the hosts quietly. */
export const HOSTS_REFRESH_MS = 5_000;

export function useHosts() {
  const { hosts, loadHosts } = useConsoleStore(useShallow((s) => ({ hosts: s.hosts, loadHosts: s.loadHosts })));
  useEffect(() => {
    if (hosts.status === 'idle') void loadHosts();
    const timer = setInterval(() => void loadHosts({ quiet: true }), HOSTS_REFRESH_MS);
    return () => clearInterval(timer);
  }, []);
  return { hosts, loadHosts };
}

/** Agents per host from the fleet once it is loaded (null before: the host rows' own counts are used). */
export function useCountsByHost() {
  const { agents, revision, ready } = useConsoleStore(useShallow((s) => ({ agents: s.fleet.agents, revision: s.fleet.revision, ready: s.fleet.status === 'ready' })));
  return useMemo(() => (ready ? countsByHost(agents.values()) : null), [agents, revision, ready]);
}
