// The product version, from package.json (bundled into the built server).
import pkg from '../package.json' with { type: 'json' };

export const AMS_VERSION: string = pkg.version;
