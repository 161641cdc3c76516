// The desktop tests that touch the OS keychain run inside test/support/with-keyring.sh
// (a private D-Bus session with an unlocked gnome-keyring and a throwaway HOME).
import os from 'node:os';

export function assertPrivateKeyring(): string {
  const home = process.env.OPMAS_TEST_KEYRING;
  if (!home || !process.env.DBUS_SESSION_BUS_ADDRESS || os.homedir() !== home) {
    throw new Error('Run the desktop tests inside test/support/with-keyring.sh (npm test does): they need a private, unlocked OS keychain');
  }
  return home;
}
