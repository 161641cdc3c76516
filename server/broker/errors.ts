// Errors of the broker layer that are not HTTP answers (those live in server/errors.ts):
// each has a stable `code` so callers and /health can report it without parsing messages.

export class BrokerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** No nats-server binary was found for host mode; the message says how to get one. */
export class NatsServerNotFound extends BrokerError {
  constructor(searched: string[]) {
    super(
      'nats_server_not_found',
      'nats-server was not found (looked in: ' +
        (searched.length > 0 ? searched.join(', ') : 'nowhere') +
        '). Install it with `sudo apt-get install nats-server` on Debian/Ubuntu, or download a release from ' +
        'https://github.com/nats-io/nats-server/releases and set OPMAS_NATS_SERVER_BIN to its path.',
    );
  }
}

/** nats-server did not start or did not become ready. */
export class NatsServerFailed extends BrokerError {
  constructor(message: string) {
    super('nats_server_failed', message);
  }
}

/** The broker settings (environment, files) are missing or inconsistent. */
export class BrokerSettingsInvalid extends BrokerError {
  constructor(message: string) {
    super('broker_settings_invalid', message);
  }
}
