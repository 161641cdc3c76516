// The state of anything fetched: views render loading, empty, error (with retry) and data from it.

export type Loadable<T> =
  | { status: 'idle'; data?: undefined; error?: undefined }
  | { status: 'loading'; data?: T; error?: undefined }
  | { status: 'ready'; data: T; error?: undefined }
  | { status: 'error'; data?: T; error: unknown };

export const idle = <T>(): Loadable<T> => ({ status: 'idle' });
