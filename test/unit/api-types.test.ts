// The renderer's API types are generated from the AMS's zod schemas (through the OpenAPI
// document); this fails when a schema changed and the generated file was not refreshed.
import fs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GENERATED_TYPES, generateApiTypes } from '../../scripts/gen-api-types';

describe('generated API types', () => {
  it('match the current schemas (else run: npx tsx scripts/gen-api-types.ts)', async () => {
    const fresh = await generateApiTypes();
    expect(fs.readFileSync(GENERATED_TYPES, 'utf8') === fresh, 'src-renderer/src/api/openapi.gen.ts is stale: run npx tsx scripts/gen-api-types.ts').toBe(true);
  });
});
