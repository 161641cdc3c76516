// Which shipped PGlite templates fit this AMS: made by the PGlite that runs, from migrations that
// are a prefix of ours.
import { describe, expect, it } from 'vitest';
import { currentManifest, templateFits } from '../../server/db/pglite-template.js';

describe('the shipped PGlite template', () => {
  it('fits only the PGlite and the migrations it was made with (or fewer of ours)', () => {
    const now = currentManifest();
    expect(templateFits(now, now)).toBe(true);
    expect(templateFits({ ...now, migrations: now.migrations.slice(0, 3) }, now)).toBe(true);
    expect(templateFits({ ...now, migrations: [...now.migrations, '20991231000000_from_the_future'] }, now)).toBe(false);
    expect(templateFits({ ...now, migrations: ['20261124000001_other', ...now.migrations.slice(1)] }, now)).toBe(false);
    expect(templateFits({ ...now, pglite: '0.0.1' }, now)).toBe(false);
  });

});
