// The console's one store, built from typed slices (zustand). Views select what they need;
// live charts subscribe to it directly and bypass React.
import { createStore, type StateCreator, type StoreApi } from 'zustand/vanilla';
import type { AmsClient } from '../api/client';
import type { ConsoleSession } from '../api/session';
import type { OpmasApi } from '../desktop-bridge';
import { type SessionSlice, sessionSlice } from './session-slice';
import { type ConnectionSlice, connectionSlice } from './connection-slice';
import { type FleetSlice, fleetSlice } from './fleet-slice';
import { type SamplesSlice, samplesSlice } from './samples-slice';
import { type AlertsSlice, alertsSlice } from './alerts-slice';
import { type PackagesSlice, packagesSlice } from './packages-slice';
import { type AgentViewSlice, agentViewSlice } from './agent-view-slice';
import { type UiSlice, uiSlice } from './ui-slice';
import { type AuditSlice, auditSlice } from './audit-slice';

export interface StoreDeps {
  client: AmsClient;
  session: ConsoleSession;
  bridge?: OpmasApi;
  now?: () => number;
  storage?: Pick<Storage, 'getItem' | 'setItem'> | null;
  /** Timers (injectable for tests): the link's grace period, debounced reloads. */
  schedule?: (fn: () => void, ms: number) => unknown;
  cancel?: (timer: unknown) => void;
}

export type ConsoleState = SessionSlice & ConnectionSlice & FleetSlice & SamplesSlice & AlertsSlice & PackagesSlice & AgentViewSlice & UiSlice & AuditSlice;
export type ConsoleStore = StoreApi<ConsoleState>;
export type Slice<T> = StateCreator<ConsoleState, [], [], T>;

export function createConsoleStore(deps: StoreDeps): ConsoleStore {
  return createStore<ConsoleState>()((...a) => ({
    ...sessionSlice(deps)(...a),
    ...connectionSlice(deps)(...a),
    ...fleetSlice(deps)(...a),
    ...samplesSlice()(...a),
    ...alertsSlice(deps)(...a),
    ...packagesSlice(deps)(...a),
    ...agentViewSlice()(...a),
    ...uiSlice(deps)(...a),
    ...auditSlice(deps)(...a),
  }));
}
