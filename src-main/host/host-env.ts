// What the bundled AMS gets from the app besides its flags: the nats-server binary the app
// carries for this platform, when there is one (else the AMS looks on PATH, e.g. Debian's
// nats-server package).

/** electron-builder's ${os} names: resources/bin/<os>-<arch>/ in the source tree. */
export function platformDir(platform: NodeJS.Platform, arch: string): string {
  const os = platform === 'darwin' ? 'mac' : platform === 'win32' ? 'win' : platform;
  return `${os}-${arch}`;
}

export interface NatsLookup {
  packaged: boolean;
  /** process.resourcesPath in the packaged app. */
  resourcesPath: string;
  /** The source tree's resources/ folder (development). */
  sourceResources: string;
  platform: NodeJS.Platform;
  arch: string;
  exists: (file: string) => boolean;
}

/** The bundled nats-server: <resources>/bin/nats-server[.exe] when packaged, resources/bin/<os>-<arch>/ from source. */
export function bundledNatsServer(o: NatsLookup): string | null {
  const exe = o.platform === 'win32' ? 'nats-server.exe' : 'nats-server';
  const file = o.packaged ? `${o.resourcesPath}/bin/${exe}` : `${o.sourceResources}/bin/${platformDir(o.platform, o.arch)}/${exe}`;
  return o.exists(file) ? file : null;
}

/** The AMS's environment: the app's own, plus OPMAS_NATS_SERVER_BIN for a bundled binary unless the user set one. */
export function hostAmsEnvironment(base: Record<string, string | undefined>, natsServer: string | null): Record<string, string | undefined> {
  const env = { ...base };
  if (natsServer && !env.OPMAS_NATS_SERVER_BIN) env.OPMAS_NATS_SERVER_BIN = natsServer;
  // Electron-only switches must not leak into the AMS's Node runtime.
  delete env.ELECTRON_RUN_AS_NODE;
  delete env.NODE_OPTIONS;
  return env;
}
