import { z } from 'zod'
import { PROVIDER_ID_PATTERN } from '../../providers/schema.js'

/** The `dexcom` config key: which provider entry to sync, how to show glucose, how often to pull. */
export const DexcomConfigSchema = z
  .object({
    /** The provider id to sync: dexcom (US), dexcom-eu, dexcom-jp, dexcom-sandbox, or a custom entry. */
    provider: z.string().regex(PROVIDER_ID_PATTERN, 'expected lower-case letters, digits and dashes').default('dexcom'),
    units: z.enum(['mg/dL', 'mmol/L']).default('mg/dL'),
    /** Target range in mg/dL whatever `units` says (Dexcom reports mg/dL). */
    lowMgdl: z.number().int().min(40).max(400).default(70),
    highMgdl: z.number().int().min(40).max(400).default(180),
    syncIntervalMs: z.number().int().min(1_000).max(86_400_000).default(5 * 60_000),
    /** How far back the first sync reaches. */
    backfillDays: z.number().int().min(1).max(365).default(90),
    /**
     * How late Dexcom's API serves readings, for what the user is told. Sources disagree (3 h in
     * Dexcom's FAQ, 1 h US / 3 h elsewhere in newer notes: dexcom-api.md §3.6): the safe reading is 3 h.
     */
    dataDelayMinutes: z.number().int().min(0).max(24 * 60).default(180),
  })
  .strict()
  .refine((d) => d.lowMgdl < d.highMgdl, { message: 'expected a value above dexcom.lowMgdl', path: ['highMgdl'] })

export type DexcomConfig = Readonly<z.output<typeof DexcomConfigSchema>>

export const DEFAULT_DEXCOM_CONFIG: DexcomConfig = DexcomConfigSchema.parse({})
