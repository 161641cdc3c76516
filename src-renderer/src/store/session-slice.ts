// Who is signed in (the session's view) and what they may do (GET /auth/me).
import type { Me } from '../api/types';
import type { SessionView } from '../api/session';
import type { Slice, StoreDeps } from './store';

export interface SessionSlice {
  session: SessionView;
  me: Me | null;
  setSession(view: SessionView): void;
  loadMe(): Promise<void>;
  /** Whether the signed-in principal holds the permission (admins hold all). */
  can(permission: string): boolean;
}

export const sessionSlice =
  ({ client, session }: StoreDeps): Slice<SessionSlice> =>
  (set, get) => ({
    session: session.view(),
    me: null,
    setSession: (view) => set(view.status === 'signed-in' ? { session: view } : { session: view, me: null }),
    async loadMe() {
      try {
        set({ me: await client.me() });
      } catch {
        set({ me: null });
      }
    },
    can(permission) {
      const me = get().me;
      return !!me && me.permissions.includes(permission);
    },
  });
